#!/usr/bin/python3
"""Appends the metering benchmark's section to docs/benchmarks.md (called by bench/metering/run.sh).

Reads meta.json (machine, commit, command, settings, the usage check, server log counts) and results.jsonl (one line
per server, concurrency and round: req/s, p50 and p99 in ms, other CPU %, requests answered, the loaded server's CPU
per request in µs). Quotes per server and concurrency the medians over the rounds, the overhead
1 - metered / unmetered of the median req/s (and per round, the servers being measured back to back), and the goal:
overhead < 5% of requests/s at the highest concurrency. Prints the main figures to stdout as well.
"""
import argparse
import datetime
import json
import os
import statistics
from collections import defaultdict

HEADER = """# Benchmarks

Each benchmark in `bench/` measures one Gureum path (the peer) and, in the same run on the same
machine, the cheapest thing that could stand in its place (the limit), then appends its numbers here
with the exact command that produced them. Nothing below is edited by hand.

Machines are noisy: each side is run several times, alternating, and the median of the rounds is
quoted, with the ratio peer / limit. Compare ratios across machines, absolute numbers only within one
section. See `bench/README.md` for what each benchmark does and how to run it.
"""
SIDES = ("metered", "unmetered")
LABEL = {
    "metered": "metered (`Gureum:Metering:Enabled` = true, the default)",
    "unmetered": "unmetered (`--Gureum:Metering:Enabled=false`)",
}


def fmt_rps(v):
    return "—" if v is None else f"{v:,.0f}" if v >= 100 else f"{v:.1f}"


def fmt_ms(v):
    return "—" if v is None else f"{v:.3f}" if v < 1 else f"{v:.2f}" if v < 100 else f"{v:.0f}"


def fmt_pct(v):
    return "—" if v is None else f"{100 * v:+.1f}%"


