#!/usr/bin/env python3
"""Convert a released SAM-Med3D / SAM-Med3D-turbo checkpoint (.pth) to Engram's safetensors weights.

Run once, on any machine with PyTorch:

    python3 scripts/convert_sam_med3d.py sam_med3d_turbo.pth sam_med3d_turbo.safetensors

The app itself never unpickles anything. This script loads the checkpoint with torch.load(weights_only=True)
where the installed PyTorch can do that for SAM-Med3D's checkpoints (they hold an argparse.Namespace, which
PyTorch >= 2.4 can allow-list); older PyTorch needs --trust-pickle, which unpickles the file with full
privileges: use it only for checkpoints from a source you trust.

The output holds `model_state_dict` (with any "module." prefix removed) and, in its metadata, the network
configuration (vit_b_ori unless --config says otherwise), which Engram reads to build the network.
"""
import argparse
import json
import os
import struct
import sys

import torch

VIT_B_ORI = {
    "embed_dim": 768, "depth": 12, "heads": 12, "global_attn": [2, 5, 8, 11], "prompt_dim": 384,
    "img_size": 128, "patch_size": 16, "window_size": 14, "mlp_ratio": 4, "mask_in_chans": 16,
    "decoder_depth": 2, "decoder_heads": 8, "decoder_mlp_dim": 2048, "num_multimask_outputs": 3,
    "iou_head_depth": 3, "iou_head_hidden_dim": 256,
}
DTYPES = {torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16", torch.int64: "I64"}


def load_checkpoint(path, trust_pickle):
    try:
        if hasattr(torch.serialization, "add_safe_globals"):
            torch.serialization.add_safe_globals([argparse.Namespace])
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # weights_only refused something the checkpoint holds
        if not trust_pickle:
            sys.exit("cannot load %s safely (%s).\nRe-run with --trust-pickle if you trust its source." % (path, error))
        return torch.load(path, map_location="cpu", weights_only=False)


def state_dict_of(checkpoint):
    if isinstance(checkpoint, dict):
        for key in ("model_state_dict", "state_dict", "model"):
            if key in checkpoint and isinstance(checkpoint[key], dict):
                return checkpoint[key]
        if all(isinstance(v, torch.Tensor) for v in checkpoint.values()):
            return checkpoint
    sys.exit("no model_state_dict found in the checkpoint")


def write_safetensors(path, tensors, metadata):
    header = {"__metadata__": metadata}
    offset = 0
    blobs = []
    for name in sorted(tensors):
        t = tensors[name].contiguous()
        data = t.view(torch.uint8).numpy().tobytes() if t.dim() else t.reshape(1).view(torch.uint8).numpy().tobytes()
        header[name] = {"dtype": DTYPES[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        offset += len(data)
        blobs.append(data)
    encoded = json.dumps(header, separators=(",", ":")).encode()
    encoded += b" " * ((8 - len(encoded) % 8) % 8)
    tmp = path + ".tmp"
    with open(tmp, "wb") as out:
        out.write(struct.pack("<Q", len(encoded)))
        out.write(encoded)
        for blob in blobs:
            out.write(blob)
    os.replace(tmp, path)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("checkpoint")
    parser.add_argument("output")
    parser.add_argument("--config", help="JSON file with the network configuration (default: vit_b_ori)")
    parser.add_argument("--dtype", choices=["float32", "float16", "bfloat16"], default="float32")
    parser.add_argument("--trust-pickle", action="store_true", help="allow full unpickling (trusted files only)")
    args = parser.parse_args()

    config = dict(VIT_B_ORI)
    if args.config:
        with open(args.config) as f:
            config.update(json.load(f))
    state = state_dict_of(load_checkpoint(args.checkpoint, args.trust_pickle))
    dtype = getattr(torch, args.dtype)
    tensors = {}
    for key, value in state.items():
        key = key[len("module."):] if key.startswith("module.") else key
        if key in ("pixel_mean", "pixel_std"):
            continue
        tensors[key] = value.detach().to(dtype) if value.is_floating_point() else value.detach()
    write_safetensors(args.output, tensors, {"format": "engram-sam-med3d/1", "config": json.dumps(config)})
    print("wrote %s: %d tensors (%s)" % (args.output, len(tensors), args.dtype))


if __name__ == "__main__":
    main()
