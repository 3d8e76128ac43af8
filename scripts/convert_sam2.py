#!/usr/bin/env python3
"""Convert a released SAM 2 / SAM 2.1 checkpoint (.pt) to an Engram SAM 2 model file (safetensors), for slice
propagation.

    python3 scripts/convert_sam2.py sam2.1_hiera_tiny.pt sam2.1-tiny.safetensors --image-size 512

Loading follows scripts/convert_sam_med3d.py: torch.load(weights_only=True), or --trust-pickle for trusted
files only. The state dict ("model" in SAM 2's checkpoints) keeps SAM 2's key names; the network structure of
--variant (tiny by default) and the image size go into the metadata, which Engram reads to build the network.
The Hiera position embedding is resized to the image size at run time, so 512 px (the common medical
setting) works with weights trained at 1024.
"""
import argparse
import json
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from convert_sam_med3d import load_checkpoint, write_safetensors  # noqa: E402

# The released structures (sam2/configs/sam2.1/*.yaml).
VARIANTS = {
    "tiny": {"hiera_embed_dim": 96, "hiera_heads": 1, "hiera_stages": [1, 2, 7, 2],
             "hiera_global_att_blocks": [5, 7, 9], "hiera_pos_embed_bkg": [7, 7]},
    "small": {"hiera_embed_dim": 96, "hiera_heads": 1, "hiera_stages": [1, 2, 11, 2],
              "hiera_global_att_blocks": [7, 10, 13], "hiera_pos_embed_bkg": [7, 7]},
    "base_plus": {"hiera_embed_dim": 112, "hiera_heads": 2, "hiera_stages": [2, 3, 16, 3],
                  "hiera_global_att_blocks": [12, 16, 20], "hiera_pos_embed_bkg": [14, 14]},
    "large": {"hiera_embed_dim": 144, "hiera_heads": 2, "hiera_stages": [2, 6, 36, 4],
              "hiera_global_att_blocks": [23, 33, 43], "hiera_pos_embed_bkg": [7, 7],
              "hiera_window_spec": [8, 4, 16, 8]},
}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("checkpoint")
    parser.add_argument("output")
    parser.add_argument("--variant", choices=sorted(VARIANTS), default="tiny")
    parser.add_argument("--config", help="JSON file with the configuration instead of --variant")
    parser.add_argument("--image-size", type=int, default=512)
    parser.add_argument("--dtype", choices=["float32", "float16", "bfloat16"], default="float32")
    parser.add_argument("--trust-pickle", action="store_true", help="allow full unpickling (trusted files only)")
    args = parser.parse_args()

    if args.config:
        with open(args.config) as f:
            config = json.load(f)
    else:
        config = dict(VARIANTS[args.variant])
        # What the released video predictor switches on at inference.
        config.update({"binarize_mask_from_pts_for_mem_enc": True, "dynamic_multimask_via_stability": True})
    config["image_size"] = args.image_size
    checkpoint = load_checkpoint(args.checkpoint, args.trust_pickle)
    state = checkpoint.get("model", checkpoint) if isinstance(checkpoint, dict) else None
    if not isinstance(state, dict) or "image_encoder.trunk.pos_embed" not in state:
        sys.exit("%s does not hold a SAM 2 state dict (no image_encoder.trunk.pos_embed)" % args.checkpoint)
    dtype = getattr(torch, args.dtype)
    tensors = {k: (v.detach().to(dtype) if v.is_floating_point() else v.detach()) for k, v in state.items()}
    write_safetensors(args.output, tensors, {"format": "engram-sam2/1", "config": json.dumps(config)})
    print("wrote %s: %d tensors (%s, %s, %d px)" % (args.output, len(tensors), args.dtype,
                                                    "custom" if args.config else args.variant, args.image_size))


if __name__ == "__main__":
    main()
