#!/usr/bin/env bash
# engram-cli's contract: exit codes 0 ok / 2 usage / 3 bad input / 4 cannot write, and plain messages.
set -u
cli=$1; shared=$2; out=$3
rm -rf "$out"; mkdir -p "$out"
source "$(dirname "$0")/cli_expect.sh"
d=$shared/data
expect 0 "orientation RAS" info "$d/ct-abdomen/example_ct_sm.nii.gz"
expect 0 "120 images" info "$d/dicom/mr-brain-120slice"
expect 0 "wrote" convert "$d/dicom/ct-abdomen-20slice-j2k" "$out/ct.nii.gz"
expect 0 "int16" info "$out/ct.nii.gz"
expect 0 "wrote" convert --labels "$d/dicom/dcmqi/liver_seg.nrrd" "$out/liver.nii.gz"
printf '1 Liver\n' > "$out/names.txt"
expect 0 "1 segments" export-seg --image "$d/dicom/dcmqi/ct-3slice" --labels "$out/liver.nii.gz" --out "$out/liver.dcm" --segment-names "$out/names.txt"
# DICOM-SEG in: ours (round trip, voxel-exact) and dcmqi's, onto the series they segment.
expect 0 "wrote" convert "$out/liver.dcm" "$out/liver-back.nii.gz" --reference "$d/dicom/dcmqi/ct-3slice"
expect 0 "wrote" convert "$d/dicom/dcmqi/liver.dcm" "$out/dcmqi-liver.nii.gz" --reference "$d/dicom/dcmqi/ct-3slice"
/usr/bin/python3 - "$out/liver.nii.gz" "$out/liver-back.nii.gz" "$out/dcmqi-liver.nii.gz" <<'PY' || { echo "FAIL: SEG round trip"; fail=$((fail+1)); }
import sys, nibabel as nib, numpy as np
a, b, c = (nib.load(p) for p in sys.argv[1:])
assert np.allclose(a.affine, b.affine, atol=1e-3) and np.allclose(a.affine, c.affine, atol=1e-3)
assert np.array_equal(np.asarray(a.dataobj) > 0, np.asarray(b.dataobj) > 0), "our SEG does not round-trip"
assert np.asarray(c.dataobj).max() == 1 and (np.asarray(c.dataobj) > 0).sum() > 1000, "dcmqi's liver is missing"
PY
expect 0 "3106 voxels belong to more than one segment" info "$d/dicom/dcmqi/partial_overlaps.dcm" --reference "$d/dicom/dcmqi/ct-3slice"
# A SEG whose segments overlap is refused plainly, or converted with each overlap a label of its own; the
# label tables beside the NIfTI carry the SEG's names, colours and codes.
po="$d/dicom/dcmqi/partial_overlaps.dcm --reference $d/dicom/dcmqi/ct-3slice"
expect 3 "--overlaps separate" convert $po "$out/po.nii.gz"
[ ! -e "$out/po.nii.gz" ] || { echo "FAIL: a refused SEG conversion left a file"; fail=$((fail+1)); }
expect 2 "--overlaps takes separate or first" convert $po "$out/po.nii.gz" --overlaps last
expect 0 "each overlap has a label of its own" convert $po "$out/po.nii.gz" --overlaps separate
grep -q '"GREEN + ORANGE"' "$out/po_labels.txt" 2>/dev/null || { echo "FAIL: no ITK-SNAP label table"; fail=$((fail+1)); }
grep -q '^2,ORANGE,216,101,79,255,SCT,85756007,Tissue,SCT,51114001,Artery$' "$out/po_ColorTable.csv" 2>/dev/null \
    || { echo "FAIL: no Slicer colour table with the SEG's codes"; fail=$((fail+1)); }
