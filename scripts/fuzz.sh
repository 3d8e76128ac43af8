#!/usr/bin/env bash
# Runs each libFuzzer target (tests/fuzz, preset fuzz) for a given time on its seed corpus, and prints one
# line per target: executions, executions per second, corpus size, findings. A crash, sanitizer report,
# timeout or out-of-memory leaves its input in build/fuzz/findings/<target>/ and makes the script fail.
# Seeds come from ../shared/data (small files whole, headers cut from big ones) and from files the project
# writes itself (dataset lists, scripts, a session the tests wrote, a tiny model file made here); they are
# assembled under build/fuzz/corpus, never committed.
# usage: scripts/fuzz.sh <seconds per target> [target ...]   (default: every target)
# ENGRAM_FUZZ_SEED=<n> makes the mutations repeatable (CI uses 1, so a red run can be reproduced).
set -uo pipefail
cd "$(dirname "$0")/.."
seconds=${1:?usage: scripts/fuzz.sh <seconds per target> [target ...]}
shift
build=build/fuzz
shared=${ENGRAM_SHARED_DIR:-../shared}/data
all=(fuzz_nifti fuzz_nrrd fuzz_mha fuzz_mgh fuzz_dicom fuzz_dicom_seg fuzz_session fuzz_safetensors
     fuzz_dataset_list fuzz_script)
