#!/usr/bin/env bash
# On a CUDA host with a PyTorch 2.x install (and none of Debian's -dev packages): builds model/ alone against
# that PyTorch's LibTorch, runs the parity case on CPU and CUDA (float32, then bf16/fp16 to measure their
# error), and the model benchmark on CUDA. Needs .gpu-deps/ with the spdlog, fmt and nlohmann headers and
# shared/parity (scripts/gpu-prepare.sh makes it). Logs go to ${OUT:-build/gpu-out}.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${OUT:-build/gpu-out}
mkdir -p "$out"
prefix=$(python3 -c 'import torch;print(torch.utils.cmake_prefix_path)')
cmake -S . -B build/gpu -G Ninja -DCMAKE_BUILD_TYPE=Release -DENGRAM_MODEL_ONLY=ON \
  -DENGRAM_HEADER_DEPS="$PWD/.gpu-deps/include" -DENGRAM_SHARED_DIR="$PWD/.gpu-deps/shared" \
  -DCMAKE_PREFIX_PATH="$prefix" > "$out/configure.log" 2>&1 || { tail -40 "$out/configure.log"; exit 1; }
cmake --build build/gpu -j "$(nproc)" --target engram_parity engram_bench_model > "$out/build.log" 2>&1 \
  || { grep -m 20 -B2 -A6 "error" "$out/build.log"; exit 1; }
case=.gpu-deps/shared/parity/sam-med3d-tiny-seed1.safetensors
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader | tee "$out/gpu.txt"
for args in "" "--literal" "--device cuda" "--device cuda --literal" \
            "--device cuda --dtype bf16 --tolerance 10" "--device cuda --dtype f16 --tolerance 10"; do
  echo "== engram_parity $args" | tee -a "$out/parity.log"
  ./build/gpu/tests/engram_parity "$case" $args 2>&1 | grep -v "\[info\]" | tee -a "$out/parity.log"
done
for dtype in f32 bf16 f16; do
  echo "== bench cuda $dtype" | tee -a "$out/bench.log"
  ./build/gpu/benchmarks/engram_bench_model --device cuda --dtype "$dtype" --repeats 20 2>&1 | tee -a "$out/bench.log"
done
