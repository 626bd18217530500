#!/usr/bin/python3
"""The drift benchmark's peer: the same drift report computed the way a Python user would, with pandas and numpy.

Usage: peer.py DB [--runs R] [--report FILE]

Reads everything from the Gureum SQLite database DriftBench generated (the same bytes Gureum reads): the dataset
version's profile (histograms and top values), the model version's inputs, the training report's confusion matrix,
and the endpoint's sampled requests newest first (status 200, not shadow; the window is the whole table). Each
request body is json.loads'ed, the records go into one pandas DataFrame, and per column it computes what Gureum's
Drift.ComputeAsync reports: numeric columns binned on the profile's histogram ends (np.searchsorted), PSI and KS;
categorical columns counted over the top values plus "other", PSI, chi-square and the unseen share; missing rates;
and the predicted labels of the answers against the test split's predicted-class shares. Same formulas, epsilon and
rounding as Gureum, so the PSIs can be compared. (scipy is not used: scipy.stats.chisquare refuses expected counts
that do not sum to the observed ones, which the epsilon floor makes them; the sums below are what it would compute.)

Prints one JSON line: rows, requests, seconds of each run (from opening the database to the report; interpreter
start-up and imports excluded), the process's peak RSS, and the PSI of every column and of the prediction.
"""
import json
import math
import resource
import sqlite3
import sys
import time

import numpy as np
import pandas as pd

EPS = 1e-4


def psi(baseline, live):
    b = np.maximum(np.asarray(baseline, dtype=float), EPS)
    a = np.maximum(np.asarray(live, dtype=float), EPS)
    return float(np.sum((a - b) * np.log(a / b)))


def severity(p, unseen, missing_change):
    if p >= 0.25 or (unseen is not None and unseen >= 0.2) or missing_change >= 0.2:
        return "high"
    if p >= 0.1 or (unseen is not None and unseen >= 0.05) or missing_change >= 0.05:
        return "moderate"
    return "none"


def compare(column, values, baseline_rows):
    """values: the column's live values (object dtype: float, str, bool or None/NaN)."""
    rows = len(values)
    missing_baseline = column["missing"] / baseline_rows if baseline_rows else 0.0
    present = values.notna() & (values != "")
    n_present = int(present.sum())
    missing_live = 1 - n_present / rows if rows else 0.0
    out = {"name": column["name"], "missingBaseline": round(missing_baseline, 6), "missingLive": round(missing_live, 6), "liveValues": n_present}
    histogram = column.get("histogram") or []
    if histogram:
        ends = np.array([b["end"] for b in histogram])
        counts_base = np.array([b["count"] for b in histogram], dtype=float)
        numbers = pd.to_numeric(values[present], errors="coerce").to_numpy(dtype=float)
        numbers = numbers[~np.isnan(numbers)]
        bins = np.searchsorted(ends[:-1], numbers, side="right")
        live = np.bincount(bins, minlength=len(ends)).astype(float)
        e = counts_base / max(1.0, counts_base.sum())
        a = live / max(1.0, live.sum())
        e6, a6 = np.round(e, 6), np.round(a, 6)
        p = psi(e6, a6)
        ks = float(np.max(np.abs(np.cumsum(e) - np.cumsum(a))))
        out.update(psi=round(p, 6), ks=round(ks, 6), severity=severity(p, None, abs(missing_live - missing_baseline)))
    else:
        top = column.get("topValues") or []
        base_total = max(1, column["count"] - column["missing"])
        other = max(0, base_total - sum(t["count"] for t in top))
        counts = values[present].astype(str).value_counts()
        live_total = max(1, n_present)
        known = [t["value"] for t in top]
        live_known = np.array([counts.get(v, 0) for v in known], dtype=float)
        live_other = n_present - live_known.sum()
        e6 = np.round(np.array([t["count"] for t in top] + [other], dtype=float) / base_total, 6)
        a6 = np.round(np.append(live_known, live_other) / live_total, 6)
        p = psi(e6, a6)
        expected = np.maximum(e6, EPS) * live_total
        chi = float(np.sum((a6 * live_total - expected) ** 2 / expected))
        unseen = round(live_other / live_total, 6)
        out.update(psi=round(p, 6), chiSquare=round(chi, 4), unseenShare=unseen, severity=severity(p, unseen, abs(missing_live - missing_baseline)))
    return out


