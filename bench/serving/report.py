#!/usr/bin/python3
"""Appends the model-serving benchmark's section to docs/benchmarks.md (called by bench/serving/run.sh).

Reads meta.json (machine, commit, command, settings), results.jsonl (one line per model, side, concurrency and
round: req/s, p50, p99 in ms, other CPU %, and for the limit its mean batch and CPU use) and half.jsonl (the MLP at
half its peak load). Quotes per side and concurrency the medians over the rounds, the ratios, and the goals:
Gureum >= 70% of the limit's throughput at the highest concurrency with batching on, >= 5x the peer, and the MLP's
p99 under 5 ms at half its peak load. Prints the goals and the main figures to stdout as well.
"""
import argparse
import datetime
import json
import os
import statistics
from collections import defaultdict

MODEL_TITLE = {
    "mlp": "MLP (`mlp.onnx`: features [1,32] → probabilities [1,10])",
    "cnn": "CNN (`mobilenet_v3_small.onnx`: image [1,3,224,224] → logits [1,1000])",
    "adult": "AutoML model of adult (one record of 14 columns → label, probability)",
}
SIDE_LABEL = {
    "limit-b32": "limit, ideal batching ≤ 32",
    "limit-b1": "limit, no batching",
    "v2": "Gureum `/v2/.../infer`, batching",
    "v2-binary": "Gureum `/v2/.../infer`, binary tensor data, batching",
    "v1": "Gureum `/v1/.../predict`, batching",
    "v1-nobatch": "Gureum `/v1/.../predict`, no batching",
    "peer": "peer",
}
PEER_LABEL = {"mlp": "peer (Flask + PyTorch)", "cnn": "peer (Flask + PyTorch)", "adult": "peer (Flask + scikit-learn)"}
HEADER = """# Benchmarks

Each benchmark in `bench/` measures one Gureum path (the peer) and, in the same run on the same
machine, the cheapest thing that could stand in its place (the limit), then appends its numbers here
with the exact command that produced them. Nothing below is edited by hand.

Machines are noisy: each side is run several times, alternating, and the median of the rounds is
quoted, with the ratio peer / limit. Compare ratios across machines, absolute numbers only within one
section. See `bench/README.md` for what each benchmark does and how to run it.
"""


def median(values):
    return statistics.median(values) if values else None


def fmt_rps(v):
    if v is None:
        return "—"
    return f"{v:,.0f}" if v >= 100 else f"{v:.1f}"


def fmt_ms(v):
    if v is None:
        return "—"
    return f"{v:.3f}" if v < 1 else f"{v:.2f}" if v < 100 else f"{v:.0f}"