if [ $# -gt 0 ]; then targets=("$@"); else targets=("${all[@]}"); fi

seed() {  # seed <target> <file> [bytes]: a whole file, or its first bytes (decompressed when gzip)
  local dir=$build/corpus/$1 name; name=$(basename "$2")
  mkdir -p "$dir"
  if [ -n "${3:-}" ]; then
    if gzip -t "$2" 2>/dev/null; then gzip -dc "$2" | head -c "$3" > "$dir/$name.head"
    else head -c "$3" "$2" > "$dir/$name.head"; fi
  else
    cp "$2" "$dir/$name"
  fi
}

make_corpora() {
  rm -rf "$build/corpus"
  for f in "$shared"/mr-misc/*label*.nii.gz "$shared"/mr-misc/sct_spine_t2_cord.nii.gz; do seed fuzz_nifti "$f"; done
  seed fuzz_nifti "$shared/ct-abdomen/example_ct_sm.nii.gz" 65536
  seed fuzz_nifti "$shared/brain-mr/FLAIR.nii.gz" 4096
  for f in "$shared"/dicom/dcmqi/*.nrrd "$shared"/dicom/dcmqi/24x38x3/nrrd/*.nrrd; do seed fuzz_nrrd "$f"; done
  seed fuzz_mgh "$shared/brain-mr/norm.mgz" 65536
  seed fuzz_mgh "$shared/brain-mr/aparc.a2009s+aseg.mgz" 32768
  # MetaImage: the project's own tiny files (a 4x3x2 volume, inline and as a header to a missing .raw).
  mkdir -p "$build/corpus/fuzz_mha"
  { printf 'ObjectType = Image\nNDims = 3\nBinaryData = True\nBinaryDataByteOrderMSB = False\n'
    printf 'TransformMatrix = 1 0 0 0 1 0 0 0 1\nOffset = 0 0 0\nElementSpacing = 1 1 2\nDimSize = 4 3 2\n'
    printf 'ElementType = MET_SHORT\nElementDataFile = LOCAL\n'; head -c 48 /dev/zero; } > "$build/corpus/fuzz_mha/small.mha"
  sed 's/LOCAL/missing.raw/' "$build/corpus/fuzz_mha/small.mha" | head -c 300 > "$build/corpus/fuzz_mha/header.mha"
  for f in "$shared"/dicom/dcmqi/ct-3slice/01.dcm "$shared"/dicom/highdicom/pydicom_ref_CT_small.dcm \
           "$shared"/dicom/mr-brain-120slice/$(ls "$shared/dicom/mr-brain-120slice" | head -1) \
           "$shared"/dicom/ct-abdomen-20slice-j2k/$(ls "$shared/dicom/ct-abdomen-20slice-j2k" | head -1); do
    seed fuzz_dicom "$f"
  done
  for f in "$shared"/dicom/dcmqi/*.dcm "$shared"/dicom/highdicom/seg_*.dcm; do seed fuzz_dicom_seg "$f"; done
  mkdir -p "$build/corpus/fuzz_session"
  for f in build/dev/test-out/session-bad/good.engram build/dev/test-out/session-bad/cut.engram; do
    [ -f "$f" ] && cp "$f" "$build/corpus/fuzz_session/"
  done
  printf '{"format": "engram-session", "version": 1, "volume": {"path": "ct.nii.gz", "grid": {"size": [2, 2, 1], "spacing": [1, 1, 1], "origin": [0, 0, 0], "direction": [1, 0, 0, 0, 1, 0, 0, 0, 1]}}, "segments": [{"label": 1, "name": "Liver", "color": [1, 2, 3]}], "labels": {"encoding": "rle-leb128+qcompress+base64", "voxels": 4, "data": ""}, "history": []}' \
    > "$build/corpus/fuzz_session/minimal.engram"
  # A tiny model file: two tensors and metadata, written here.
  /usr/bin/python3 - "$build/corpus/fuzz_safetensors/tiny.safetensors" <<'PY'
import json, os, struct, sys
os.makedirs(os.path.dirname(sys.argv[1]), exist_ok=True)
header = {"w": {"dtype": "F16", "shape": [2, 3], "data_offsets": [0, 12]},
          "b": {"dtype": "F32", "shape": [3], "data_offsets": [12, 24]},
          "__metadata__": {"engram.family": "clicknet", "engram.config": "{}"}}
h = json.dumps(header).encode()
with open(sys.argv[1], "wb") as f:
    f.write(struct.pack("<Q", len(h)) + h + bytes(24))
PY
  for f in resources/datasets/*.txt; do seed fuzz_dataset_list "$f"; done
  seed fuzz_dataset_list "$shared/ct-abdomen/labels_total.txt"
  for f in docs/images/*.json tests/scripts/app/*.json; do [ -f "$f" ] && seed fuzz_script "$f"; done
}

make_corpora
status=0
printf '%-20s %12s %10s %8s %s\n' target executions exec/s corpus findings
for t in "${targets[@]}"; do
  bin=$build/tests/fuzz/$t
  [ -x "$bin" ] || { echo "$t: not built (cmake --preset fuzz && cmake --build --preset fuzz)"; status=1; continue; }
  rm -rf "$build/findings/$t"
  mkdir -p "$build/findings/$t" "$build/runs/$t"
  log=$build/runs/$t/log.txt
  ASAN_OPTIONS=detect_leaks=0:allocator_may_return_null=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
    "$bin" ${ENGRAM_FUZZ_SEED:+-seed=$ENGRAM_FUZZ_SEED} -max_total_time="$seconds" -timeout=10 -rss_limit_mb=3072 -max_len=1048576 -print_final_stats=1 \
    -artifact_prefix="$build/findings/$t/" "$build/runs/$t" "$build/corpus/$t" > "$log" 2>&1
  rc=$?
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$')
  speed=$(grep -o 'stat::average_exec_per_sec: *[0-9]*' "$log" | grep -o '[0-9]*$')
  corpus=$(ls "$build/runs/$t" | wc -l)
  found=$(ls "$build/findings/$t" | wc -l)
  printf '%-20s %12s %10s %8s %s\n' "$t" "${execs:-?}" "${speed:-?}" "$corpus" "$found"
  if [ $rc -ne 0 ] || [ "$found" -ne 0 ]; then
    status=1
    grep -E "ERROR|SUMMARY|runtime error|==[0-9]+==" "$log" | head -8
  fi
done
exit $status
