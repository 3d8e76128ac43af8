#!/usr/bin/env bash
# engram-cli's contract: exit codes 0 ok / 2 usage / 3 bad input / 4 cannot write, and plain messages.
set -u
cli=$1; shared=$2; out=$3
rm -rf "$out"; mkdir -p "$out"
fail=0; pass=0
expect() {  # expect <code> <text in output> <args...>
  local code=$1 text=$2; shift 2
  local output; output=$("$cli" "$@" 2>&1); local rc=$?
  if [ $rc -ne "$code" ] || ! grep -qF -- "$text" <<<"$output"; then
    echo "FAIL: engram-cli $* -> exit $rc (expected $code, text '$text')"; echo "$output" | head -5; fail=$((fail+1))
  else pass=$((pass+1)); fi
}
d=$shared/data
expect 0 "orientation RAS" info "$d/ct-abdomen/example_ct_sm.nii.gz"
expect 0 "120 images" info "$d/dicom/mr-brain-120slice"
expect 0 "wrote" convert "$d/dicom/ct-abdomen-20slice-j2k" "$out/ct.nii.gz"
expect 0 "int16" info "$out/ct.nii.gz"
expect 0 "wrote" convert --labels "$d/dicom/dcmqi/liver_seg.nrrd" "$out/liver.nii.gz"
printf '1 Liver\n' > "$out/names.txt"
expect 0 "1 segments" export-seg --image "$d/dicom/dcmqi/ct-3slice" --labels "$out/liver.nii.gz" --out "$out/liver.dcm" --segment-names "$out/names.txt"
expect 0 "10 passed, 0 failed" check-parity "$shared/parity/sam-med3d-tiny-seed1.safetensors"
expect 3 "not a safetensors file" check-parity "$out/names.txt"
expect 2 "usage" frobnicate
expect 2 "missing --out" export-seg --image "$d/dicom/dcmqi/ct-3slice" --labels "$out/liver.nii.gz"
expect 3 "does not exist" info "$out/nothing.nii.gz"
expect 3 "grids differ" export-seg --image "$d/dicom/dcmqi/ct-3slice" --labels "$d/ct-abdomen/example_seg.nii.gz" --out "$out/x.dcm"
expect 4 "does not exist" convert "$d/ct-abdomen/example_ct_sm.nii.gz" "$out/no/such/dir/x.nii.gz"
expect 4 "unsupported file type" convert "$d/ct-abdomen/example_ct_sm.nii.gz" "$out/x.png"
[ ! -e "$out/x.dcm" ] || { echo "FAIL: a failed export left a file"; fail=$((fail+1)); }
echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
