#!/usr/bin/python3
"""The AutoML benchmark's peers: a gradient-boosting library with its defaults, on the same train/test files.

  hgb  scikit-learn HistGradientBoostingClassifier / HistGradientBoostingRegressor (Debian python3-sklearn)
  xgb  xgboost XGBClassifier / XGBRegressor (Debian python3-xgboost)

Both with their default hyperparameters; only random_state is set (to SEED), so a run can be repeated.
Features, the same for both, decided from the training file as pandas reads it:
  - text (object) columns are categoricals: their categories are the training file's values, sorted;
    a test value the training file lacks is treated as missing.
    hgb: ordinal codes (missing = NaN) with the `categorical_features` mask;
    xgb: one-hot columns (missing = all zeros);
  - booleans become 0/1;
  - numbers stay as they are, missing = NaN, which both libraries handle natively.
Labels: classification classes are the training file's values, sorted (binary: the second is positive).

Prints one JSON line: side, task, test metrics (binary: auc, accuracy; multiclass: macroAccuracy
(= balanced accuracy, the mean per-class recall), microAccuracy (= accuracy); regression: rmse, mae, r2),
seconds (fit + predict, timed in-process: interpreter start-up, imports and reading the files are not
included), readSeconds, features, versions.

Usage: /usr/bin/python3 bench/automl/peer.py hgb|xgb TRAIN TEST TARGET binary|multiclass|regression [SEED]
"""
import json
import sys
import time

import numpy as np
import pandas as pd
from sklearn import metrics


def features(train: pd.DataFrame, test: pd.DataFrame, one_hot: bool):
    """Returns (train matrix, test matrix, categorical mask or None, feature count)."""
    xs, ts, mask = [], [], []
    for column in train.columns:
        a, b = train[column], test[column]
        if a.dtype == bool or b.dtype == bool:
            xs.append(a.astype(float).to_frame())
            ts.append(b.astype(float).to_frame())
            mask.append(False)
        elif a.dtype == object:
            categories = sorted(a.dropna().astype(str).unique())
            ca = pd.Categorical(a.astype("string"), categories=categories)
            cb = pd.Categorical(b.astype("string"), categories=categories)
            if one_hot:
                xs.append(pd.get_dummies(ca, prefix=column, prefix_sep="=", dtype=float))
                ts.append(pd.get_dummies(cb, prefix=column, prefix_sep="=", dtype=float))
                mask.extend([False] * len(categories))
            else:
                xs.append(pd.Series(np.where(ca.codes < 0, np.nan, ca.codes), name=column).to_frame())
                ts.append(pd.Series(np.where(cb.codes < 0, np.nan, cb.codes), name=column).to_frame())
                mask.append(True)
        else:
            xs.append(pd.to_numeric(a, errors="coerce").astype(float).to_frame())
            ts.append(pd.to_numeric(b, errors="coerce").astype(float).to_frame())
            mask.append(False)
    x = pd.concat([f.reset_index(drop=True) for f in xs], axis=1)
    t = pd.concat([f.reset_index(drop=True) for f in ts], axis=1)
    # xgboost refuses feature names with [, ] or <.
    names = [str(n).replace("[", "(").replace("]", ")").replace("<", "lt") for n in x.columns]
    x.columns = names
    t.columns = names
    return x.to_numpy(dtype=float), t.to_numpy(dtype=float), np.array(mask), x.shape[1]


def main() -> None:
    if len(sys.argv) < 6:
        raise SystemExit(__doc__)
    side, train_path, test_path, target, task = sys.argv[1:6]
    seed = int(sys.argv[6]) if len(sys.argv) > 6 else 1
    read = time.perf_counter()
    train = pd.read_csv(train_path)
    test = pd.read_csv(test_path)
    read_seconds = time.perf_counter() - read
    y_raw, t_raw = train.pop(target), test.pop(target)
    if task == "regression":
        y, t = y_raw.astype(float).to_numpy(), t_raw.astype(float).to_numpy()
        keep = ~np.isnan(t)
    else:
        classes = sorted(y_raw.dropna().astype(str).unique())
        index = {c: i for i, c in enumerate(classes)}
        y = y_raw.astype(str).map(index).to_numpy()
        t = t_raw.astype(str).map(index).to_numpy()  # a test label the training data lacks is left out, as Gureum does
        keep = ~pd.isna(t)
    x, xt, mask, count = features(train, test, one_hot=side == "xgb")
    xt, t = xt[keep], t[keep].astype(float if task == "regression" else int)

    if side == "hgb":
        import sklearn
        from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
        categorical = mask if mask.any() else None
        model = (HistGradientBoostingRegressor if task == "regression" else HistGradientBoostingClassifier)(
            categorical_features=categorical, random_state=seed)
        version = f"scikit-learn {sklearn.__version__}"
    elif side == "xgb":
        import xgboost
        model = (xgboost.XGBRegressor if task == "regression" else xgboost.XGBClassifier)(random_state=seed)
        version = f"xgboost {xgboost.__version__}"
    else:
        raise SystemExit(f"unknown side {side}; use hgb or xgb")

    start = time.perf_counter()
    model.fit(x, y.astype(float if task == "regression" else int))
    if task == "regression":
        predicted = model.predict(xt)
    else:
        probabilities = model.predict_proba(xt)
        predicted = probabilities.argmax(axis=1)
    seconds = time.perf_counter() - start

    if task == "binary":
        result = {"auc": metrics.roc_auc_score(t, probabilities[:, 1]), "accuracy": metrics.accuracy_score(t, predicted)}
    elif task == "multiclass":
        result = {"macroAccuracy": metrics.balanced_accuracy_score(t, predicted), "microAccuracy": metrics.accuracy_score(t, predicted)}
    else:
        result = {"rmse": float(np.sqrt(metrics.mean_squared_error(t, predicted))),
                  "mae": metrics.mean_absolute_error(t, predicted), "r2": metrics.r2_score(t, predicted)}
    print(json.dumps({
        "side": side, "task": task, "test": {k: float(v) for k, v in result.items()},
        "seconds": round(seconds, 4), "readSeconds": round(read_seconds, 4),
        "trainRows": int(len(y)), "testRows": int(len(t)), "features": int(count),
        "categorical": int(mask.sum()) if side == "hgb" else None, "version": version,
    }))


if __name__ == "__main__":
    main()
