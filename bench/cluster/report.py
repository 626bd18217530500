#!/usr/bin/python3
"""Appends the cluster benchmark's section to docs/benchmarks.md (called by bench/cluster/run.sh).

Reads meta.json (machine, commit, command, settings, log counts) and results.jsonl (one line per side and round: req/s,
p50 and p99 in ms, requests wrk counted, each node's answered-prediction delta, the CPU of each node, nginx, PostgreSQL
and wrk in % of one core, the other processes' share of the machine, and what GET /v1/nodes said 70% into the run). Quotes per
side the medians over the rounds, how the requests spread over the nodes, and a reading. Prints the main figures too.
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
"""
SIDES = ("direct-1", "nginx-1", "nginx-2", "nginx-3")
LABEL = {
    "direct-1": "1 node, no front (wrk → n1)",
    "nginx-1": "1 node behind nginx",
    "nginx-2": "2 nodes behind nginx",
    "nginx-3": "3 nodes behind nginx",
}


def in_front(side, nodes):
    return int(side.split("-")[1]) if side.startswith("nginx-") else 1


def fmt_rps(v):
    return "—" if v is None else f"{v:,.0f}" if v >= 100 else f"{v:.1f}"


def fmt_ms(v):
    return "—" if v is None else f"{v:.3f}" if v < 1 else f"{v:.2f}" if v < 100 else f"{v:.0f}"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--meta", required=True)
    ap.add_argument("--results", required=True)
    ap.add_argument("--doc", required=True)
    args = ap.parse_args()
    with open(args.meta) as f:
        meta = json.load(f)
    runs = defaultdict(list)
    with open(args.results) as f:
        for line in f:
            if line.strip():
                r = json.loads(line)
                runs[r["side"]].append(r)
    nodes = meta["nodes"]
    med = {}
    for side, rs in runs.items():
        rs.sort(key=lambda r: r["round"])
        m = {k: statistics.median(r[k] for r in rs) for k in ("rps", "p50", "p99", "nginxCpu", "postgresCpu", "wrkCpu")}
        m["nodeCpu"] = [statistics.median(r["nodeCpu"][i] for r in rs) for i in range(nodes)]
        # CPU per answered request on each node that answered any: µs = CPU% / 100 × wall s × 10^6 / requests
        m["nodeUs"] = [statistics.median(r["nodeCpu"][i] / 100 * r["wall"] * 1e6 / r["nodeRequests"][i] for r in rs)
                       if all(r["nodeRequests"][i] > 0 for r in rs) else None for i in range(nodes)]
        m["other"] = max(r["otherPct"] for r in rs)
        m["requests"] = sum(r["requests"] for r in rs)
        m["nodeRequests"] = [sum(r["nodeRequests"][i] for r in rs) for i in range(nodes)]
        # mean dynamic batch per node over all the rounds: answered rows / batches (from the batcher's mean, rounded to
        # 0.01 by the API, so approximate)
        batches = [sum(r.get("nodeBatches", [0] * nodes)[i] for r in rs) for i in range(nodes)]
        m["nodeBatch"] = [m["nodeRequests"][i] / batches[i] if batches[i] > 0 else None for i in range(nodes)]
        m["non2xx"] = sum(r["non2xx"] for r in rs)
        m["socketErrors"] = [r["socketErrors"] for r in rs if r["socketErrors"]]
        k = in_front(side, nodes)
        counted = sum(m["nodeRequests"])
        # Each request wrk counted was answered by exactly one node; requests in flight when wrk stopped were answered
        # too (counted by the node, not by wrk): at most one per connection per run more.
        m["countOk"] = m["requests"] <= counted <= m["requests"] + meta["connections"] * len(rs)
        shares = [n / counted if counted else 0 for n in m["nodeRequests"]]
        m["shares"] = shares
        m["spreadOk"] = all(shares[i] >= 0.5 / k for i in range(k)) and all(m["nodeRequests"][i] == 0 for i in range(k, nodes))
        v1 = [r["v1nodes"] for r in rs if r.get("v1nodes")]
        m["v1nodes"] = None
        if v1:
            names = [f"n{i + 1}" for i in range(nodes)]
            m["v1nodes"] = [statistics.median(next((x["cpuPercent"] for x in v if x["name"] == n), 0) for v in v1) for n in names]
        med[side] = m

    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    errors = meta["nodeErrors"].split()
    warnings = meta["nodeWarnings"].split()
    out = []
    out.append(f"## Cluster: prediction throughput of 1, 2, 3 nodes behind nginx (issue 11) — {now}")
    out.append("")
    out.append(f"- Machine: {meta['machine']}")
    out.append(f"- Commit: `{meta['commit']}`")
    out.append(f"- Command: `{meta['command']}`")
    out.append(f"- Cluster: {nodes} `src/Gureum.Server` processes from one Release build, started with `--cluster --node-name nK "
               "--artifacts SHARED --database \"Host=127.0.0.1;Port=P;Username=postgres;Database=gureum_bench\" --data OWN_DIR` "
               "(`ASPNETCORE_ENVIRONMENT=Production`, their own HTTP, silo and gateway ports), one Orleans cluster whose membership "
               "and metadata live in a throwaway PostgreSQL cluster on the same machine (initdb, `max_connections=400`, otherwise "
               "defaults). Through n1: a project, a key with the `predict` scope, model `mlp` version 1 from `mlp.onnx` "
               f"(features [1,32] → probabilities [1,10]) and endpoint `mlp` with batching `{meta['batching']}`, no placement "
               "(so every node loads and serves it); every node reported it ready and answered the reference output (within 1e-4), "
               "directly and through each front.")
    out.append(f"- Front: one nginx ({meta['nginxWorkers']} worker process(es), generated config in a temporary directory), three "
               "ports, each a round-robin `upstream` over nodes n1..nN with `keepalive 256` (HTTP/1.1 to the nodes, access log off).")
    out.append(f"- Load: `wrk -t{meta['threads']} -c{meta['connections']} -d{meta['duration']} --timeout 30s --latency -s "
               "bench/serving/post.lua URL/v1/projects/$P/endpoints/mlp/predict` with the predict key, one row per request "
               f"(bench/serving's `mlp-v1.json`, {meta['bodyBytes']} B), URL = n1 itself or a front port; {meta['rounds']} "
               f"round(s), the four runs of a round back to back (order 1→3 in odd rounds, 3→1 in even ones), after a "
               f"{meta['warmup']} warm-up of each. Any non-2xx answer or timeout fails the run.")
    out.append(f"- Everything shares the machine's {meta['cores']} cores: wrk, nginx, PostgreSQL and every node (idle nodes too). "
               "More nodes cannot add CPU here; this run checks the scaling path (load spreads, nothing fails) and shows where the "
               "CPU goes, not how throughput grows with machines.")
    out.append(f"- Logs during the run: nodes {', '.join(f'n{i + 1} {e} error(s) / {w} warning(s)' for i, (e, w) in enumerate(zip(errors, warnings)))}; "
               f"nginx {meta['nginxErrors']} error(s). `GET /v1/nodes` at the end: {meta['aliveEnd']} of {nodes} nodes alive.")
    if meta.get("nodeErrorLines"):
        out.append("  The errors: " + "; ".join(f"`{line}`" for line in meta["nodeErrorLines"].splitlines()) + ".")
    out.append("")
    out.append("### Throughput (medians over the rounds)")
    out.append("")
    out.append("| nodes / front | req/s | p50 (ms) | p99 (ms) | req/s per round (other processes' share of the machine) | non-2xx | vs 1 node behind nginx |")
    out.append("| --- | ---: | ---: | ---: | --- | ---: | ---: |")
    base = med.get("nginx-1", {}).get("rps")
    for s in SIDES:
        m = med.get(s)
        if not m:
            continue
        per_round = ", ".join(f"{fmt_rps(r['rps'])} ({r['otherPct']:.0f}%)" for r in runs[s])
        ratio = f"{m['rps'] / base:.2f}×" if base else "—"
        out.append(f"| {LABEL[s]} | **{fmt_rps(m['rps'])}** | {fmt_ms(m['p50'])} | {fmt_ms(m['p99'])} | {per_round} | "
                   f"{m['non2xx']} | {ratio} |")
    out.append("")
    out.append("### Where the CPU went and where the requests landed")
    out.append("")
    out.append("CPU in % of one core during the wrk run (utime + stime from `/proc/PID/stat` of a process and its descendants, "
               "with the cutime + cstime of those that exited; "
               f"the machine has {meta['cores']} cores, so {100 * meta['cores']}% in all), median over the rounds. Requests: "
               "each node's count of answered predictions on `mlp` (`serving[].requests`, read from each node before and after "
               "every run), summed over the rounds, and its share; _node CPU per request_: each node's CPU over the predictions it "
               "answered in the run (idle time included: heartbeats, membership), median over the rounds; _mean batch_: rows per "
               "dynamic batch on each node over the rounds (from the endpoint's `meanBatchSize` before and after each run).")
    out.append("")
    hdr = " | ".join(f"n{i + 1} CPU" for i in range(nodes))
    out.append(f"| nodes / front | {hdr} | nginx | PostgreSQL | wrk | other (of the machine, max) | requests per node (share) | node CPU per request | mean batch per node | node counts = wrk's | spread |")
    out.append("| --- | " + " | ".join("---:" for _ in range(nodes)) + " | ---: | ---: | ---: | ---: | --- | --- | --- | :---: | :---: |")
    for s in SIDES:
        m = med.get(s)
        if not m:
            continue
        cpus = " | ".join(f"{c:.0f}%" for c in m["nodeCpu"])
        spread = " / ".join(f"{n:,} ({100 * sh:.0f}%)" for n, sh in zip(m["nodeRequests"], m["shares"]))
        out.append(f"| {LABEL[s]} | {cpus} | {m['nginxCpu']:.0f}% | {m['postgresCpu']:.0f}% | {m['wrkCpu']:.0f}% | "
                   f"{m['other']:.1f}% | {spread} | {' / '.join('—' if u is None else f'{u:.0f} µs' for u in m['nodeUs'])} | {' / '.join('—' if b is None else f'{b:.1f}' for b in m['nodeBatch'])} | {'yes' if m['countOk'] else '**no**'} ({sum(m['nodeRequests']):,} vs "
                   f"{m['requests']:,}) | {'yes' if m['spreadOk'] else '**no**'} |")
    out.append("")
    out.append("_node counts = wrk's_: every request wrk counted was answered by exactly one node: the nodes' counts add up to "
               "wrk's, plus at most one request per connection per run that was in flight when wrk stopped. _spread_: every node "
               "in the front answered at least half its even share, and nodes outside it none.")
    if any(m.get("v1nodes") for m in med.values()):
        out.append("")
        out.append("What `GET /v1/nodes` said 70% into each run (`load.cpuPercent`: each node's own CPU % of the whole machine, "
                   f"i.e. of {meta['cores']} cores, measured by the node between its last two heartbeats 3 s apart; median over the rounds):")
        out.append("")
        out.append("| nodes / front | " + " | ".join(f"n{i + 1}" for i in range(nodes)) + " |")
        out.append("| --- | " + " | ".join("---:" for _ in range(nodes)) + " |")
        for s in SIDES:
            m = med.get(s)
            if m and m["v1nodes"]:
                out.append(f"| {LABEL[s]} | " + " | ".join(f"{c:.0f}%" for c in m["v1nodes"]) + " |")

    # The reading, from the numbers.
    reading = []
    d1, n1, n2, n3 = (med.get(s) for s in SIDES)
    if d1 and n1:
        reading.append(f"nginx itself costs {100 * (1 - n1['rps'] / d1['rps']):.0f}% of one node's throughput here "
                       f"({fmt_rps(n1['rps'])} vs {fmt_rps(d1['rps'])} req/s) and {n1['nginxCpu']:.0f}% of a core")
    if n1 and n3:
        total_nodes = {s: sum(med[s]["nodeCpu"]) for s in ("nginx-1", "nginx-2", "nginx-3") if s in med}
        reading.append(f"with 3 nodes behind it the cluster answers {n3['rps'] / n1['rps']:.2f}× what 1 node does "
                       f"({fmt_rps(n3['rps'])} vs {fmt_rps(n1['rps'])} req/s): the nodes together use "
                       + ", ".join(f"{v:.0f}%" for v in total_nodes.values())
                       + " of a core at N = " + ", ".join(s[-1] for s in total_nodes)
                       + f" and PostgreSQL {n1['postgresCpu']:.0f}% → {n3['postgresCpu']:.0f}%, on {meta['cores']} cores that wrk, "
                       "nginx and PostgreSQL share too, so adding nodes splits the same CPU rather than adding any")
    if d1 and n1 and n3 and d1["nodeUs"][0] and n1["nodeUs"][0]:
        us3 = [u for u in n3["nodeUs"] if u]
        reading.append(f"a node's CPU per answered request grows from {d1['nodeUs'][0]:.0f} µs (direct) to {n1['nodeUs'][0]:.0f} µs "
                       f"behind nginx and {min(us3):.0f}–{max(us3):.0f} µs with 3 nodes, its mean dynamic batch going from "
                       + " to ".join('—' if x is None else f"{x:.1f}" for x in (d1['nodeBatch'][0], n1['nodeBatch'][0], n3['nodeBatch'][0]))
                       + " rows" + (f" (the same {meta['connections']} connections split over more nodes leave each fewer requests "
                                   "to batch together)" if d1['nodeBatch'][0] and n3['nodeBatch'][0] and n3['nodeBatch'][0] < d1['nodeBatch'][0] else ""))
    fails = sum(m["non2xx"] for m in med.values())
    all_spread = all(m["spreadOk"] and m["countOk"] for m in med.values())
    reading.append(f"{'no request failed' if fails == 0 else f'{fails} requests failed'} in "
                   f"{sum(m['requests'] for m in med.values()):,} measured, and "
                   + ("every node in the front took its share (round-robin: about 1/N each) while the nodes outside it took none, "
                      "each answered request counted by exactly one node" if all_spread else
                      "**the load did not spread as expected** (see the table)"))
    busiest = max((r["otherPct"] for rs in runs.values() for r in rs), default=0)
    if busiest >= 10:
        quiet = {s: [r["rps"] for r in runs[s] if r["otherPct"] < 5] for s in SIDES if s in runs}
        quiet_text = ", ".join(f"{LABEL[s]} {' / '.join(fmt_rps(v) for v in vs)}" for s, vs in quiet.items() if vs)
        reading.append(f"processes this benchmark did not start took up to {busiest:.0f}% of the machine during some "
                       "runs, so the medians mix quiet and busy rounds and the ratios between the sides say as much about that as "
                       "about the sides" + (f"; the rounds with under 5% other work gave {quiet_text} req/s" if quiet_text else ""))
    out.append("")
    out.append("Reading: " + "; ".join(reading) + ". On a machine per node the same path would add each node's cores; "
               "here the figure to keep is that the path is correct (every node serves, the front spreads, nothing fails) and "
               "what each part costs in CPU.")

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

    for s in SIDES:
        m = med.get(s)
        if m:
            print(f"{s}: {m['rps']:.0f} req/s, p50 {m['p50']:.2f} ms, p99 {m['p99']:.2f} ms, non-2xx {m['non2xx']}; CPU % of a core: "
                  f"nodes {'/'.join(f'{c:.0f}' for c in m['nodeCpu'])}, nginx {m['nginxCpu']:.0f}, PostgreSQL {m['postgresCpu']:.0f}, "
                  f"wrk {m['wrkCpu']:.0f}; requests per node {'/'.join(str(n) for n in m['nodeRequests'])} "
                  f"(counts {'ok' if m['countOk'] else 'NOT ok'}, spread {'ok' if m['spreadOk'] else 'NOT ok'})")


if __name__ == "__main__":
    main()
