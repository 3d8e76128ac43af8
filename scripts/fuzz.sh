#!/usr/bin/env bash
# Runs each libFuzzer target (tests/fuzz, preset fuzz) for a given time on its seed corpus, and prints one
# line per target: executions, executions per second, corpus size, findings. A crash, sanitizer report,
# timeout or out-of-memory leaves its input in build/fuzz/findings/<target>/ (build/fuzz/ci-findings for
# `ci`) and makes the script fail; slow units are kept there too, and only counted.
# Seeds come from ../shared/data (small files whole, headers cut from big ones) and from files the project
# writes itself (dataset lists, scripts, a session the tests wrote, a tiny model file made here); they are
# assembled under build/fuzz/corpus, never committed.
# usage: scripts/fuzz.sh <seconds per target> [target ...]   (default: every target)
#        scripts/fuzz.sh cpu=<seconds> [target ...]
#        scripts/fuzz.sh ci [target ...]
# <seconds> is wall time; cpu=<seconds> is the target's own CPU time (utime + stime, read from /proc every
# 20 s; SIGINT then makes libFuzzer print its final figures), the measure docs/RELIABILITY.md reports, so
# that a run at low priority next to builds (`nice -n 19 scripts/fuzz.sh cpu=3600 fuzz_mha`) still fuzzes
# its full budget. Several runs on different targets may go at once.
# A timed run grows build/fuzz/runs/<target> across runs; ENGRAM_FUZZ_SEED=<n> fixes its mutations.
# `ci` is CI's run (.ci/run): seed 1 and a fixed number of inputs per target (about 30 s each on the
# project's 2-core machine), from the seed corpus alone, so it tries the same inputs on every machine and a
# red CI run is reproduced exactly by running it here.
set -uo pipefail
cd "$(dirname "$0")/.."
mode=${1:?usage: scripts/fuzz.sh <seconds per target>|cpu=<seconds>|ci [target ...]}
shift
build=build/fuzz
shared=${ENGRAM_SHARED_DIR:-../shared}/data
# target -> inputs tried by `ci` (30 s at the rates measured in docs/RELIABILITY.md)
declare -A ci_runs=([fuzz_nifti]=800 [fuzz_nrrd]=1300 [fuzz_mha]=50000 [fuzz_mgh]=3000 [fuzz_dicom]=2500
                    [fuzz_dicom_seg]=900 [fuzz_session]=120000 [fuzz_safetensors]=100000
                    [fuzz_dataset_list]=70000 [fuzz_script]=120000)
all=(fuzz_nifti fuzz_nrrd fuzz_mha fuzz_mgh fuzz_dicom fuzz_dicom_seg fuzz_session fuzz_safetensors
     fuzz_dataset_list fuzz_script)