def run(db_path):
    connection = sqlite3.connect(db_path)
    profile_json, = connection.execute('SELECT "Profile" FROM dataset_versions').fetchone()
    profile = json.loads(profile_json)
    model, version, signature_json, job_id = connection.execute('SELECT m."Name", v."Version", v."Signature", v."TrainingJobId" '
                                                                'FROM model_versions v JOIN registered_models m ON m."Id" = v."ModelId"').fetchone()
    inputs = [i["name"] for i in json.loads(signature_json)["inputs"]]
    report_json, = connection.execute('SELECT "Report" FROM training_jobs WHERE "Id" = ?', (job_id,)).fetchone()
    confusion = json.loads(report_json)["confusionMatrix"]
    endpoint, project = connection.execute('SELECT "Id", "ProjectId" FROM endpoints').fetchone()

    records, labels, requests = [], [], 0
    for body, answer, sample_model, sample_version in connection.execute(
            'SELECT "Input", "Output", "Model", "Version" FROM prediction_samples WHERE "EndpointId" = ? AND "ProjectId" = ? '
            'AND NOT "Shadow" AND "Status" = 200 ORDER BY "At" DESC, "Id" DESC', (endpoint, project)):
        requests += 1
        try:
            parsed = json.loads(body)
        except ValueError:
            continue
        if isinstance(parsed.get("records"), list):
            records.extend(parsed["records"])
        if sample_model == model and sample_version == version:
            try:
                labels.extend(p.get("label") for p in json.loads(answer).get("predictions", []))
            except ValueError:
                pass
    connection.close()

    frame = pd.DataFrame.from_records(records, columns=inputs)
    features = [compare(c, frame[c["name"]], profile["rowCount"]) for c in profile["columns"] if c["name"] in frame.columns]
    features.sort(key=lambda f: ({"high": 3, "moderate": 2, "none": 1}.get(f["severity"], 0), f["psi"]), reverse=True)

    classes = confusion["classes"]
    predicted = np.array(confusion["counts"], dtype=float).sum(axis=0)
    live = pd.Series(labels).value_counts()
    live_total = max(1, len(labels))
    prediction_psi = round(psi(np.round(predicted / predicted.sum(), 6), np.round(np.array([live.get(c, 0) for c in classes]) / live_total, 6)), 6)
    return len(frame), requests, features, prediction_psi


def main():
    args = sys.argv[1:]
    db_path = args[0]
    runs = int(args[args.index("--runs") + 1]) if "--runs" in args else 1
    report_path = args[args.index("--report") + 1] if "--report" in args else None
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    seconds = []
    for _ in range(runs):
        start = time.perf_counter()
        rows, requests, features, prediction_psi = run(db_path)
        seconds.append(time.perf_counter() - start)
    warm = sorted(seconds[1:]) or seconds
    median = warm[len(warm) // 2] if len(warm) % 2 else (warm[len(warm) // 2 - 1] + warm[len(warm) // 2]) / 2
    if report_path:
        with open(report_path, "w") as f:
            json.dump({"features": features, "prediction_psi": prediction_psi}, f)
    flagged = " ".join(f'{f["name"]}:{f["severity"]}' for f in features if f["severity"] != "none")
    print(json.dumps({
        "side": "peer", "rows": rows, "requests": requests, "features": len(features), "cold_seconds": round(seconds[0], 4),
        "warm_seconds": round(median, 4), "runs": " ".join(f"{s:.4f}" for s in seconds), "rows_per_s": round(rows / median),
        "rss0_kb": rss0, "hwm_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, "flagged": flagged, "prediction_psi": prediction_psi,
        "pandas": pd.__version__, "numpy": np.__version__,
    }))


if __name__ == "__main__":
    main()
