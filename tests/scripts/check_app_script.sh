#!/bin/bash
# The scripted mode end to end: demo volume, manual tools, AI clicks, an AI preview discarded and one
# accepted, undo/redo, exports (one refused), session save, fine-tuning on it and clicking with the result,
# bad input, and a screenshot. Then the session
# reopens with the same labels.
# usage: check_app_script.sh <engram> <scripts-dir> <model> <out-dir> <shared-dir>
set -euo pipefail
engram=$1 scripts=$2 model=$3 out=$4 shared=$5
rm -rf "$out" && mkdir -p "$out"
export XDG_CONFIG_HOME="$out/config" XDG_DATA_HOME="$out/data"
printf 'not a volume' | gzip > "$out/corrupt.nii.gz"
sed "s#\${OUT}#$out#g" "$scripts/demo.json" > "$out/demo.json"
"$engram" --demo --model "$model" --recovery-dir "$out/recovery" --script "$out/demo.json" \
    --screenshot "$out/final.png" > "$out/log.txt" 2>&1 || { cat "$out/log.txt"; echo "FAIL: script"; exit 1; }
grep -q "script finished" "$out/log.txt"
# Fine-tuned on the open document and the saved session, then the app switched to the new model.
grep -q "Fine-tuned on" "$out/log.txt"
grep -q "AI model in use: .*tuned.safetensors" "$out/log.txt"
for f in labels.nii.gz demo.engram tuned.safetensors step.png final.png; do
    [ -s "$out/$f" ] || { echo "FAIL: $f missing"; exit 1; }
done
[ ! -e "$out/labels.dcm" ] || { echo "FAIL: a refused export left a file"; exit 1; }
# A screenshot of a 1440x900 window with images in it is far from blank.
[ "$(stat -c %s "$out/final.png")" -gt 100000 ] || { echo "FAIL: screenshot looks empty"; exit 1; }
# A clean exit leaves no recovery file.
[ -z "$(ls "$out/recovery"/*.engram 2>/dev/null)" ] || { echo "FAIL: recovery file left after a clean exit"; exit 1; }
# The saved session opens again with its labels and history.
echo '[{"do": "expect", "segment": "Liver", "minVoxels": 20, "historyEntries": 6}]' > "$out/reopen.json"
"$engram" "$out/demo.engram" --model "$model" --recovery-dir "$out/recovery" --script "$out/reopen.json" \
    > "$out/reopen.txt" 2>&1 || { cat "$out/reopen.txt"; echo "FAIL: session reopen"; exit 1; }
# A script that names an unknown action fails with status 1 and says which step.
echo '[{"do": "fly"}]' > "$out/bad.json"
if "$engram" --demo --model "$model" --recovery-dir "$out/recovery" --script "$out/bad.json" > "$out/bad.txt" 2>&1; then
    echo "FAIL: unknown action accepted"; exit 1
fi
grep -q 'step 1 (fly): unknown action' "$out/bad.txt"
# Worker errors: a damaged model file is reported and clicks that ask for the model are refused with a
# message; the AI click tool grows from seeds instead, and the manual and segment tools go on working.
head -c 5000 "$model" > "$out/damaged.safetensors"
cat > "$out/no-ai.json" <<JSON
[{"do": "click", "voxel": [81, 38, 90], "method": "model", "expectError": true},
 {"do": "click", "voxel": [81, 38, 90], "segment": "Kidney", "method": "grow-from-seeds"},
 {"do": "click", "voxel": [81, 38, 88], "segment": "Kidney"},
 {"do": "expect", "segment": "Kidney", "minVoxels": 200, "previewClicks": 2},
 {"do": "accept"},
 {"do": "segment-tool", "segment": "Kidney", "tool": "grow", "value": 3},
 {"do": "segment-tool", "segment": "Kidney", "tool": "shrink", "value": 3, "slice": true, "voxel": [81, 38, 90]},
 {"do": "segment-tool", "segment": "Kidney", "tool": "remove-small-islands", "value": 100000},
 {"do": "expect", "segment": "Kidney", "maxVoxels": 0, "historyEntries": 5},
 {"do": "undo"},
 {"do": "expect", "segment": "Kidney", "minVoxels": 200},
 {"do": "segment-tool", "segment": "Kidney", "tool": "spin", "expectError": true},
 {"do": "segment-tool", "segment": "Empty", "tool": "fill-holes", "expectError": true},
 {"do": "fill", "voxel": [81, 58, 96], "low": 10, "high": 80, "segment": "Liver"},
 {"do": "fill", "voxel": [81, 58, 101], "low": 10, "high": 80, "segment": "Liver"},
 {"do": "segment-tool", "segment": "Liver", "tool": "fill-between-slices", "axis": "axial"},
 {"do": "expect", "segment": "Liver", "minVoxels": 100, "previewClicks": 1},
 {"do": "discard"},
 {"do": "expect", "previewClicks": 0},
 {"do": "segment", "name": "Vertebra"},
 {"do": "combine", "path": "$shared/data/ct-abdomen/example_ct_totalseg_vertebrae.nii.gz", "label": 29, "operation": "union"},
 {"do": "expect", "segment": "Vertebra", "minVoxels": 100},
 {"do": "combine", "path": "$shared/data/ct-abdomen/example_ct_totalseg_vertebrae.nii.gz", "label": 29, "operation": "subtract"},
 {"do": "expect", "segment": "Vertebra", "maxVoxels": 0},
 {"do": "combine", "path": "$shared/data/mr-abdomen/example_seg_mr.nii.gz", "label": 1, "expectError": true}]