if [ $# -gt 0 ]; then targets=("$@"); else targets=("${all[@]}"); fi

seed() {  # seed <target> <file> [bytes]: a whole file, or its first bytes (decompressed when gzip)
  local dir=$staging/$1 name; name=$(basename "$2")
  mkdir -p "$dir"
  if [ -n "${3:-}" ]; then
    if gzip -t "$2" 2>/dev/null; then gzip -dc "$2" | head -c "$3" > "$dir/$name.head"
    else head -c "$3" "$2" > "$dir/$name.head"; fi
  else
    cp "$2" "$dir/$name"
  fi
}

make_corpora() {
  rm -rf "$staging"
  for f in "$shared"/mr-misc/*label*.nii.gz "$shared"/mr-misc/sct_spine_t2_cord.nii.gz; do seed fuzz_nifti "$f"; done
  seed fuzz_nifti "$shared/ct-abdomen/example_ct_sm.nii.gz" 65536
  seed fuzz_nifti "$shared/brain-mr/FLAIR.nii.gz" 4096
  for f in "$shared"/dicom/dcmqi/*.nrrd "$shared"/dicom/dcmqi/24x38x3/nrrd/*.nrrd; do seed fuzz_nrrd "$f"; done
  seed fuzz_mgh "$shared/brain-mr/norm.mgz" 65536
  seed fuzz_mgh "$shared/brain-mr/aparc.a2009s+aseg.mgz" 32768
  # MetaImage: the project's own tiny files (a 4x3x2 volume, inline and as a header to a missing .raw).
  mkdir -p "$staging/fuzz_mha"
  { printf 'ObjectType = Image\nNDims = 3\nBinaryData = True\nBinaryDataByteOrderMSB = False\n'
    printf 'TransformMatrix = 1 0 0 0 1 0 0 0 1\nOffset = 0 0 0\nElementSpacing = 1 1 2\nDimSize = 4 3 2\n'
    printf 'ElementType = MET_SHORT\nElementDataFile = LOCAL\n'; head -c 48 /dev/zero; } > "$staging/fuzz_mha/small.mha"
  sed 's/LOCAL/missing.raw/' "$staging/fuzz_mha/small.mha" | head -c 300 > "$staging/fuzz_mha/header.mha"
  for f in "$shared"/dicom/dcmqi/ct-3slice/01.dcm "$shared"/dicom/highdicom/pydicom_ref_CT_small.dcm \
           "$shared"/dicom/mr-brain-120slice/$(ls "$shared/dicom/mr-brain-120slice" | head -1) \
           "$shared"/dicom/ct-abdomen-20slice-j2k/$(ls "$shared/dicom/ct-abdomen-20slice-j2k" | head -1); do
    seed fuzz_dicom "$f"
  done
  for f in "$shared"/dicom/dcmqi/*.dcm "$shared"/dicom/highdicom/seg_*.dcm; do seed fuzz_dicom_seg "$f"; done
  mkdir -p "$staging/fuzz_session"
  for f in build/dev/test-out/session-bad/good.engram build/dev/test-out/session-bad/cut.engram; do
    [ -f "$f" ] && cp "$f" "$staging/fuzz_session/"
  done
  printf '{"format": "engram-session", "version": 1, "volume": {"path": "ct.nii.gz", "grid": {"size": [2, 2, 1], "spacing": [1, 1, 1], "origin": [0, 0, 0], "direction": [1, 0, 0, 0, 1, 0, 0, 0, 1]}}, "segments": [{"label": 1, "name": "Liver", "color": [1, 2, 3]}], "labels": {"encoding": "rle-leb128+qcompress+base64", "voxels": 4, "data": ""}, "history": []}' \
    > "$staging/fuzz_session/minimal.engram"
  # A tiny model file: two tensors and metadata, written here.
  /usr/bin/python3 - "$staging/fuzz_safetensors/tiny.safetensors" <<'PY'
import json, os, struct, sys
os.makedirs(os.path.dirname(sys.argv[1]), exist_ok=True)
header = {"w": {"dtype": "F16", "shape": [2, 3], "data_offsets": [0, 12]},
          "b": {"dtype": "F32", "shape": [3], "data_offsets": [12, 24]},
          "__metadata__": {"engram.family": "clicknet", "engram.config": "{}"}}
h = json.dumps(header).encode()
with open(sys.argv[1], "wb") as f:
    f.write(struct.pack("<Q", len(h)) + h + bytes(24))
PY
  # Tiny volumes written here (4x3x2 voxels): the big seeds above carry the formats' variety, these keep
  # the image readers at hundreds of executions a second.
  /usr/bin/python3 - "$staging" <<'PY'
import gzip, os, sys, zlib
import numpy as np, nibabel as nib, pydicom
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, generate_uid
out = sys.argv[1]
data = np.arange(24, dtype=np.int16).reshape(4, 3, 2)
rotated = np.array([[0, -1.5, 0, 10], [1, 0, 0, -5], [0, 0, 2.5, 3], [0, 0, 0, 1]])
img = nib.Nifti1Image(data, rotated)
img.header.set_slope_inter(0.5, -10)
nib.save(img, f"{out}/fuzz_nifti/tiny-scaled.nii")
nib.save(nib.Nifti1Image((data % 3).astype(np.uint8), np.diag([1, 1, 2, 1])), f"{out}/fuzz_nifti/tiny-labels.nii.gz")
float_image = nib.Nifti1Image(data.astype(np.float32), None)
float_image.set_qform(rotated, code=1)
nib.save(float_image, f"{out}/fuzz_nifti/tiny-float-qform.nii")
nib.save(nib.MGHImage((data % 5).astype(np.uint8), rotated), f"{out}/fuzz_mgh/tiny.mgh")
nib.save(nib.MGHImage(data.astype(np.float32), np.diag([1, 1, 1, 1])), f"{out}/fuzz_mgh/tiny.mgz")
header = ("NRRD0004\ntype: short\ndimension: 3\nspace: left-posterior-superior\nsizes: 4 3 2\n"
          "space directions: (0,1.5,0) (1,0,0) (0,0,2.5)\nspace origin: (10,-5,3)\nendian: little\n")
raw = data.tobytes(order="F")
open(f"{out}/fuzz_nrrd/tiny-raw.nrrd", "wb").write((header + "encoding: raw\n\n").encode() + raw)
open(f"{out}/fuzz_nrrd/tiny-gzip.nrrd", "wb").write((header + "encoding: gzip\n\n").encode() + gzip.compress(raw))
packed = zlib.compress(data.tobytes(order="F"))
open(f"{out}/fuzz_mha/tiny-compressed.mha", "wb").write(
    ("ObjectType = Image\nNDims = 3\nBinaryData = True\nCompressedData = True\n"
     f"CompressedDataSize = {len(packed)}\nTransformMatrix = 0 1 0 -1 0 0 0 0 1\nOffset = 10 -5 3\n"
     "ElementSpacing = 1.5 1 2.5\nDimSize = 4 3 2\nElementType = MET_SHORT\nElementDataFile = LOCAL\n").encode()
    + packed)
meta = FileMetaDataset()
meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.2"
meta.MediaStorageSOPInstanceUID = generate_uid()
meta.TransferSyntaxUID = ExplicitVRLittleEndian
ds = Dataset()
ds.file_meta = meta
ds.SOPClassUID, ds.SOPInstanceUID = meta.MediaStorageSOPClassUID, meta.MediaStorageSOPInstanceUID
ds.Modality, ds.PatientName, ds.PatientID = "CT", "Fuzz^Tiny", "F1"
ds.StudyInstanceUID, ds.SeriesInstanceUID = generate_uid(), generate_uid()
ds.ImagePositionPatient, ds.ImageOrientationPatient = [0, 0, 0], [1, 0, 0, 0, 1, 0]
ds.PixelSpacing, ds.SliceThickness, ds.InstanceNumber = [0.5, 0.5], 1, 1
ds.Rows, ds.Columns, ds.SamplesPerPixel, ds.PhotometricInterpretation = 4, 4, 1, "MONOCHROME2"
ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 1
ds.RescaleSlope, ds.RescaleIntercept = 1, -1024
ds.PixelData = np.arange(16, dtype=np.int16).tobytes()
ds.is_little_endian, ds.is_implicit_VR = True, False
ds.save_as(f"{out}/fuzz_dicom/tiny-ct.dcm", write_like_original=False)
PY
  for f in resources/datasets/*.txt; do seed fuzz_dataset_list "$f"; done
  seed fuzz_dataset_list "$shared/ct-abdomen/labels_total.txt"
  for f in docs/images/*.json tests/scripts/app/*.json; do [ -f "$f" ] && seed fuzz_script "$f"; done
}

# The corpora are assembled in this run's own folder, then each requested target's is swapped in, so that a
# run never rebuilds the corpus another run is reading.
staging=$build/corpus.$$
make_corpora
for t in "${targets[@]}"; do
  mkdir -p "$build/corpus" "$staging/$t"
  rm -rf "$build/corpus/$t" && mv "$staging/$t" "$build/corpus/$t"
done
rm -rf "$staging"

cpu_seconds() {  # cpu_seconds <pid>: its utime + stime in seconds; nothing once it has ended
  local stat
  stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 0
  stat=${stat##*) }  # the fields after the command name, which may hold spaces
  set -- $stat
  [ "$1" != Z ] || return 0  # ended, not yet waited for
  echo $(( (${12} + ${13}) / $(getconf CLK_TCK) ))
}

status=0
printf '%-20s %12s %10s %8s %8s %s\n' target executions exec/s corpus "cpu s" findings
for t in "${targets[@]}"; do
  bin=$build/tests/fuzz/$t
  [ -x "$bin" ] || { echo "$t: not built (cmake --preset fuzz && cmake --build --preset fuzz)"; status=1; continue; }
  findings=$build/findings  # ci keeps its own, so that it can run beside a long run of the same target
  [ "$mode" = ci ] && findings=$build/ci-findings
  rm -rf "${findings:?}/$t"
  if [ "$mode" = ci ]; then
    runs=$build/ci-runs/$t
    rm -rf "$runs"
    budget=(-seed=1 -runs="${ci_runs[$t]}" -timeout=30)
  else
    # a long run allows a slow unit a minute: at low priority next to a build, 30 s of wall time is not a hang
    runs=$build/runs/$t
    budget=(${ENGRAM_FUZZ_SEED:+-seed=$ENGRAM_FUZZ_SEED} -timeout=60)
    [[ $mode == cpu=* ]] || budget+=(-max_total_time="$mode")
  fi
  # A dictionary of the format's keywords (tests/fuzz/dict), where one is written: mutations seldom invent
  # "CompressedDataSize = " byte by byte.
  [ -f "tests/fuzz/dict/$t.dict" ] && budget+=(-dict="tests/fuzz/dict/$t.dict")
  mkdir -p "$findings/$t" "$runs"
  log=$findings/$t.log
  ASAN_OPTIONS=detect_leaks=0:allocator_may_return_null=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
    "$bin" "${budget[@]}" -rss_limit_mb=3072 -max_len=1048576 -print_final_stats=1 \
    -artifact_prefix="$findings/$t/" "$runs" "$build/corpus/$t" > "$log" 2>&1 &
  pid=$!
  used=-
  if [[ $mode == cpu=* ]]; then
    while now=$(cpu_seconds $pid) && [ -n "$now" ]; do
      used=$now
      if [ "$used" -ge "${mode#cpu=}" ]; then kill -INT $pid; break; fi
      sleep 20
    done
  fi
  wait $pid
  rc=$?
  execs=$(grep -ao 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$')
  speed=$(grep -ao 'stat::average_exec_per_sec: *[0-9]*' "$log" | grep -o '[0-9]*$')
  corpus=$(ls "$runs" | wc -l)
  # A slow unit (over 10 s, libFuzzer's -report_slow_units) is kept for a look but is no finding: at nice 19
  # next to a build a unit's wall time says little; a hang is a timeout (60 s), reported as a finding.
  found=$(ls "$findings/$t" | grep -cv '^slow-unit-')
  slow=$(ls "$findings/$t" | grep -c '^slow-unit-')
  printf '%-20s %12s %10s %8s %8s %s\n' "$t" "${execs:-?}" "${speed:-?}" "$corpus" "$used" \
    "$found$([ "$slow" -eq 0 ] || echo " (+$slow slow units)")"
  if [ $rc -ne 0 ] || [ "$found" -ne 0 ]; then
    status=1
    grep -aE "ERROR|SUMMARY|runtime error|==[0-9]+==" "$log" | head -8
  fi
done
exit $status
