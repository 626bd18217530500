#!/usr/bin/env python3
"""Deterministic CSV for the ingest benchmark: prints the path of a file of about SIZE_MB megabytes (10^6 bytes).

Columns: id (int), price (float, 3% missing), quantity (int), category (~20 values), city (~200 values),
comment (free text of varying length; some quoted, with commas and doubled quotes), created (ISO 8601
datetime), active (bool), score (float, with a few stray text values).

The same SIZE_MB (and SEED) always gives the same bytes. The file is cached in $CACHE_DIR
(default /tmp/gureum-bench-ingest) and reused when it is already there; it is written under a temporary
name and renamed, so an interrupted run never leaves a half file behind.

Usage: SIZE_MB=1024 python3 bench/ingest/generate.py   ->   /tmp/gureum-bench-ingest/generated-1024mb-s1-v1.csv
"""
import os
import random
import sys

VERSION = 1  # bump when the content changes, so old cached files are not reused


def main() -> None:
    size_mb = int(os.environ.get("SIZE_MB", "1024"))
    seed = int(os.environ.get("SEED", "1"))
    cache = os.environ.get("CACHE_DIR", "/tmp/gureum-bench-ingest")
    os.makedirs(cache, exist_ok=True)
    path = os.path.join(cache, f"generated-{size_mb}mb-s{seed}-v{VERSION}.csv")
    if os.path.exists(path):
        print(path)
        return
    target = size_mb * 1_000_000
    rng = random.Random(seed)

    categories = [f"cat_{name}" for name in (
        "alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india", "juliet",
        "kilo", "lima", "mike", "november", "oscar", "papa", "quebec", "romeo", "sierra", "tango")]
    syllables = ["se", "ul", "bu", "san", "dae", "gu", "in", "cheon", "gwang", "ju", "jeon", "ul", "su", "won",
                 "chang", "won", "go", "yang", "yong", "in", "hwa", "seong", "pyeong", "taek", "an", "yang"]
    cities = sorted({(rng.choice(syllables) + rng.choice(syllables) + rng.choice(syllables)).capitalize()
                     for _ in range(400)})[:200]
    words = ("the quick brown fox jumps over lazy dog data model train test price value good bad ok great "
             "late early fast slow delivery support refund quality broken works again never always maybe "
             "customer order item returned shipped box color size small large excellent poor").split()
    stray = ["unknown", "#VALUE!", "error", "?"]

    tmp = f"{path}.{os.getpid()}.tmp"
    written = 0
    row = 0
    rand = rng.random
    randint = rng.randint
    choice = rng.choice
    with open(tmp, "w", encoding="utf-8", newline="") as out:
        header = "id,price,quantity,category,city,comment,created,active,score\n"
        out.write(header)
        written += len(header)
        block = []
        block_bytes = 0
        while written < target:
            row += 1
            price = "" if rand() < 0.03 else f"{rand() * 1000:.2f}"
            quantity = randint(0, 500)
            category = categories[int(rand() ** 1.5 * 20)]  # skewed: some categories far more frequent
            city = choice(cities)
            r = rand()
            if r < 0.10:
                comment = ""
            else:
                text = " ".join(choice(words) for _ in range(randint(1, 14)))
                if r < 0.30:
                    comment = '"' + text.replace(" ", ", ", 1) + '"'  # quoted, with a comma
                elif r < 0.33:
                    comment = '"' + text + ' ""really"", ' + choice(words) + '"'  # doubled quotes and a comma
                else:
                    comment = text
            created = (f"20{randint(15, 25):02d}-{randint(1, 12):02d}-{randint(1, 28):02d}"
                       f"T{randint(0, 23):02d}:{randint(0, 59):02d}:{randint(0, 59):02d}")
            active = "true" if rand() < 0.6 else "false"
            score = choice(stray) if rand() < 0.001 else f"{rand() * 100 - 20:.4f}"
            line = f"{row},{price},{quantity},{category},{city},{comment},{created},{active},{score}\n"
            block.append(line)
            block_bytes += len(line)  # ASCII only: characters == bytes
            if len(block) >= 10_000:
                out.write("".join(block))
                written += block_bytes
                block.clear()
                block_bytes = 0
            if written + block_bytes >= target:
                break
        out.write("".join(block))
    os.replace(tmp, path)
    print(f"generated {path}: {row} rows, {os.path.getsize(path) / 1e6:.1f} MB", file=sys.stderr)
    print(path)


if __name__ == "__main__":
    main()