expect 0 "each keeps the first segment's label" convert $po "$out/po-first.nii.gz" --overlaps first
expect 2 "needs --reference" convert "$d/dicom/dcmqi/liver.dcm" "$out/no.nii.gz"
expect 3 "" convert "$d/dicom/dcmqi/liver.dcm" "$out/no.nii.gz" --reference "$d/dicom/ct-abdomen-20slice"
expect 0 "10 passed, 0 failed" check-parity "$shared/parity/sam-med3d-tiny-seed1.safetensors"
expect 3 "not a safetensors file" check-parity "$out/names.txt"
expect 2 "usage" frobnicate
expect 2 "missing --out" export-seg --image "$d/dicom/dcmqi/ct-3slice" --labels "$out/liver.nii.gz"
expect 3 "does not exist" info "$out/nothing.nii.gz"
expect 3 "grids differ" export-seg --image "$d/dicom/dcmqi/ct-3slice" --labels "$d/ct-abdomen/example_seg.nii.gz" --out "$out/x.dcm"
# A label map of the DICOM CT as dcm2niix/nibabel store it (y reversed: LAS for the series' LPS) is the same
# grid: it is mapped exactly and exported.
expect 0 "wrote" convert "$d/dicom/ct-abdomen-20slice" "$out/ct20.nii.gz"
/usr/bin/python3 - "$out/ct20.nii.gz" "$out/ct20-las-labels.nii.gz" <<'PY'
import sys, nibabel as nib, numpy as np
img = nib.load(sys.argv[1])
data = np.asarray(img.dataobj)
labels = (data > 100).astype(np.uint8)[:, ::-1, :]
affine = img.affine.copy()
affine[:, 3] = img.affine @ np.array([0, data.shape[1] - 1, 0, 1])
affine[:, 1] = -img.affine[:, 1]
out = nib.Nifti1Image(labels, affine)
assert nib.aff2axcodes(affine) != nib.aff2axcodes(img.affine)
nib.save(out, sys.argv[2])
PY
expect 0 "1 segments" export-seg --image "$d/dicom/ct-abdomen-20slice" --labels "$out/ct20-las-labels.nii.gz" --out "$out/ct20-seg.dcm"
# pydicom reads that SEG back: one frame per labelled slice, at that slice's position, holding its labels.
/usr/bin/python3 - "$out/ct20.nii.gz" "$out/ct20-seg.dcm" <<'PY' || { echo "FAIL: pydicom read-back of the SEG"; fail=$((fail+1)); }
import sys, nibabel as nib, numpy as np, pydicom
img = nib.load(sys.argv[1])
labels = np.asarray(img.dataobj) > 100
seg = pydicom.dcmread(sys.argv[2])
frames = seg.pixel_array.reshape(-1, seg.Rows, seg.Columns)
inv = np.linalg.inv(img.affine)
seen = set()
for frame, item in zip(frames, seg.PerFrameFunctionalGroupsSequence):
    lps = np.array(item.PlanePositionSequence[0].ImagePositionPatient, float)
    ijk = inv @ np.array([-lps[0], -lps[1], lps[2], 1])
    k = int(round(ijk[2]))
    assert np.allclose(ijk[:3], [0, 0, k], atol=1e-3), f"frame at {lps} is not on a slice origin"
    assert np.array_equal(frame.astype(bool), labels[:, :, k].T), f"frame of slice {k} differs"
    seen.add(k)
assert len(frames) == int(seg.NumberOfFrames)
assert seen == {k for k in range(labels.shape[2]) if labels[:, :, k].any()}, "labelled slices without a frame"
PY
expect 4 "does not exist" convert "$d/ct-abdomen/example_ct_sm.nii.gz" "$out/no/such/dir/x.nii.gz"
expect 4 "unsupported file type" convert "$d/ct-abdomen/example_ct_sm.nii.gz" "$out/x.png"
[ ! -e "$out/x.dcm" ] || { echo "FAIL: a failed export left a file"; fail=$((fail+1)); }

