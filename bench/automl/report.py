#!/usr/bin/python3
"""Appends the AutoML benchmark's section to docs/benchmarks.md (called by bench/automl/run.sh).

Reads the datasets run.sh prepared (datasets.jsonl), the runs (results.jsonl: one line per side, dataset and
round, with the side's own JSON line under "result") and Gureum's trial logs (--trials 1 writes one line per
trial to stderr: number, stage, trainer, validation score, seconds, error). Quotes per side the median over the
rounds of the test metric and of the seconds, and checks the goal: Gureum >= the best peer on at least 5 of 6.
Prints the main table to stdout as well.
"""
import argparse
import datetime
import json
import os
import platform
import re
import statistics
from collections import defaultdict

PRIMARY = {"binary": "auc", "multiclass": "macroAccuracy", "regression": "rmse"}
SECONDARY = {"binary": ["accuracy"], "multiclass": ["microAccuracy"], "regression": ["r2", "mae"]}
LOWER_IS_BETTER = {"rmse", "mae", "logLoss"}
SIDES = ["gureum", "hgb", "xgb"]
LABEL = {"gureum": "Gureum", "hgb": "HGB", "xgb": "XGB"}
TRIAL = re.compile(r"^\s*(\d+)\s+(\w+)\s+(\w+)\s+(\S*?)\s+([\d.]+)s\s?(.*)$")


def fmt(value: float, metric: str) -> str:
    if metric in ("rmse", "mae"):
        return f"{value:.4g}" if abs(value) < 10 else f"{value:.1f}"
    return f"{value:.4f}"


def better_or_equal(a: float, b: float, metric: str) -> bool:
    return a <= b if metric in LOWER_IS_BETTER else a >= b


def trials(path: str):
    """Gureum's trial log -> list of (number, stage, trainer, score or None, seconds, error)."""
    rows = []
    if not os.path.exists(path):
        return rows
    with open(path) as log:
        for line in log:
            m = TRIAL.match(line.rstrip("\n"))
            if m:
                score = float(m.group(4)) if m.group(4) not in ("", "NaN") else None
                rows.append((int(m.group(1)), m.group(2), m.group(3), score, float(m.group(5)), m.group(6).strip()))
    return rows


def trial_summary(rows, metric: str):
    """(per-trainer text, the trial that set the best score, count after it)."""
    by_trainer = defaultdict(list)
    best_number, best_score = None, None
    for number, _stage, trainer, score, seconds, _error in rows:
        by_trainer[trainer].append((score, seconds))
        if score is not None and (best_score is None or (score != best_score and better_or_equal(score, best_score, metric))):
            best_number, best_score = number, score
    parts = []
    for trainer, items in sorted(by_trainer.items(), key=lambda kv: -len(kv[1])):
        scores = [s for s, _ in items if s is not None]
        failed = len(items) - len(scores)
        best = (min(scores) if metric in LOWER_IS_BETTER else max(scores)) if scores else None
        text = f"{trainer} {len(items)}× (best {fmt(best, metric) if best is not None else '—'}, {sum(t for _, t in items):.0f} s"
        text += f", {failed} failed)" if failed else ")"
        parts.append(text)
    after = len(rows) - best_number if best_number is not None else len(rows)
    return "; ".join(parts), best_number, after