JSON
"$engram" --demo --model "$out/damaged.safetensors" --recovery-dir "$out/recovery" --script "$out/no-ai.json" \
    > "$out/no-ai.txt" 2>&1 || { cat "$out/no-ai.txt"; echo "FAIL: damaged model"; exit 1; }
grep -q "AI engine: .*damaged.safetensors" "$out/no-ai.txt" || { cat "$out/no-ai.txt"; echo "FAIL: no message for the damaged model"; exit 1; }
# Segmentations made elsewhere open onto the volume (File > Open Segmentation, or dropped on the window):
# dcmqi's DICOM-SEGs on their CT (names from the SEG; its overlapping segments kept first, refused, or each
# overlap a segment of its own), label files on the demo CT (one on another grid only when resampled); a SEG
# of another series is refused. A NIfTI export's label tables give the segments their names back.
cat > "$out/open-seg.json" <<JSON
[{"do": "drop", "path": "$shared/data/dicom/dcmqi/ct-3slice"},
 {"do": "open-segmentation", "path": "$shared/data/dicom/dcmqi/partial_overlaps.dcm"},
 {"do": "expect", "segment": "ORANGE", "minVoxels": 100, "historyEntries": 5},
 {"do": "undo"},
 {"do": "expect", "segment": "DARK_BLUE", "maxVoxels": 0},
 {"do": "drop", "path": "$shared/data/dicom/dcmqi/liver.dcm"},
 {"do": "expect", "segment": "Liver", "minVoxels": 100},
 {"do": "open", "path": "$shared/data/dicom/dcmqi/ct-3slice"},
 {"do": "open-segmentation", "path": "$shared/data/dicom/dcmqi/partial_overlaps.dcm", "overlaps": "refuse", "expectError": true},
 {"do": "expect", "historyEntries": 0},
 {"do": "open-segmentation", "path": "$shared/data/dicom/dcmqi/partial_overlaps.dcm", "overlaps": "separate"},
 {"do": "expect", "segment": "GREEN + ORANGE + PURPLE", "minVoxels": 1, "historyEntries": 9},
 {"do": "open", "path": "$shared/data/ct-abdomen/example_ct.nii.gz"},
 {"do": "open-segmentation", "path": "$shared/data/dicom/dcmqi/liver.dcm", "expectError": true},
 {"do": "drop", "path": "$shared/data/ct-abdomen/example_ct_totalseg_vertebrae.nii.gz"},
 {"do": "expect", "segment": "example_ct_totalseg_vertebrae.nii.gz 29", "minVoxels": 100},
 {"do": "export", "path": "$out/vertebrae.nii.gz"},
 {"do": "open-segmentation", "path": "$shared/data/ct-abdomen/example_seg.nii.gz", "expectError": true},
 {"do": "open-segmentation", "path": "$shared/data/ct-abdomen/example_seg.nii.gz", "resample": "nearest"},
 {"do": "expect", "segment": "example_seg.nii.gz 5", "minVoxels": 1000},
 {"do": "open", "path": "$shared/data/ct-abdomen/example_ct.nii.gz"},
 {"do": "open-segmentation", "path": "$out/vertebrae.nii.gz"},
 {"do": "expect", "segment": "example_ct_totalseg_vertebrae.nii.gz 29", "minVoxels": 100, "historyEntries": 8},
 {"do": "open", "path": "$shared/data/brain-mr/norm.mgz"},
 {"do": "drop", "path": "$shared/data/brain-mr/aparc.a2009s+aseg.mgz"},
 {"do": "expect", "segment": "aparc.a2009s+aseg.mgz 17", "minVoxels": 1000},
 {"do": "expect", "segment": "aparc.a2009s+aseg.mgz 12175", "minVoxels": 1}]