# Segment statistics on the real CT and its TotalSegmentator labels (41 structures, names value<TAB>name).
ct=$d/ct-abdomen
stats="stats --image $ct/example_ct_sm.nii.gz --labels $ct/example_seg.nii.gz --names $ct/labels_total.txt"
expect 0 "mL" $stats
expect 0 "liver" $stats --csv "$out/stats.csv"
head -1 "$out/stats.csv" 2>/dev/null | grep -q "^label,name,voxels,volume_ml," || { echo "FAIL: stats.csv has no header line"; fail=$((fail+1)); }
lines=$(wc -l < "$out/stats.csv" 2>/dev/null || echo 0)
[ "$lines" -eq 42 ] || { echo "FAIL: stats.csv has $lines lines, expected 1 + 41 segments"; fail=$((fail+1)); }
expect 3 "grids differ" stats --image "$ct/example_ct_sm.nii.gz" --labels "$ct/example_ct_totalseg_vertebrae.nii.gz" --csv "$out/z.csv"
# Labels on another grid (the 30-slice crop's on the 112-slice CT) only when asked, by nearest neighbour.
expect 3 "--resample nearest" stats --image "$ct/example_ct.nii.gz" --labels "$ct/example_seg.nii.gz"
expect 0 "0 labelled voxels lay outside" stats --image "$ct/example_ct.nii.gz" --labels "$ct/example_seg.nii.gz" --resample nearest
expect 0 "liver" stats --image "$ct/example_ct.nii.gz" --labels "$ct/example_seg.nii.gz" --resample nearest --names "$ct/labels_total.txt"
expect 2 "--resample takes nearest" stats --image "$ct/example_ct_sm.nii.gz" --labels "$ct/example_seg.nii.gz" --resample linear
expect 3 "does not exist" stats --image "$out/nothing.nii.gz" --labels "$ct/example_seg.nii.gz"
expect 2 "missing --labels" stats --image "$ct/example_ct_sm.nii.gz"
[ ! -e "$out/z.csv" ] || { echo "FAIL: failed statistics left a CSV"; fail=$((fail+1)); }

# Training and evaluation, unit-sized, on a real MR with its real labels (spleen 1, liver 5).
mr="--image $d/mr-abdomen/example_mr_sm.nii.gz --labels $d/mr-abdomen/example_seg_mr.nii.gz --targets 1,5"
expect 0 "trained 2 epochs x 3 samples on 2 targets" train $mr --architecture tiny --epochs 2 --samples 3 --clicks 2 --out "$out/tiny.safetensors"
expect 0 "epoch   3/3" train $mr --resume "$out/tiny.safetensors.ckpt" --epochs 3 --samples 3 --clicks 2 --out "$out/tiny3.safetensors"
expect 0 "Dice@3" evaluate --model "$out/tiny.safetensors" $mr --clicks 3 --rule centre --methods mais,none,region-growing --csv "$out/eval.csv" --plot "$out/eval.png"
lines=$(wc -l < "$out/eval.csv" 2>/dev/null || echo 0)
[ "$lines" -eq 19 ] || { echo "FAIL: eval.csv has $lines lines, expected 1 + 2 targets x 3 methods x 3 clicks"; fail=$((fail+1)); }
head -c 8 "$out/eval.png" 2>/dev/null | od -An -tx1 | grep -q "89 50 4e 47" || { echo "FAIL: eval.png is not a PNG"; fail=$((fail+1)); }
printf 'example_mr_sm.nii.gz example_seg_mr.nii.gz colour=red\n' > "$out/bad-list.txt"
expect 3 "unknown option 'colour=red'" train --data "$out/bad-list.txt" --architecture tiny --out "$out/x.safetensors"
printf '%s %s slices=5:90\n' "$d/mr-abdomen/example_mr_sm.nii.gz" "$d/mr-abdomen/example_seg_mr.nii.gz" > "$out/slices.txt"
sed -i "s|^$d|$(realpath --relative-to="$out" "$d")|; s| $d| $(realpath --relative-to="$out" "$d")|" "$out/slices.txt"
expect 3 "lie outside its 20 slices" train --data "$out/slices.txt" --architecture tiny --out "$out/x.safetensors"
expect 3 "no target label has at least" train --image "$d/mr-abdomen/example_mr_sm.nii.gz" --labels "$d/mr-abdomen/example_seg_mr.nii.gz" --targets 99 --architecture tiny --out "$out/x.safetensors"
expect 3 "--targets: 'x' is not a label value" train --image "$d/mr-abdomen/example_mr_sm.nii.gz" --labels "$d/mr-abdomen/example_seg_mr.nii.gz" --targets 1,x --architecture tiny --out "$out/x.safetensors"
expect 2 "unknown click rule" train $mr --rule middle --out "$out/x.safetensors"
expect 2 "unknown method 'magic'" evaluate --model "$out/tiny.safetensors" $mr --methods mais,magic
expect 2 "needs --model" evaluate $mr --methods mais
# The classical methods need no model file.
expect 0 "grow-from-seeds" evaluate $mr --clicks 3 --rule centre
expect 3 "not a safetensors file" evaluate --model "$out/bad-list.txt" $mr --methods none
[ ! -e "$out/x.safetensors" ] || { echo "FAIL: a failed training left a model file"; fail=$((fail+1)); }

