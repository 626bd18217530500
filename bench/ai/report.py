#!/usr/bin/python3
"""Appends the AI benchmark's section to docs/benchmarks.md (called by bench/ai/run.sh).

Reads meta.json (machine, commit, command, settings), results.jsonl (one line per benchmark, side, concurrency and
round: req/s, p50 and p99 in ms, other CPU %), checks.jsonl (each side's answer to the benchmark input) and
soak.json (AiLimit soak: RSS samples, statuses per kind of call). Quotes per benchmark, side and concurrency the
median over the rounds, the ratios Gureum / limit and Gureum / CLI, and the goals: Gureum >= 3x the per-request CLI
on OCR and TTS, Gureum within 20% of the limit (>= 0.80x) on every API, the soak's RSS growing < 5% over its second
half with no 5xx. Prints the goals and the main figures to stdout as well.
"""
import argparse
import datetime
import json
import os
import statistics
from collections import defaultdict

TITLE = {
    "ocr-line": "OCR, one line (`line.png`)",
    "ocr-para": "OCR, six-line paragraph (`para.png`)",
    "tts": "TTS, one sentence (eSpeak NG `en-us`)",
    "stt": "STT, 3.2 s of speech (`speech.wav`)",
    "translate": "Translation eng → spa, one sentence",
    "faces": "Faces, 512 × 512 photo (`face.jpg`)",
}
SIDE_LABEL = {
    "limit": "limit (engine in-process)",
    "gureum": "Gureum (HTTP)",
    "cli": "CLI per request",
    "cli-omp1": "CLI per request, `OMP_THREAD_LIMIT=1`",
}
CLI_GOAL = {"ocr-line", "ocr-para", "tts"}   # the issue asks >= 3x the CLI on OCR and TTS
CLI_FACTOR = 3.0
LIMIT_FACTOR = 0.80
SOAK_FLAT = 5.0
HEADER = """# Benchmarks

Each benchmark in `bench/` measures one Gureum path (the peer) and, in the same run on the same
machine, the cheapest thing that could stand in its place (the limit), then appends its numbers here
with the exact command that produced them. Nothing below is edited by hand.

Machines are noisy: each side is run several times, alternating, and the median of the rounds is
quoted, with the ratio peer / limit. Compare ratios across machines, absolute numbers only within one
section. See `bench/README.md` for what each benchmark does and how to run it.
"""


def fmt_rps(v):
    if v is None:
        return "—"
    return f"{v:,.0f}" if v >= 100 else f"{v:.1f}" if v >= 10 else f"{v:.2f}"


def fmt_ms(v):
    if v is None:
        return "—"
    return f"{v:.2f}" if v < 100 else f"{v:,.0f}"


def fmt_x(v):
    return "—" if v is None else f"{v:.2f}×"


def mb(kb):
    return f"{kb / 1024:,.0f}"