JSON
"$engram" --recovery-dir "$out/recovery" --script "$out/open-seg.json" > "$out/open-seg.txt" 2>&1 \
    || { cat "$out/open-seg.txt"; echo "FAIL: open segmentation"; exit 1; }
# The same from the command line: engram <volume> --labels <file>.
"$engram" --demo --labels "$shared/data/ct-abdomen/example_ct_totalseg_vertebrae.nii.gz" --quit-after-load \
    --recovery-dir "$out/recovery" > "$out/labels-option.txt" 2>&1 || { cat "$out/labels-option.txt"; echo "FAIL: --labels"; exit 1; }
grep -q "opened segmentation .*vertebrae.nii.gz: 8 segments" "$out/labels-option.txt" \
    || { cat "$out/labels-option.txt"; echo "FAIL: --labels did not open the segmentation"; exit 1; }
# A DICOM folder opens through the scan (the series key is found by the folder scan).
echo "[{\"do\": \"open\", \"path\": \"$shared/data/dicom/ct-abdomen-20slice\"},
      {\"do\": \"fill\", \"voxel\": [256, 256, 10], \"low\": -2000, \"high\": 5000, \"segment\": \"All\"},
      {\"do\": \"expect\", \"segment\": \"All\", \"minVoxels\": 262144}]" > "$out/dicom.json"
"$engram" --recovery-dir "$out/recovery" --script "$out/dicom.json" > "$out/dicom.txt" 2>&1 \
    || { cat "$out/dicom.txt"; echo "FAIL: DICOM folder"; exit 1; }
# Slice propagation in the window: a unit-sized propagator (trained here on the shared MR), the Liver drawn on
# one axial slice of the demo CT, propagated up and down as one undoable step; without a propagation model
# the step is refused with a message.
cli="$(dirname "$engram")/engram-cli"
"$cli" train-propagator --image "$shared/data/mr-abdomen/example_mr_sm.nii.gz" \
    --labels "$shared/data/mr-abdomen/example_seg_mr.nii.gz" --targets 5 --epochs 1 --samples 1 --sequence 2 \
    --out "$out/propagator.safetensors" > "$out/propagator.txt" 2>&1 || { cat "$out/propagator.txt"; echo "FAIL: propagator"; exit 1; }
cat > "$out/propagate.json" <<JSON
[{"do": "fill", "voxel": [81, 58, 101], "low": 10, "high": 80, "segment": "Liver"},
 {"do": "propagate", "segment": "Liver", "voxel": [81, 58, 101], "axis": "axial", "direction": "both"},
 {"do": "expect", "segment": "Liver", "minVoxels": 100, "historyEntries": 2},
 {"do": "undo"},
 {"do": "expect", "historyEntries": 2},
 {"do": "propagate", "segment": "Liver", "voxel": [81, 58, 101], "axis": "sagittal", "direction": "up"}]
JSON
"$engram" --demo --model "$model" --propagation-model "$out/propagator.safetensors" --recovery-dir "$out/recovery" \
    --script "$out/propagate.json" --screenshot "$out/propagated.png" > "$out/propagate.txt" 2>&1 \
    || { cat "$out/propagate.txt"; echo "FAIL: propagation script"; exit 1; }
# The bundled default propagator (no --propagation-model, no settings): the demo CT's liver drawn on one
# axial slice with a threshold fill is carried through the liver (its ~38k voxels), as README's demo does.
"$engram" --demo --model "$model" --recovery-dir "$out/recovery" --script "$scripts/../../../docs/images/propagate-script.json" \
    > "$out/default-propagator.txt" 2>&1 || { cat "$out/default-propagator.txt"; echo "FAIL: default propagator"; exit 1; }
grep -q "slice propagator: .*engram-propagator-default.safetensors (slicenet" "$out/default-propagator.txt" \
    || { cat "$out/default-propagator.txt"; echo "FAIL: the default propagator was not loaded"; exit 1; }
# A propagation model that cannot be found: a message, and the Propagate step is refused.
echo '[{"do": "fill", "voxel": [81, 58, 101], "low": 10, "high": 80, "segment": "Liver"},
       {"do": "propagate", "segment": "Liver", "expectError": true}]' > "$out/no-propagator.json"
"$engram" --demo --model "$model" --propagation-model "$out/missing.safetensors" --recovery-dir "$out/recovery" \
    --script "$out/no-propagator.json" > "$out/no-propagator.txt" 2>&1 \
    || { cat "$out/no-propagator.txt"; echo "FAIL: propagation without a model"; exit 1; }
grep -q "no propagation model is loaded" "$out/no-propagator.txt" || { cat "$out/no-propagator.txt"; echo "FAIL: no message"; exit 1; }
echo "app script: OK"