def overhead(metered, unmetered):
    return None if not metered or not unmetered else 1 - metered / unmetered


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--meta", required=True)
    ap.add_argument("--results", required=True)
    ap.add_argument("--doc", required=True)
    args = ap.parse_args()
    with open(args.meta) as f:
        meta = json.load(f)
    runs = defaultdict(list)  # (side, C) -> runs in round order
    with open(args.results) as f:
        for line in f:
            if line.strip():
                r = json.loads(line)
                runs[(r["side"], r["concurrency"])].append(r)
    concurrency = [int(c) for c in meta["concurrency"].split()]
    max_c = meta["maxC"]

    med = {}
    for key, rs in runs.items():
        rs.sort(key=lambda r: r["round"])
        med[key] = {m: statistics.median(r[m] for r in rs) for m in ("rps", "p50", "p99", "cpuUsPerRequest")}
        med[key]["other"] = max(r["other"] for r in rs)

    def per_round_overheads(c):
        by_round = {s: {r["round"]: r["rps"] for r in runs.get((s, c), [])} for s in SIDES}
        return [(n, overhead(by_round["metered"][n], by_round["unmetered"][n]))
                for n in sorted(by_round["metered"]) if n in by_round["unmetered"]]

    goal = meta["goalPct"] / 100
    m64, u64 = med.get(("metered", max_c)), med.get(("unmetered", max_c))
    goal_oh = overhead(m64 and m64["rps"], u64 and u64["rps"])
    met = goal_oh is not None and goal_oh < goal

    out = []
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    out.append(f"## metering: predict with and without usage metering — {now}")
    out.append("")
    out.append(f"- Machine: {meta['machine']}")
    out.append(f"- Commit: `{meta['commit']}`")
    out.append(f"- Command: `{meta['command']}`")
    out.append("- Servers: two `src/Gureum.Server` processes from the same Release build, side by side on 127.0.0.1, "
               "each with its own data directory (SQLite), HTTP, silo and gateway ports, `ASPNETCORE_ENVIRONMENT=Production`: "
               "**metered** with the default settings, **unmetered** started with `--Gureum:Metering:Enabled=false` (no usage "
               "written, no quota or rate-limit lookups). Each has a project, a key with the `predict` scope, model `mlp` "
               f"version 1 from `mlp.onnx` (features [1,32] → probabilities [1,10]) and endpoint `mlp` with batching `{meta['batching']}`.")
    out.append(f"- Load: `wrk -t2 -cC -d{meta['duration']} --timeout 30s --latency -s bench/serving/post.lua "
               "http://127.0.0.1:PORT/v1/projects/$P/endpoints/mlp/predict` with the predict key, one row per request "
               f"(bench/serving's `mlp-v1.json`, `{{\"inputs\":{{\"features\":[[32 floats]]}}}}`, {meta['bodyBytes']} B); "
               f"C in {{{', '.join(str(c) for c in concurrency)}}}; {meta['rounds']} round(s): in each, per C, one run on each server, "
               "back to back (metered first in odd rounds, unmetered first in even ones); only one server is loaded at a time; "
               f"after a {meta['warmup']} warm-up of each at C = {max_c}. One check request per server first (answer equal "
               "to the reference output within 1e-4); any non-2xx answer or timeout fails the run.")
    out.append(f"- wrk and the loaded server share the machine's {meta['cores']} cores (the idle server barely runs), so "
               "absolute req/s include wrk's share; the overhead is the figure to compare.")
    out.append(f"- Server logs during the run: metered {meta['meteredErrors']} error(s), {meta['meteredWarnings']} warning(s); "
               f"unmetered {meta['unmeteredErrors']} error(s), {meta['unmeteredWarnings']} warning(s).")
    out.append("")
    out.append("| goal | figure | met |")
    out.append("| --- | ---: | :---: |")
    figure = "—" if goal_oh is None else f"{100 * goal_oh:.1f}% ({fmt_rps(m64['rps'])} vs {fmt_rps(u64['rps'])} req/s, medians)"
    out.append(f"| metering overhead < {meta['goalPct']}% of requests/s at C = {max_c} | {figure} | {'yes' if met else '**no**'} |")
    out.append("")
    out.append("Overhead = 1 − metered / unmetered req/s: positive when metering costs throughput. Per round: the two "
               "runs of that round, measured back to back.")
    for c in concurrency:
        out.append("")
        out.append(f"### C = {c}")
        out.append("")
        out.append("| server | req/s | p50 (ms) | p99 (ms) | req/s per round | server CPU per request | other CPU (max) |")
        out.append("| --- | ---: | ---: | ---: | --- | ---: | ---: |")
        for s in SIDES:
            m = med.get((s, c))
            if m is None:
                continue
            per_round = ", ".join(fmt_rps(r["rps"]) for r in runs[(s, c)])
            out.append(f"| {LABEL[s]} | **{fmt_rps(m['rps'])}** | {fmt_ms(m['p50'])} | **{fmt_ms(m['p99'])}** | {per_round} | "
                       f"{m['cpuUsPerRequest']:.0f} µs | {m['other']:.1f}% |")
        mm, um = med.get(("metered", c)), med.get(("unmetered", c))
        if mm and um:
            rounds = ", ".join(f"r{n} {fmt_pct(o)}" for n, o in per_round_overheads(c))
            paired = [o for _, o in per_round_overheads(c) if o is not None]
            out.append("")
            out.append(f"Overhead at C = {c}: **{fmt_pct(overhead(mm['rps'], um['rps']))}** of req/s (medians "
                       f"{fmt_rps(mm['rps'])} vs {fmt_rps(um['rps'])}); per round {rounds} (median "
                       f"{fmt_pct(statistics.median(paired)) if paired else '—'}). p50 metered / unmetered "
                       f"{mm['p50'] / um['p50']:.2f}×, p99 {mm['p99'] / um['p99']:.2f}×; server CPU per request "
                       f"{mm['cpuUsPerRequest'] / um['cpuUsPerRequest']:.2f}× "
                       f"({mm['cpuUsPerRequest']:.0f} vs {um['cpuUsPerRequest']:.0f} µs).")
    out.append("")
    out.append("_server CPU per request_: CPU time of the loaded server (user + system, from `/proc/<pid>/stat`) over the "
               "requests wrk counted, median of the rounds. _other CPU_: share of the machine's CPU used during the run by "
               "processes other than the two servers and wrk (a build or test run elsewhere); rounds with a high value are suspect.")
    out.append("")
    out.append("### Usage recorded")
    out.append("")
    out.append("`GET /v1/projects/{p}/usage?groupBy=service` on each server after the runs. Every answered prediction is "
               "committed to usage before its answer leaves, so the metered server must count at least what wrk (warm-up "
               "and rounds) and the check requests got answered, and at most one more per connection per wrk run (requests "
               "in flight when wrk stopped are still served and counted; wrk does not count them).")
    out.append("")
    out.append("| server | `predict:mlp` predictions in usage | requests answered 2xx (wrk + checks) | in flight at wrk's stops (at most) | as expected |")
    out.append("| --- | ---: | ---: | ---: | :---: |")
    out.append(f"| metered | {meta['meteredCounted']:,.0f} | {meta['meteredAnswered']:,} (incl. {meta['meteredChecks']} check) | "
               f"{meta['meteredInFlight']:,} | {'yes' if meta['meteredOk'] == 'yes' else '**no**'} |")
    out.append(f"| unmetered | {'no usage rows' if meta['unmeteredRows'] == 0 else str(meta['unmeteredRows']) + ' usage row(s)'} | "
               f"{meta['unmeteredAnswered']:,} | — | {'yes' if meta['unmeteredOk'] == 'yes' else '**no**'} |")

    text = "\n".join(out) + "\n"
    doc = args.doc
    if not os.path.exists(doc) or os.path.getsize(doc) == 0:
        os.makedirs(os.path.dirname(os.path.abspath(doc)), exist_ok=True)
        with open(doc, "w") as f:
            f.write(HEADER)
    with open(doc, "rb") as f:
        f.seek(max(0, os.path.getsize(doc) - 2))
        tail = f.read()
    with open(doc, "a") as f:
        f.write(("" if tail.endswith(b"\n\n") else "\n" if tail.endswith(b"\n") else "\n\n") + text)

    for c in concurrency:
        mm, um = med.get(("metered", c)), med.get(("unmetered", c))
        if mm and um:
            print(f"C={c}: metered {mm['rps']:.0f} req/s (p99 {mm['p99']:.2f} ms), unmetered {um['rps']:.0f} req/s "
                  f"(p99 {um['p99']:.2f} ms): overhead {fmt_pct(overhead(mm['rps'], um['rps']))}")
    print(f"goal: overhead < {meta['goalPct']}% at C = {max_c}: {'met' if met else 'NOT met'}")
    print(f"usage: metered counted {meta['meteredCounted']:.0f}, answered {meta['meteredAnswered']} "
          f"(+ at most {meta['meteredInFlight']} in flight): {meta['meteredOk']}; unmetered rows {meta['unmeteredRows']}: {meta['unmeteredOk']}")


if __name__ == "__main__":
    main()
