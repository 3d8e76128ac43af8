#!/usr/bin/python3
"""The checkpoint -> safetensors conversions, end to end. SAM-Med3D: a checkpoint like the released ones
(model_state_dict with a "module." prefix, optimizer state, an argparse.Namespace) is built from the parity
case's weights and converted by scripts/convert_sam_med3d.py. SAM 2 (fifth argument "sam2"): a checkpoint
like SAM 2's ({"model": state dict}) converted by scripts/convert_sam2.py. Either way the converted weights
must reproduce the parity case in Engram.
usage: check_convert.py <repo> <parity case> <engram_parity executable> <work dir> [sam2]"""
import argparse
import json
import os
import struct
import subprocess
import sys

import numpy as np
import torch

NP = {"F32": np.float32, "I64": np.int64, "F16": np.float16}


def read_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    meta = header.pop("__metadata__", {})
    tensors = {}
    for name, e in header.items():
        b, end = e["data_offsets"]
        tensors[name] = np.frombuffer(data[b:end], dtype=NP[e["dtype"]]).reshape(e["shape"])
    return tensors, meta


def write_safetensors(path, tensors, meta):
    header, blobs, offset = {"__metadata__": meta}, [], 0
    for name, a in tensors.items():
        raw = np.ascontiguousarray(a).tobytes()
        header[name] = {"dtype": {np.float32: "F32", np.int64: "I64"}[a.dtype.type], "shape": list(a.shape),
                        "data_offsets": [offset, offset + len(raw)]}
        offset += len(raw)
        blobs.append(raw)
    enc = json.dumps(header).encode()
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(enc)) + enc + b"".join(blobs))


def main(repo, case, parity_exe, work, kind="sam-med3d"):
    os.makedirs(work, exist_ok=True)
    tensors, meta = read_safetensors(case)
    sam2 = kind == "sam2"
    config = os.path.join(work, "config.json")
    with open(config, "w") as f:
        f.write(meta["config"])
    out = os.path.join(work, "converted.safetensors")
    if sam2:
        state = {k[len("model."):]: torch.from_numpy(v.copy()) for k, v in tensors.items() if k.startswith("model.")}
        checkpoint = {"model": state}
        script = os.path.join(repo, "scripts", "convert_sam2.py")
        image_size = json.loads(meta["config"])["image_size"]
        extra = ["--image-size", str(image_size)]
    else:
        state = {"module." + k[len("model."):]: torch.from_numpy(v.copy())
                 for k, v in tensors.items() if k.startswith("model.")}
        checkpoint = {"model_state_dict": state, "optimizer_state_dict": {"state": {}, "param_groups": []},
                      "args": argparse.Namespace(lr=8e-5, task_name="fake")}
        script = os.path.join(repo, "scripts", "convert_sam_med3d.py")
        extra = []
    pth = os.path.join(work, "fake_checkpoint.pth")
    torch.save(checkpoint, pth)
    failures = 0

    safe = subprocess.run([sys.executable, script, pth, out, "--config", config] + extra, capture_output=True,
                          text=True)
    if not sam2 and not hasattr(torch.serialization, "add_safe_globals"):
        # PyTorch < 2.4 cannot allow-list the Namespace: the script must refuse rather than unpickle.
        if safe.returncode == 0 or "--trust-pickle" not in safe.stderr:
            print("FAIL: the script unpickled without --trust-pickle:", safe.stdout, safe.stderr)
            failures += 1
        safe = subprocess.run([sys.executable, script, pth, out, "--config", config, "--trust-pickle"] + extra,
                              capture_output=True, text=True)
    if safe.returncode != 0:
        print("FAIL: conversion failed:", safe.stdout, safe.stderr)
        return 1
    print(safe.stdout.strip())

    converted, converted_meta = read_safetensors(out)
    if any(k.startswith("module.") for k in converted):
        print("FAIL: module. prefix kept")
        failures += 1
    merged = {"model." + k: v for k, v in converted.items()}
    merged.update({k: v for k, v in tensors.items() if not k.startswith("model.")})
    merged_case = os.path.join(work, "converted-case.safetensors")
    merged_meta = {"config": converted_meta["config"]}
    if sam2:
        merged_meta["format"] = meta["format"]
    write_safetensors(merged_case, merged, merged_meta)
    run = subprocess.run([parity_exe, merged_case], capture_output=True, text=True)
    print(run.stdout.strip())
    if run.returncode != 0:
        print("FAIL: converted weights do not reproduce the parity case", run.stderr)
        failures += 1
    print("%d passed, %d failed" % (3 - failures, failures))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:6]))
