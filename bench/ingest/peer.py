#!/usr/bin/python3
"""The ingest benchmark's peer: pandas.read_csv + DataFrame.describe(include="all") on one file.

Run it with Debian's /usr/bin/python3 (python3-pandas). Prints one JSON line like bench/Ingest:
rows, columns, bytes, seconds (read_csv + describe, measured in-process: the interpreter start-up and
`import pandas` are not included), mbps (10^6 bytes per second) and rss0_kb (resident set before the read).

Usage: /usr/bin/python3 bench/ingest/peer.py FILE
"""
import json
import os
import sys
import time

import pandas as pd


def rss_kb() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def main() -> None:
    path = sys.argv[1]
    size = os.path.getsize(path)
    rss0 = rss_kb()
    start = time.perf_counter()
    df = pd.read_csv(path)
    described = df.describe(include="all")
    seconds = time.perf_counter() - start
    print(json.dumps({
        "side": "pandas",
        "rows": int(len(df)),
        "columns": int(df.shape[1]),
        "bytes": size,
        "seconds": round(seconds, 4),
        "mbps": round(size / 1e6 / seconds, 2),
        "rss0_kb": rss0,
        "described": int(described.shape[1]),
        "pandas": pd.__version__,
        "dtypes": ",".join(f"{c}:{t}" for c, t in df.dtypes.astype(str).items()),
    }))


if __name__ == "__main__":
    main()
