#!/usr/bin/python3
"""Helpers of bench/serving/run.sh (no third-party imports).

  tool.py bodies MODELS_DIR ADULT_CSV OUT_DIR
      Writes the request bodies, each one row (one MLP feature row, one image, one adult record), taken from the
      models' reference inputs (first row) and the first row of adult-train.csv:
        mlp-v2.json    {"inputs": [{"name": "features", "shape": [1, 32], "datatype": "FP32", "data": [...]}]}
        mlp-v1.json    {"inputs": {"features": [[...]]}}          (also the peer's body: MLflow's tensor input)
        cnn-v2.json    {"inputs": [{"name": "image", "shape": [1, 3, 224, 224], "datatype": "FP32", "data": [...]}]}
        cnn-v1.json    {"inputs": {"image": [[[[...]]]]}}          (also the peer's body)
        adult-v1.json  {"records": [{"column_1": 39, ...}]}
        adult-peer.json {"dataframe_records": [{"column_1": 39, ...}]}
  tool.py check-tensor RESPONSE FORMAT REFERENCE [TOLERANCE]
      FORMAT v2 | v1 | peer: the response's first output row must match the reference output's first row.
  tool.py check-adult RESPONSE FORMAT [EXPECTED]
      FORMAT v1 | peer: one prediction with a label and a probability in [0, 1]; with EXPECTED (the limit's
      `ServingLimit check` line for the same model file) the label must be equal and the probability within 1e-4.
Every check prints one line and exits 1 when it fails.
"""
import csv
import json
import os
import struct
import sys


def tensor_bodies(reference_path, name):
    with open(reference_path) as f:
        ref = json.load(f)
    shape = ref["input_shape"]
    per_row = len(ref["input"]) // shape[0]
    row = ref["input"][:per_row]
    row_shape = [1] + shape[1:]

    def nest(values, dims):
        if len(dims) == 1:
            return values
        step = len(values) // dims[0]
        return [nest(values[i * step:(i + 1) * step], dims[1:]) for i in range(dims[0])]

    v2 = {"inputs": [{"name": ref["input_name"], "shape": row_shape, "datatype": "FP32", "data": row}]}
    v1 = {"inputs": {ref["input_name"]: nest(row, row_shape)}}
    return {f"{name}-v2.json": v2, f"{name}-v1.json": v1}


def binary_body(reference_path, name, out_dir):
    """The V2 binary tensor data extension: the JSON part, then the row's float32 values little-endian. Writes
    NAME-v2bin.bin and NAME-v2bin.len (the JSON part's length, for the Inference-Header-Content-Length header)."""
    with open(reference_path) as f:
        ref = json.load(f)
    shape = ref["input_shape"]
    row = ref["input"][:len(ref["input"]) // shape[0]]
    header = json.dumps({"inputs": [{"name": ref["input_name"], "shape": [1] + shape[1:], "datatype": "FP32",
                                     "parameters": {"binary_data_size": 4 * len(row)}}]}, separators=(",", ":")).encode()
    with open(os.path.join(out_dir, f"{name}-v2bin.bin"), "wb") as f:
        f.write(header + struct.pack(f"<{len(row)}f", *row))
    with open(os.path.join(out_dir, f"{name}-v2bin.len"), "w") as f:
        f.write(str(len(header)))
    return f"{name}-v2bin.bin"


def adult_bodies(csv_path):
    with open(csv_path, newline="") as f:
        row = next(csv.reader(f))
    record = {}
    for i, value in enumerate(row[:-1]):
        value = value.strip()
        try:
            record[f"column_{i + 1}"] = int(value)
        except ValueError:
            record[f"column_{i + 1}"] = value
    return {"adult-v1.json": {"records": [record]}, "adult-peer.json": {"dataframe_records": [record]}}


def bodies(models_dir, adult_csv, out_dir):
    os.makedirs(out_dir, exist_ok=True)
    files = {}
    files.update(tensor_bodies(os.path.join(models_dir, "mlp.reference.json"), "mlp"))
    files.update(tensor_bodies(os.path.join(models_dir, "mobilenet_v3_small.reference.json"), "cnn"))
    files.update(adult_bodies(adult_csv))
    for name, body in files.items():
        with open(os.path.join(out_dir, name), "w") as f:
            json.dump(body, f, separators=(",", ":"))
    names = list(files)
    names.append(binary_body(os.path.join(models_dir, "mlp.reference.json"), "mlp", out_dir))
    names.append(binary_body(os.path.join(models_dir, "mobilenet_v3_small.reference.json"), "cnn", out_dir))
    print(" ".join(f"{n}:{os.path.getsize(os.path.join(out_dir, n))}B" for n in sorted(names)))


def flatten(value):
    if isinstance(value, list):
        for v in value:
            yield from flatten(v)
    else:
        yield value


def check_tensor(response_path, fmt, reference_path, tolerance):
    with open(reference_path) as f:
        ref = json.load(f)
    with open(response_path) as f:
        body = json.load(f)
    per_row = len(ref["output"]) // ref["output_shape"][0]
    expected = ref["output"][:per_row]
    if fmt == "v2":
        outputs = {o["name"]: o for o in body["outputs"]}
        out = outputs[ref["output_name"]]
        actual = list(flatten(out["data"]))
        if out.get("shape") != [1] + ref["output_shape"][1:]:
            fail(f"v2 output shape {out.get('shape')}, expected {[1] + ref['output_shape'][1:]}")
    elif fmt == "v1":
        actual = list(flatten(body["outputs"][ref["output_name"]]))
    else:
        actual = list(flatten(body["predictions"]))
    if len(actual) != len(expected):
        fail(f"{fmt}: {len(actual)} output values, expected {len(expected)}")
    diff = max(abs(a - b) for a, b in zip(actual, expected))
    if diff > tolerance:
        fail(f"{fmt}: output differs from the reference by {diff:.3g} (tolerance {tolerance})")
    print(f"{fmt}: {len(actual)} values match the reference (max |diff| {diff:.3g})")


def check_adult(response_path, fmt, expected_path):
    with open(response_path) as f:
        body = json.load(f)
    predictions = body["predictions"]
    if len(predictions) != 1:
        fail(f"{fmt}: {len(predictions)} predictions for one record")
    p = predictions[0]
    label, probability = p.get("label"), p.get("probability")
    if label not in ("<=50K", ">50K") or not isinstance(probability, (int, float)) or not 0 <= probability <= 1:
        fail(f"{fmt}: not a binary prediction: {p}")
    if expected_path:
        with open(expected_path) as f:
            expected = json.loads(f.read().strip().splitlines()[-1])["predictions"][0]
        if expected["label"] != label or abs(expected["probability"] - probability) > 1e-4:
            fail(f"{fmt}: {p} but the same model in-process says {expected}")
        print(f"{fmt}: {label} {probability:.6f}, as the same model in-process")
    else:
        print(f"{fmt}: {label} {probability:.6f}")


def fail(message):
    print(message)
    sys.exit(1)


def main():
    args = sys.argv[1:]
    if len(args) == 4 and args[0] == "bodies":
        bodies(*args[1:])
    elif len(args) in (4, 5) and args[0] == "check-tensor":
        check_tensor(args[1], args[2], args[3], float(args[4]) if len(args) == 5 else 1e-4)
    elif len(args) in (3, 4) and args[0] == "check-adult":
        check_adult(args[1], args[2], args[3] if len(args) == 4 else None)
    else:
        raise SystemExit(__doc__)


if __name__ == "__main__":
    main()