def main():
    ap = argparse.ArgumentParser()
    for name in ("meta", "results", "checks", "soak", "doc"):
        ap.add_argument(f"--{name}", required=True)
    args = ap.parse_args()
    meta = json.load(open(args.meta))
    rows = [json.loads(line) for line in open(args.results) if line.strip()]
    checks = {c["bench"]: c for c in (json.loads(line) for line in open(args.checks) if line.strip())}
    soak = json.load(open(args.soak))
    benches = meta["benches"].split()
    levels = [int(c) for c in meta["concurrency"].split()]
    max_c = meta["maxC"]

    runs = defaultdict(list)
    for r in rows:
        runs[(r["bench"], r["side"], r["concurrency"])].append(r)

    def med(bench, side, c, key):
        rs = runs.get((bench, side, c))
        return statistics.median(r[key] for r in rs) if rs else None

    def ratio(a, b):
        return a / b if a is not None and b else None

    out = []
    summary = []
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    out.append(f"\n## ai: ready-made AI APIs, Gureum vs the engine in-process vs its CLI per request — {now}\n")
    out.append(f"- Machine: {meta['machine']}")
    out.append(f"- Commit: `{meta['commit']}`")
    out.append(f"- Command: `{meta['command']}`")
    engines = meta.get("engines") or []
    pools = ", ".join(f"{e['name']} {e['workers']}" for e in engines if e.get("workers"))
    out.append("- Limit: `bench/AiLimit` (`AiLimit limit --api API --clients C`, Release, server GC): C closed-loop clients "
               "calling the `src/Gureum.AI` engine in-process through W instances, one per worker thread, W = min(C, the "
               f"server's pool size: OCR and faces {meta['pool']}, TTS 1, STT 2, translation 1 per pair); each call is what "
               "the endpoint hands its pool (OCR: header probe, Leptonica decode, Tesseract psm 6, words and boxes; TTS: eSpeak "
               "NG into one buffer; STT: WAV read, 16 kHz mono, PocketSphinx; translation: a long-lived Apertium pipeline; "
               f"faces: probe, OpenCV Haar alt2, minFaceSize 24). A fresh process per run, {meta['limitWarmup']} s warm-up inside.")
    out.append("- Gureum: `src/Gureum.Server` (Release, SQLite, fresh data directory, `ASPNETCORE_ENVIRONMENT=Production`, "
               f"default `Gureum:Ai` settings; pools {pools or 'n/a'}), a project key with only the `ai` scope; "
               "`POST /v1/projects/{p}/ai/{ocr,tts,stt,translate,faces}` with the raw file (or the JSON body) as the request body.")
    out.append(f"- CLI: `AiLimit cli` spawns per request, C at a time: `tesseract IMG stdout --psm 6` (tesseract-ocr {meta['tesseract']}; "
               "`cli-omp1`: the same with `OMP_THREAD_LIMIT=1`, since Tesseract's OpenMP threads otherwise contend for the cores), "
               f"`espeak-ng -v en-us --stdout TEXT` ({meta['espeak']}), `pocketsphinx_continuous -infile WAV` (US English model, "
               f"{meta['pocketsphinx']}), `apertium eng-spa` with the text on stdin ({meta['apertium']}, pair {meta['apertiumEngSpa']}); "
               "faces: OpenCV has no face CLI, so `/usr/bin/python3 bench/ai/faces_cli.py IMG`, a one-shot script with the same "
               f"detection settings on Debian's python3-opencv {meta['opencvPy']} (Gureum links OpenCV 4.13 through OpenCvSharp). "
               "Output drained, exit status checked.")
    out.append(f"- Load: `wrk -t{{1 if C = 1 else 2}} -cC -d{meta['duration']} --timeout 30s --latency -s bench/ai/post.lua URL`; "
               f"C in {{{', '.join(map(str, levels))}}}; {meta['rounds']} round(s), the sides alternating within each round, each "
               f"after waiting for the machine to be under 20% busy with other work; a {meta['warmup']} warm-up of each API "
               f"on the server first. Every non-2xx answer or timeout fails the run. Inputs ({meta['inputs'].strip()}): see "
               "`bench/ai/inputs.sh`.")
    out.append("- wrk and the server share the machine's cores; the limit and the CLI runner run with no load generator. "
               "The ratios to the limit include wrk's share of the CPU and the HTTP stack.")
    out.append(f"- Gureum server log during the run: {meta['serverErrors']} error(s), {meta['serverWarnings']} warning(s).")

    out.append("\nEvery side's answer to the input, checked before timing (Gureum must equal the engine's own answer):\n")
    out.append("| benchmark | engine in-process (limit) | Gureum | CLI |")
    out.append("| --- | --- | --- | --- |")
    for b in benches:
        c = checks.get(b, {})
        ref = c.get("limit", "")
        short = lambda s: (s or "").replace("\n", " ").replace("|", "\\|")[:90] + ("…" if len(s or "") > 90 else "")
        g = "same" if c.get("gureum") == ref else ("—" if c.get("gureum") is None else short(c["gureum"]))
        cli = c.get("cli")
        cli_txt = "—" if cli is None else "same" if cli == ref else short(cli)
        out.append(f"| {b} | {short(ref)} | {g} | {cli_txt} |")

    # Goals.
    out.append("\n### Goals\n")
    out.append(f"Gureum within 20% of the limit (≥ {LIMIT_FACTOR:.2f}× its req/s) on every API; ≥ {CLI_FACTOR:.0f}× the per-request "
               "CLI on OCR and TTS (the other APIs' CLI ratio is shown, not a goal). Medians of the rounds.\n")
    out.append("| benchmark | C | Gureum req/s | limit req/s | Gureum / limit | met | CLI req/s | Gureum / CLI | met |")
    out.append("| --- | ---: | ---: | ---: | ---: | :---: | ---: | ---: | :---: |")
    for b in benches:
        for c in levels:
            g = med(b, "gureum", c, "rps")
            lim = med(b, "limit", c, "rps")
            cli = med(b, "cli", c, "rps")
            rl, rc = ratio(g, lim), ratio(g, cli)
            met_l = "—" if rl is None else "yes" if rl >= LIMIT_FACTOR else "**no**"
            met_c = "—" if rc is None or b not in CLI_GOAL else "yes" if rc >= CLI_FACTOR else "**no**"
            omp = med(b, "cli-omp1", c, "rps")
            cli_txt = fmt_rps(cli) + (f" ({fmt_rps(omp)} with OpenMP off)" if omp is not None else "")
            rc_txt = fmt_x(rc) + (f" ({fmt_x(ratio(g, omp))})" if omp is not None else "")
            out.append(f"| {b} | {c} | {fmt_rps(g)} | {fmt_rps(lim)} | {fmt_x(rl)} | {met_l} | {cli_txt} | {rc_txt} | {met_c} |")
            summary.append(f"{b:9s} C={c}: Gureum {fmt_rps(g)} req/s, limit {fmt_rps(lim)}, CLI {fmt_rps(cli)}"
                           f"{'' if omp is None else f' (omp1 {fmt_rps(omp)})'}; G/limit {fmt_x(rl)} [{met_l}], G/CLI {fmt_x(rc)}"
                           f"{'' if b not in CLI_GOAL else f' [{met_c}]'}")

    # Per benchmark.
    out.append("\n### Throughput and latency per API\n")
    out.append("Medians over the rounds; _rounds_ lists each round's req/s; _other CPU_ is the highest share of the machine "
               "that other processes used during one of the side's rounds (distrust rows where it is high); _CPU_ is the cores "
               "the side used (medians): the limit's or the CLI runner's process with its child processes (the Apertium "
               "stages, the spawned tools), for Gureum the server with its children, plus wrk's; _CPU ms / req_ divides "
               "the side's cores (for Gureum the server's, without wrk) by its req/s.\n")
    spreads = []
    for b in benches:
        out.append(f"**{TITLE[b]}**\n")
        out.append("| C | side | req/s | p50 (ms) | p99 (ms) | rounds (req/s) | other CPU | CPU (cores) | CPU ms / req |")
        out.append("| ---: | --- | ---: | ---: | ---: | --- | ---: | ---: | ---: |")
        for c in levels:
            for side in ("limit", "gureum", "cli", "cli-omp1"):
                rs = runs.get((b, side, c))
                if not rs:
                    continue
                rps = [r["rps"] for r in rs]
                m = statistics.median(rps)
                if len(rps) > 1 and m > 0:
                    spreads.append(((max(rps) - min(rps)) / m, b, side, c))
                extra = [r.get("extra") or {} for r in rs]
                if side == "gureum":
                    srv = statistics.median(e.get("serverCores", 0) for e in extra)
                    wrk = statistics.median(e.get("wrkCores", 0) for e in extra)
                    cpu = f"{srv:.2f} + wrk {wrk:.2f}"
                    per = f"{1000 * srv / m:.2f}" if m else "—"
                else:
                    cores = statistics.median(e.get("cpuCores", 0) for e in extra)
                    cpu = f"{cores:.2f}"
                    per = f"{1000 * cores / m:.2f}" if m else "—"
                out.append(f"| {c} | {SIDE_LABEL[side]} | {fmt_rps(m)} | {fmt_ms(med(b, side, c, 'p50'))} | "
                           f"{fmt_ms(med(b, side, c, 'p99'))} | {', '.join(fmt_rps(v) for v in rps)} | "
                           f"{max(r['other'] for r in rs):.1f}% | {cpu} | {per} |")
        out.append("")
    if spreads:
        spreads.sort(reverse=True)
        worst = spreads[0]
        typical = statistics.median(s[0] for s in spreads)
        out.append(f"Noise: the spread of a side's rounds ((max − min) / median of req/s) is {typical:.0%} typically and "
                   f"{worst[0]:.0%} at worst ({worst[1]}, {worst[2]}, C = {worst[3]}); read ratios closer than that as equal.\n")
        summary.append(f"noise: typical round spread {typical:.0%}, worst {worst[0]:.0%} ({worst[1]} {worst[2]} C={worst[3]})")

    # Soak.
    samples = soak.get("samples") or []
    if samples:
        out.append("### Soak\n")
        n = soak["calls"]
        mid = min(samples, key=lambda s: abs(s["calls"] - n / 2))
        second = [s for s in samples if s["calls"] >= mid["calls"]]

        def growth(key):
            return 100.0 * (samples[-1][key] - mid[key]) / mid[key] if mid[key] else float("nan")

        g_srv, g_tree = growth("rssKb"), growth("treeRssKb")
        flat = g_srv < SOAK_FLAT and g_tree < SOAK_FLAT
        statuses = soak.get("calls_by_kind", {})
        five = sum(v for k in statuses.values() for s, v in k["statuses"].items() if s.startswith("5"))
        out.append(f"{n:,} mixed calls from {soak['clients']} clients in {soak['seconds']:.0f} s (the cycle of {len(soak['cycle'])} calls: "
                   f"{', '.join(sorted(set(soak['cycle'])))}), the server's RSS (`VmRSS` of `/proc/PID/status`) and that of the "
                   f"server with its child processes (the Apertium stages) sampled every {soak['every']} calls, after the "
                   f"throughput rounds (engines loaded and warm). Other processes used up to {soak.get('other', 0):.1f}% of the machine.\n")
        out.append("| RSS (MB) | start | middle | end | max | growth over the second half | flat (< 5%) |")
        out.append("| --- | ---: | ---: | ---: | ---: | ---: | :---: |")
        for key, label, g in (("rssKb", "server", g_srv), ("treeRssKb", "server + children", g_tree)):
            out.append(f"| {label} | {mb(samples[0][key])} | {mb(mid[key])} | {mb(samples[-1][key])} | "
                       f"{mb(max(s[key] for s in samples))} | {g:+.1f}% | {'yes' if g < SOAK_FLAT else '**no**'} |")
        out.append("\nServer RSS every " + f"{soak['every']} calls (MB): " + ", ".join(mb(s["rssKb"]) for s in samples) + "\n")
        out.append("| call | answers | p50 (ms) | p99 (ms) |")
        out.append("| --- | --- | ---: | ---: |")
        for kind, k in sorted(statuses.items()):
            answers = ", ".join(f"{v:,} × {s}" for s, v in sorted(k["statuses"].items()))
            out.append(f"| {kind} | {answers} | {fmt_ms(k['p50Ms'])} | {fmt_ms(k['p99Ms'])} |")
        out.append(f"\nSoak goal (no 5xx, RSS growth over the second half < {SOAK_FLAT:.0f}%): "
                   f"**{'met' if flat and five == 0 else 'not met'}** ({five} answers 5xx; server {g_srv:+.1f}%, with children {g_tree:+.1f}%).")
        summary.append(f"soak: {n} calls in {soak['seconds']:.0f} s, server RSS {mb(samples[0]['rssKb'])} → {mb(mid['rssKb'])} → "
                       f"{mb(samples[-1]['rssKb'])} MB (max {mb(max(s['rssKb'] for s in samples))}), second half {g_srv:+.1f}%, "
                       f"tree {g_tree:+.1f}%, 5xx {five}: {'flat' if flat else 'NOT flat'}")

    if not os.path.exists(args.doc) or os.path.getsize(args.doc) == 0:
        os.makedirs(os.path.dirname(os.path.abspath(args.doc)), exist_ok=True)
        with open(args.doc, "w") as f:
            f.write(HEADER)
    with open(args.doc, "a") as f:
        f.write("\n".join(out) + "\n")
    print("\n".join(summary))


if __name__ == "__main__":
    main()
