"""Runs an ONNX model exported by `infer --onnx` with onnxruntime on MNIST's test images and
compares every output with the ones `infer` computed. Called by crates/infer/tests/it/onnx.rs:

    python onnx_check.py MODEL.onnx OURS.f32 t10k-images-idx3-ubyte.gz

OURS.f32 holds our outputs, float32 little-endian, one row of class outputs per test image.
Prints one line of JSON: what the checker said, the largest absolute difference, and on how
many images the two arg-maxes agree."""
import gzip, json, sys

import numpy as np
import onnx
import onnxruntime

model_path, ours_path, images_path = sys.argv[1:4]
model = onnx.load(model_path)
onnx.checker.check_model(model, full_check=True)
with gzip.open(images_path, "rb") as f:
    raw = f.read()
count = int.from_bytes(raw[4:8], "big")
# As data::scale_pixel makes them: each byte as float32, divided by 255 in float32.
pixels = np.frombuffer(raw, dtype=np.uint8, offset=16).reshape(count, 784)
pixels = pixels.astype(np.float32) / np.float32(255)
session = onnxruntime.InferenceSession(model_path, providers=["CPUExecutionProvider"])
theirs = session.run(["outputs"], {"pixels": pixels})[0]
ours = np.fromfile(ours_path, dtype="<f4").reshape(theirs.shape)
meta = {p.key: p.value for p in model.metadata_props}
print(json.dumps({
    "checker": "ok",
    "onnxruntime": onnxruntime.__version__,
    "images": int(count),
    "outputs": int(theirs.shape[1]),
    "max_abs_diff": float(np.abs(theirs - ours).max()),
    "argmax_same": int((theirs.argmax(1) == ours.argmax(1)).sum()),
    "class_names": json.loads(meta["class_names"]),
    "input_shape": [d.dim_param or d.dim_value for d in model.graph.input[0].type.tensor_type.shape.dim],
}))