# Slice propagation: a unit-sized propagator training on the same MR, its evaluation, a propagation.
expect 0 "trained 2 epochs x 2 sequences on 2 targets" train-propagator $mr --epochs 2 --samples 2 --sequence 3 --out "$out/prop.safetensors"
expect 0 "absent clean" evaluate-propagation --model "$out/prop.safetensors" $mr --methods slm,plain --csv "$out/prop.csv"
lines=$(wc -l < "$out/prop.csv" 2>/dev/null || echo 0)
[ "$lines" -eq 5 ] || { echo "FAIL: prop.csv has $lines lines, expected 1 + 2 targets x 2 methods"; fail=$((fail+1)); }
expect 0 "label 5 on slices" propagate --model "$out/prop.safetensors" $mr --label 5 --slice 10 --out "$out/prop-liver.nii.gz"
expect 0 "values 0 .. 5" info "$out/prop-liver.nii.gz"
expect 3 "lies outside the volume's 20 slices" propagate --model "$out/prop.safetensors" $mr --label 5 --slice 20 --out "$out/y.nii.gz"
expect 3 "is empty" propagate --model "$out/prop.safetensors" $mr --label 99 --slice 10 --out "$out/y.nii.gz"
expect 2 "--axis must be" propagate --model "$out/prop.safetensors" $mr --label 5 --slice 10 --axis oblique --out "$out/y.nii.gz"
expect 2 "unknown method 'best'" evaluate-propagation --model "$out/prop.safetensors" $mr --methods slm,best
expect 0 "grow-from-seeds" evaluate-propagation $mr
expect 2 "needs --model" evaluate-propagation $mr --methods slm,copy
expect 3 "not a safetensors file" propagate --model "$out/bad-list.txt" $mr --label 5 --slice 10 --out "$out/y.nii.gz"
# The slicenet family: a unit-sized run, its evaluation in every memory mode, and the bundled default
# propagator when no --model is given.
expect 0 "trained 2 steps" train-slicenet $mr --steps 2 --batch 2 --sequence 3 --crop 16 --widths 4,8,16 --out "$out/sn.safetensors"
expect 0 "self-sorting" evaluate-propagation --model "$out/sn.safetensors" $mr --methods slm,plain,self-sorting
expect 2 "out of range" train-slicenet $mr --crop 20 --out "$out/sn2.safetensors"
expect 0 "label 5 on slices" propagate $mr --label 5 --slice 10 --out "$out/default-liver.nii.gz"
[ ! -e "$out/y.nii.gz" ] || { echo "FAIL: a failed propagation left a file"; fail=$((fail+1)); }
echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
