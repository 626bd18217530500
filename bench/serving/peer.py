#!/usr/bin/python3
"""The model-serving benchmark's peer: what users run today, a small Flask app serving one model the way MLflow's
pyfunc scoring server does (`mlflow models serve`: Flask under gunicorn, sync workers, POST /invocations).

Configured by environment variables, so that gunicorn can import it as `peer:app`:

  PEER_KIND=torch    PEER_MODEL=NAME.pt (TorchScript, torch.jit.load), PEER_INPUT=features
      POST /invocations {"inputs": {"features": [[...], ...]}}  ->  {"predictions": [[...], ...]}
      The input becomes one float32 tensor (numpy, then torch.from_numpy), the model runs under torch.inference_mode(),
      the output tensor goes back as nested lists: what MLflow's pytorch flavor does for tensor input.
  PEER_KIND=sklearn  PEER_MODEL=adult.pkl (a scikit-learn pipeline pickled by `peer.py train-adult`)
      POST /invocations {"dataframe_records": [{"column_1": 39, ...}, ...]}
        ->  {"predictions": [{"label": "<=50K", "probability": 0.02}, ...]}
      The records become a pandas DataFrame, then predict_proba: what MLflow's sklearn flavor does for
      dataframe_records (with the label and the positive class's probability, as Gureum's v1 predict answers).
  PEER_THREADS  torch and OpenMP threads per worker (default 1: two single-threaded workers on two cores, rather
                than two workers each spinning up a pool as large as the machine; OMP_NUM_THREADS follows it
                unless set).

GET /ping answers 200 once the model is loaded (MLflow has the same route).

  /usr/bin/python3 bench/serving/peer.py train-adult ADULT_TRAIN.csv OUT.pkl [SEED]
      trains the adult model: HistGradientBoostingClassifier (defaults) on the header-less adult-train.csv, columns
      named as Gureum's dataset reader names them (column_1 .. column_15, the last the target), text columns as
      ordinal codes with the categorical mask. It is a different model from Gureum's AutoML one (no PyTorch model
      exists for tabular data), so for adult the peer is what such a user would serve, not the same model.
  /usr/bin/python3 bench/serving/peer.py serve PORT
      Flask's own threaded server, for when gunicorn is not installed.
"""
import json
import os
import pickle
import sys

THREADS = int(os.environ.get("PEER_THREADS", "1"))
KIND = os.environ.get("PEER_KIND", "torch")
# Before numpy, torch or scikit-learn start their OpenMP pools: scikit-learn's HistGradientBoosting predicts with
# OpenMP threads, which spin-wait; two workers each with a pool as large as the machine fight over the cores.
os.environ.setdefault("OMP_NUM_THREADS", str(THREADS))

import numpy as np  # noqa: E402


def train_adult(csv_path: str, out_path: str, seed: int) -> None:
    import pandas as pd
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OrdinalEncoder

    names = [f"column_{i + 1}" for i in range(15)]
    frame = pd.read_csv(csv_path, header=None, names=names, skipinitialspace=True, na_values="?")
    target = frame.pop(names[-1])
    text = [c for c in frame.columns if frame[c].dtype == object]
    numbers = [c for c in frame.columns if c not in text]
    encoder = OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=np.nan, encoded_missing_value=np.nan)
    pipeline = Pipeline([
        ("features", ColumnTransformer([("text", encoder, text), ("numbers", "passthrough", numbers)])),
        ("model", HistGradientBoostingClassifier(categorical_features=[True] * len(text) + [False] * len(numbers),
                                                 random_state=seed)),
    ])
    pipeline.fit(frame, target)
    pipeline.columns_ = list(frame.columns)
    with open(out_path + ".tmp", "wb") as f:
        pickle.dump(pipeline, f)
    os.replace(out_path + ".tmp", out_path)
    print(json.dumps({"model": out_path, "rows": len(frame), "classes": [str(c) for c in pipeline.classes_],
                      "train_accuracy": float(pipeline.score(frame, target))}))


def create_app():
    from flask import Flask, Response, request

    app = Flask(__name__)
    path = os.environ["PEER_MODEL"]
    if KIND == "torch":
        import torch

        torch.set_num_threads(THREADS)
        try:
            torch.set_num_interop_threads(1)
        except RuntimeError:
            pass  # already set in this process
        model = torch.jit.load(path)
        model.eval()
        input_name = os.environ.get("PEER_INPUT", "features")

        def predict(body):
            inputs = body["inputs"]
            value = inputs[input_name] if isinstance(inputs, dict) else inputs
            x = torch.from_numpy(np.asarray(value, dtype=np.float32))
            with torch.inference_mode():
                y = model(x)
            return y.numpy().tolist()
    elif KIND == "sklearn":
        import pandas as pd

        with open(path, "rb") as f:
            model = pickle.load(f)
        classes = [str(c) for c in model.classes_]

        def predict(body):
            frame = pd.DataFrame.from_records(body["dataframe_records"], columns=model.columns_)
            probabilities = model.predict_proba(frame)
            return [{"label": classes[int(p[1] >= 0.5)], "probability": float(p[1])} for p in probabilities]
    else:
        raise SystemExit(f"PEER_KIND must be torch or sklearn, not {KIND!r}")

    @app.get("/ping")
    def ping():
        return Response("\n", status=200, mimetype="application/json")

    @app.post("/invocations")
    def invocations():
        try:
            body = json.loads(request.get_data())
            predictions = predict(body)
        except (KeyError, ValueError, TypeError) as e:
            return Response(json.dumps({"error_code": "BAD_REQUEST", "message": str(e)}), status=400, mimetype="application/json")
        return Response(json.dumps({"predictions": predictions}), status=200, mimetype="application/json")

    return app


if __name__ == "__main__":
    if len(sys.argv) >= 4 and sys.argv[1] == "train-adult":
        train_adult(sys.argv[2], sys.argv[3], int(sys.argv[4]) if len(sys.argv) > 4 else 1)
    elif len(sys.argv) >= 3 and sys.argv[1] == "serve":
        create_app().run(host="127.0.0.1", port=int(sys.argv[2]), threaded=True)
    else:
        raise SystemExit(__doc__)
else:
    app = create_app()