def fmt_ratio(a, b):
    if a is None or b is None or b == 0:
        return None
    return a / b


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--meta", required=True)
    ap.add_argument("--results", required=True)
    ap.add_argument("--half", required=True)
    ap.add_argument("--doc", required=True)
    args = ap.parse_args()
    with open(args.meta) as f:
        meta = json.load(f)
    rows = [json.loads(line) for line in open(args.results) if line.strip()]
    half = [json.loads(line) for line in open(args.half) if line.strip()]
    models = meta["models"].split()
    sides_on = meta["sides"].split()
    levels = [int(c) for c in meta["concurrency"].split()]
    max_c = meta["maxC"]

    runs = defaultdict(list)  # (model, side, c) -> rows
    for r in rows:
        runs[(r["model"], r["side"], r["concurrency"])].append(r)

    def med(model, side, c, key):
        return median([r[key] for r in runs.get((model, side, c), [])])

    out = []
    summary = []
    when = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    trial = "" if "gureum" in sides_on else " (trial without the Gureum side)"
    out.append("")
    out.append(f"## serving: one row per request, Gureum vs in-process limit vs Flask peer{trial} — {when}")
    out.append("")
    out.append(f"- Machine: {meta['machine']}")
    out.append(f"- Commit: `{meta['commit']}`")
    out.append(f"- Command: `{meta['command']}`")
    limit_runtime = {}
    for r in rows:
        if r["side"].startswith("limit") and r.get("extra"):
            limit_runtime.setdefault(r["model"], r["extra"]["runtime"])
    if "limit" in sides_on:
        out.append("- Limit: `bench/ServingLimit` (`ServingLimit run --clients C --max-batch 32|1`, Release, server GC): C closed-loop "
                   "clients, each with one one-row request outstanding, in front of min(C, cores) worker threads; a worker runs its share "
                   "of what is waiting (shared among the idle workers, up to 32, or 1) as one batch, with buffers bound once and no HTTP "
                   "or JSON; latency from queueing to answer; "
                   f"{meta['limitWarmup']} s warm-up in each (fresh) process. " +
                   "; ".join(f"{m}: {limit_runtime[m]}" for m in models if m in limit_runtime))
    if "gureum" in sides_on:
        adult = f"; adult trained by a Gureum training job ({meta['trainBudget']} s budget, seed 1, best: {meta['adultTrainer']}) and registered from it" \
            if "adult" in models else ""
        out.append(f"- Gureum: `src/Gureum.Server` (Release, SQLite, `ASPNETCORE_ENVIRONMENT=Production`), a project key with `predict`; "
                   f"endpoint `NAME` with batching `{{\"maxBatchSize\":{meta['maxBatch']},\"maxDelayMs\":{meta['maxDelayMs']},\"maxQueue\":4096}}`, "
                   f"endpoint `NAME-nobatch` with `\"batching\":null`, each one deployment of version 1 at weight 100{adult}. "
                   "`v2`: `POST /v2/models/NAME/infer` (KServe V2 tensor JSON); `v2-binary`: the same with the protocol's binary tensor data extension "
                   "(the JSON part, then the float32 values little-endian; `Inference-Header-Content-Length`), as Triton and KServe clients send large tensors; "
                   "`v1`: `POST /v1/projects/{p}/endpoints/NAME/predict`")
    if "peer" in sides_on:
        out.append(f"- Peer: `bench/serving/peer.py`, Flask {meta['flask']} under {meta['peerServer']}, `POST /invocations` as MLflow's pyfunc "
                   f"server takes it; MLP and CNN: the same model as TorchScript (`.pt`), PyTorch {meta['torch']} (Debian), "
                   f"`{{\"inputs\": {{NAME: [[...]]}}}}`; adult: a scikit-learn {meta['sklearn']} HistGradientBoosting pipeline (defaults) "
                   "trained on the same file, `{\"dataframe_records\": [...]}` (no PyTorch model exists for it: a different model, the "
                   "one such a user would serve)")
    out.append(f"- Load: `wrk -t{{1 if C = 1 else 2}} -cC -d{meta['duration']} --timeout 30s --latency -s bench/serving/post.lua URL`, "
               f"one row per request (bodies: {meta['bodies']}); C in {{{', '.join(map(str, levels))}}}; {meta['rounds']} round(s), "
               f"the sides alternating within each round, after a {meta['warmup']} warm-up of each HTTP side at {max_c} connections. "
               "Every path's answer to the benchmark body was checked first (MLP and CNN against the reference output within 1e-4; "
               "adult: Gureum's label and probability equal the limit's for the same model file); any non-2xx answer or timeout fails the run.")
    out.append(f"- wrk and the servers share the machine's {meta['machine'].split(' ')[0]} cores; the limit runs alone (no wrk, no HTTP). "
               "The ratios to the limit therefore include the load generator's share of the CPU.")
    if "gureum" in sides_on:
        out.append(f"- Gureum server log during the run: {meta['serverErrors']} error(s), {meta['serverWarnings']} warning(s).")

    # Goals
    goals = []
    if "gureum" in sides_on:
        for m in models:
            paths = ["v2", "v2-binary", "v1"] if m != "adult" else ["v1"]
            for path in paths:
                g = med(m, path, max_c, "rps")
                if "limit" in sides_on:
                    ratio = fmt_ratio(g, med(m, "limit-b32", max_c, "rps"))
                    if ratio is not None:
                        goals.append((f"{m}: Gureum {path} ≥ 70% of the limit's throughput at C = {max_c}, batching on",
                                      f"{ratio:.1%} ({fmt_rps(g)} vs {fmt_rps(med(m, 'limit-b32', max_c, 'rps'))} req/s)", ratio >= 0.7))
                if "peer" in sides_on:
                    ratio = fmt_ratio(g, med(m, "peer", max_c, "rps"))
                    if ratio is not None:
                        goals.append((f"{m}: Gureum {path} ≥ 5× the peer at C = {max_c}",
                                      f"{ratio:.1f}× ({fmt_rps(g)} vs {fmt_rps(med(m, 'peer', max_c, 'rps'))} req/s)", ratio >= 5))
        for side in ("v2", "v1"):
            hs = [h for h in half if h["side"] == side]
            if hs:
                p99 = median([h["p99"] for h in hs])
                achieved = median([h["rps"] for h in hs])
                goals.append((f"mlp: Gureum {side} p99 < 5 ms at half its peak load",
                              f"{fmt_ms(p99)} ms at {fmt_rps(achieved)} req/s (peak {fmt_rps(hs[0]['extra']['peak'])})", p99 < 5))
    out.append("")
    if goals:
        if max_c != 64:
            out.append(f"The goals name concurrency 64; this run's highest level was {max_c}, which the goals below use.")
            out.append("")
        out.append("| goal | figure | met |")
        out.append("| --- | ---: | :---: |")
        for name, figure, ok in goals:
            out.append(f"| {name} | {figure} | {'yes' if ok else '**no**'} |")
            summary.append(f"{'MET ' if ok else 'MISS'} {name}: {figure}")
    else:
        out.append("Goals: not evaluated (the run had no Gureum side).")

    # Per model
    for m in models:
        out.append("")
        out.append(f"### {MODEL_TITLE[m]}")
        out.append("")
        out.append("| C | side | req/s | p50 (ms) | p99 (ms) | req/s per round | other CPU (max) | notes |")
        out.append("| ---: | --- | ---: | ---: | ---: | --- | ---: | --- |")
        sides = [s for s in ["limit-b32", "limit-b1", "v2", "v2-binary", "v1", "v1-nobatch", "peer"] if any(k[0] == m and k[1] == s for k in runs)]
        for c in levels:
            for s in sides:
                rs = sorted(runs.get((m, s, c), []), key=lambda r: r["round"])
                if not rs:
                    continue
                notes = ""
                if s.startswith("limit"):
                    notes = f"mean batch {median([r['extra']['meanBatch'] for r in rs]):.1f}, {median([r['extra']['cpuCores'] for r in rs]):.2f} cores"
                label = PEER_LABEL[m] if s == "peer" else SIDE_LABEL[s]
                out.append(f"| {c} | {label} | **{fmt_rps(med(m, s, c, 'rps'))}** | {fmt_ms(med(m, s, c, 'p50'))} | "
                           f"**{fmt_ms(med(m, s, c, 'p99'))}** | {', '.join(fmt_rps(r['rps']) for r in rs)} | "
                           f"{max(r['other'] for r in rs):.1f}% | {notes} |")
            ratios = []
            for num, den, name in [("v2", "limit-b32", "v2 / limit (batching)"), ("v2-binary", "limit-b32", "v2 binary / limit (batching)"),
                                   ("v1", "limit-b32", "v1 / limit (batching)"), ("v2-binary", "peer", "v2 binary / peer"),
                                   ("v1-nobatch", "limit-b1", "v1 no batching / limit no batching"),
                                   ("v2", "peer", "v2 / peer"), ("v1", "peer", "v1 / peer"), ("limit-b32", "peer", "limit / peer")]:
                r = fmt_ratio(med(m, num, c, "rps"), med(m, den, c, "rps"))
                if r is not None:
                    ratios.append(f"{name} {r:.2f}×")
            if ratios:
                out.append(f"| {c} | _ratios of req/s_ | | | | {'; '.join(ratios)} | | |")
        summary.append(f"{m}: " + "; ".join(f"{s}@{max_c} {fmt_rps(med(m, s, max_c, 'rps'))} req/s p99 {fmt_ms(med(m, s, max_c, 'p99'))} ms"
                                            for s in sides if med(m, s, max_c, "rps") is not None))

    if half:
        out.append("")
        out.append("### MLP at half of its peak load")
        out.append("")
        out.append(f"wrk holds {max_c} keep-alive connections; `bench/serving/paced.lua` makes each wait a random time (exponential, "
                   "rounded stochastically to wrk's whole milliseconds) before each request, so that together they offer about half of "
                   "the path's peak (its highest median req/s above). The mean wait is calibrated by one short run (offered rate ≈ "
                   "connections / (wait + latency)); the rate actually achieved is quoted. wrk2 (a constant-rate wrk) is not in Debian. "
                   "Not for the peer: wrk opens a connection before its wait, and a gunicorn sync worker that has accepted it blocks "
                   "reading it until the request comes, so pacing would measure that, not the peer.")
        out.append("")
        out.append("| path | peak req/s | target | achieved req/s | p50 (ms) | p99 (ms) | p99 per round | other CPU (max) |")
        out.append("| --- | ---: | ---: | ---: | ---: | ---: | --- | ---: |")
        for side in ("v2", "v1"):
            hs = sorted([h for h in half if h["side"] == side], key=lambda h: h["round"])
            if not hs:
                continue
            out.append(f"| {SIDE_LABEL[side]} | {fmt_rps(hs[0]['extra']['peak'])} | {fmt_rps(hs[0]['extra']['target'])} | "
                       f"{fmt_rps(median([h['rps'] for h in hs]))} | {fmt_ms(median([h['p50'] for h in hs]))} | "
                       f"**{fmt_ms(median([h['p99'] for h in hs]))}** | {', '.join(fmt_ms(h['p99']) for h in hs)} | "
                       f"{max(h['other'] for h in hs):.1f}% |")

    out.append("")
    out.append("_other CPU_: share of the machine's CPU used during the run by processes other than the servers, wrk and the limit "
               "(a build or test run elsewhere); rounds with a high value are suspect.")

    text = "\n".join(out) + "\n"
    if args.doc != "/dev/null":
        new = not os.path.exists(args.doc) or os.path.getsize(args.doc) == 0
        os.makedirs(os.path.dirname(os.path.abspath(args.doc)), exist_ok=True)
        with open(args.doc, "a") as f:
            if new:
                f.write(HEADER)
            f.write(text)
    print("\n".join(summary))


if __name__ == "__main__":
    main()