def main() -> None:
    p = argparse.ArgumentParser()
    for name in ("datasets", "results", "logs", "doc", "commit", "command", "machine", "budget", "rounds", "seed", "split-seed", "dll"):
        p.add_argument("--" + name, required=True)
    a = p.parse_args()

    datasets = [json.loads(line) for line in open(a.datasets) if line.strip()]
    runs = defaultdict(list)  # (dataset, side) -> runs
    for line in open(a.results):
        if line.strip():
            r = json.loads(line)
            runs[(r["dataset"], r["side"])].append(r)

    import numpy
    import pandas
    import sklearn
    import xgboost
    versions = (f"Python {platform.python_version()}, scikit-learn {sklearn.__version__}, xgboost {xgboost.__version__}, "
                f"pandas {pandas.__version__}, numpy {numpy.__version__} (Debian packages)")

    main_rows, secondary_rows, gureum_rows, run_rows = [], [], [], []
    wins = 0
    for d in datasets:
        name, task = d["name"], d["task"]
        metric = PRIMARY[task]
        med, secs = {}, {}
        for side in SIDES:
            rs = runs[(name, side)]
            med[side] = statistics.median(r["result"]["test"][metric] for r in rs)
            secs[side] = statistics.median(r["result"]["seconds"] for r in rs)
        peers = {s: med[s] for s in ("hgb", "xgb")}
        best_peer = min(peers, key=peers.get) if metric in LOWER_IS_BETTER else max(peers, key=peers.get)
        won = better_or_equal(med["gureum"], med[best_peer], metric)
        wins += won
        delta = med["gureum"] - med[best_peer]
        rel = delta / abs(med[best_peer]) * 100 if med[best_peer] else 0.0
        direction = "lower is better" if metric in LOWER_IS_BETTER else "higher is better"
        main_rows.append(
            f"| {name} ({d['trainRows']} / {d['testRows']} rows) | {metric} ({direction}) | **{fmt(med['gureum'], metric)}** | "
            f"{fmt(med['hgb'], metric)} | {fmt(med['xgb'], metric)} | {LABEL[best_peer]} {fmt(med[best_peer], metric)} | "
            f"{'yes' if won else '**no**'} | {delta:+.4g} ({rel:+.2f}%) | {secs['gureum']:.1f} | {secs['hgb']:.2f} / {secs['xgb']:.2f} |")
        for m in SECONDARY[task]:
            vals = {s: statistics.median(r["result"]["test"][m] for r in runs[(name, s)]) for s in SIDES}
            secondary_rows.append(f"| {name} | {m} | {fmt(vals['gureum'], m)} | {fmt(vals['hgb'], m)} | {fmt(vals['xgb'], m)} |")
        for r in runs[(name, "gureum")]:
            g = r["result"]
            rows = trials(os.path.join(a.logs, r["log"]))
            summary, best_number, after = trial_summary(rows, metric)
            hp = ", ".join(f"{k} {v:.3g}" for k, v in g["best"]["Hyperparameters"].items())
            gureum_rows.append(
                f"| {name} | {r['round']} | **{g['best']['Trainer']}** ({hp}) | {fmt(g['best']['validation'], metric)} ({g['validationKind']}) | "
                f"{g['trials']} | {g['stop']} | {best_number if best_number is not None else '—'} ({after} after) | {summary} | "
                f"{g['seconds']:.1f} + {g['readSeconds']:.1f} |")
        for side in SIDES:
            for r in runs[(name, side)]:
                run_rows.append(f"| {name} | {LABEL[side]} | {r['round']} | {r['seed']} | {fmt(r['result']['test'][metric], metric)} | "
                                f"{r['result']['seconds']:.2f} | {r['wall']:.1f} | {r['otherCpu']}% |")
    goal = wins >= len(datasets) - 1 if len(datasets) == 6 else wins >= round(len(datasets) * 5 / 6)
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    budget = a.budget

    out = []
    out.append("")
    out.append(f"## automl: AutoML quality (Gureum vs scikit-learn HGB vs xgboost, defaults) — {now}")
    out.append("")
    out.append(f"- Machine: {a.machine}; {versions}")
    out.append(f"- Commit: `{a.commit}`")
    out.append(f"- Command: `{a.command}`")
    out.append(f"- Gureum: `dotnet {a.dll} --train TRAIN --test TEST --target COL --task TASK --budget {budget} --seed SEED --trials 1` — "
               "the files are read as an upload is (format, schema, profile, typed rows), then `AutoML.RunAsync` with the default metric: "
               "defaults of every trainer, then the rank-weighted search, refit of the best on all training rows, test evaluation, "
               "permutation importance. _Gureum s_ is the wall time of `RunAsync` (all of that); reading the files is the second figure "
               "in the last column of the Gureum table.")
    out.append("- HGB: `bench/automl/peer.py hgb` — `HistGradientBoostingClassifier/Regressor(categorical_features=mask, random_state=SEED)`, "
               "text columns as ordinal codes of the training file's sorted values. XGB: `bench/automl/peer.py xgb` — "
               "`XGBClassifier/XGBRegressor(random_state=SEED)`, text columns one-hot. Both: booleans 0/1, missing numbers NaN (native), "
               "missing or unseen categories missing; otherwise defaults. _peer s_ is fit + predict (reading and imports excluded).")
    out.append(f"- Data: `bench/automl/prepare.py` (cached in `$CACHE_DIR`): adult uses its published train/test files; the others a "
               f"seeded 80/20 split (stratified for classification, `SPLIT_SEED={a.split_seed}`). The same files for every side.")
    out.append(f"- Rounds: {a.rounds} per dataset (seed {a.seed} + round − 1 for every side); medians are quoted. Gureum's search is "
               "bounded by time, so on a busy machine it gets fewer trials: see _other CPU_ below.")
    out.append("")
    out.append("| dataset (train / test rows) | test metric | Gureum | HGB | XGB | best peer | Gureum wins? | Gureum − best peer | Gureum s | peer s (HGB / XGB) |")
    out.append("| --- | --- | ---: | ---: | ---: | --- | --- | ---: | ---: | ---: |")
    out.extend(main_rows)
    out.append("")
    out.append(f"Gureum ≥ best peer on at least 5 of 6 within the budget ({budget} s): **{'met' if goal else 'not met'}** "
               f"({wins} of {len(datasets)}).")
    out.append("")
    out.append("Secondary test metrics (medians):")
    out.append("")
    out.append("| dataset | metric | Gureum | HGB | XGB |")
    out.append("| --- | --- | ---: | ---: | ---: |")
    out.extend(secondary_rows)
    out.append("")
    out.append("What Gureum's search did (from `--trials 1`; validation scores are on the training rows, not the test file):")
    out.append("")
    out.append("| dataset | round | best trainer (hyperparameters) | its validation score | trials | stop reason | trial that set the best (trials after it) | trials per trainer (best validation, seconds) | s search + read |")
    out.append("| --- | ---: | --- | --- | ---: | --- | --- | --- | --- |")
    out.extend(gureum_rows)
    out.append("")
    out.append("Every run (_wall_ is the whole process, start-up and reading included; _other CPU_ is the share of the machine's CPU "
               "used by other processes during the run):")
    out.append("")
    out.append("| dataset | side | round | seed | test metric | s | wall s | other CPU |")
    out.append("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    out.extend(run_rows)

    text = "\n".join(out) + "\n"
    if a.doc != "/dev/null":
        if not os.path.exists(a.doc) or os.path.getsize(a.doc) == 0:
            os.makedirs(os.path.dirname(os.path.abspath(a.doc)), exist_ok=True)
            with open(a.doc, "w") as f:
                f.write("# Benchmarks\n")
        with open(a.doc, "a") as f:
            f.write(text)
    print(text)


if __name__ == "__main__":
    main()
