#!/usr/bin/python3
"""The AutoML benchmark's data: train/test CSVs with a header row, the same files for every side.

Reads the public datasets in ../shared/testdata/datasets (DATA_DIR) and writes, into $CACHE_DIR
(default /tmp/gureum-bench-automl) under a folder named after SPLIT_SEED and the preparation version,
NAME-train.csv and NAME-test.csv for each dataset, then prints one JSON line per dataset:
name, task, target, train, test, rows of each, columns.

Cleaning (the same for every side, since every side reads these files):
  adult            no header in the source: columns named from adult.names; the space after each comma is
                   stripped; '?' becomes an empty field (missing); the test labels lose their trailing '.'.
                   adult-train.csv -> train, adult-test.csv -> test.
  diamonds         as published (price, regression).
  titanic          `alive` is dropped (it restates the target `survived`); everything else as published.
  penguins         as published (species, multiclass; rows with missing measurements are kept).
  winequality-red  no header in the source: the UCI column names (spaces as underscores); quality, regression.
  mammography      no header: attr1..attr6, class; labels kept as published ('-1' / '1', quotes included).
Datasets without a test file are split 80/20 with sklearn's train_test_split(random_state=SPLIT_SEED),
stratified by the target for classification. Missing values are written as empty fields.

The files are written under temporary names and renamed, and reused when already there: the same
SPLIT_SEED and VERSION always give the same bytes.

Usage: /usr/bin/python3 bench/automl/prepare.py [NAME ...]   (default: all six)
"""
import json
import os
import sys

import pandas as pd
from sklearn.model_selection import train_test_split

VERSION = 1  # bump when the cleaning changes, so old cached files are not reused

ADULT = ["age", "workclass", "fnlwgt", "education", "education-num", "marital-status", "occupation",
         "relationship", "race", "sex", "capital-gain", "capital-loss", "hours-per-week", "native-country",
         "income"]
WINE = ["fixed_acidity", "volatile_acidity", "citric_acid", "residual_sugar", "chlorides",
        "free_sulfur_dioxide", "total_sulfur_dioxide", "density", "pH", "sulphates", "alcohol", "quality"]
MAMMOGRAPHY = ["attr1", "attr2", "attr3", "attr4", "attr5", "attr6", "class"]

# name -> (task, target)
DATASETS = {
    "adult": ("binary", "income"),
    "diamonds": ("regression", "price"),
    "titanic": ("binary", "survived"),
    "penguins": ("multiclass", "species"),
    "winequality-red": ("regression", "quality"),
    "mammography": ("binary", "class"),
}


def load(name: str, data: str):
    """Returns (train, test or None) as DataFrames, cleaned."""
    path = lambda f: os.path.join(data, f)  # noqa: E731
    if name == "adult":
        def read(f):
            df = pd.read_csv(path(f), header=None, names=ADULT, skipinitialspace=True, na_values=["?"],
                             keep_default_na=False, skip_blank_lines=True)
            df["income"] = df["income"].str.rstrip(".")
            return df
        return read("adult-train.csv"), read("adult-test.csv")
    if name == "diamonds":
        return pd.read_csv(path("diamonds.csv")), None
    if name == "titanic":
        return pd.read_csv(path("titanic.csv")).drop(columns=["alive"]), None
    if name == "penguins":
        return pd.read_csv(path("penguins.csv")), None
    if name == "winequality-red":
        return pd.read_csv(path("winequality-red.csv"), header=None, names=WINE), None
    if name == "mammography":
        return pd.read_csv(path("mammography.csv"), header=None, names=MAMMOGRAPHY, dtype={"class": str}), None
    raise SystemExit(f"unknown dataset {name}; known: {', '.join(DATASETS)}")


def write(df: pd.DataFrame, target_path: str) -> None:
    tmp = target_path + ".tmp"
    df.to_csv(tmp, index=False, na_rep="", lineterminator="\n")
    os.replace(tmp, target_path)


def main() -> None:
    data = os.environ.get("DATA_DIR") or os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                                      "../../../shared/testdata/datasets")
    seed = int(os.environ.get("SPLIT_SEED", "1"))
    cache = os.path.join(os.environ.get("CACHE_DIR", "/tmp/gureum-bench-automl"), f"split-s{seed}-v{VERSION}")
    os.makedirs(cache, exist_ok=True)
    names = sys.argv[1:] or list(DATASETS)
    for name in names:
        task, target = DATASETS[name]
        train_path = os.path.join(cache, f"{name}-train.csv")
        test_path = os.path.join(cache, f"{name}-test.csv")
        split = "given"
        if not (os.path.exists(train_path) and os.path.exists(test_path)):
            train, test = load(name, data)
            if test is None:
                stratify = train[target] if task != "regression" else None
                train, test = train_test_split(train, test_size=0.2, random_state=seed, shuffle=True, stratify=stratify)
            write(train, train_path)
            write(test, test_path)
        if name in ("adult",):
            split = "the published train/test files"
        else:
            split = f"80/20{' stratified' if task != 'regression' else ''}, seed {seed}"
        train = pd.read_csv(train_path, nrows=0)
        print(json.dumps({
            "name": name, "task": task, "target": target, "train": train_path, "test": test_path,
            "trainRows": sum(1 for _ in open(train_path)) - 1, "testRows": sum(1 for _ in open(test_path)) - 1,
            "columns": int(train.shape[1]), "split": split,
        }))


if __name__ == "__main__":
    main()
