#!/usr/bin/env bash
# Writes under failure, with the real programs: a full disk (the file-size limit makes every write beyond it
# fail, as ENOSPC would), a folder that cannot be written, fsync refused (write_faults.so), and the process
# killed between writing and renaming (write_faults.so). Each time the previous file stays byte-identical,
# the user gets the reason, no temporary is left (or, after a kill, it is never taken for the file and is
# cleaned up), and a cut-off autosave is never offered as recovered work.
# usage: check_write_faults.sh <engram> <engram-cli> <write_faults.so> <shared-dir> <out-dir>
set -u
engram=$1 cli=$2 faults=$3 shared=$4 out=$5
rm -rf "$out"; mkdir -p "$out/recovery"
export XDG_CONFIG_HOME="$out/config" XDG_DATA_HOME="$out/data" XDG_CACHE_HOME="$out/cache"
fail=0; pass=0
check() {  # check <what> <command...>
  local what=$1; shift
  if "$@"; then pass=$((pass+1)); else echo "FAIL: $what"; fail=$((fail+1)); fi
}
no_temporaries() { [ -z "$(find "$1" -maxdepth 1 -name '.engram-*')" ]; }
has_temporary() { [ -n "$(find "$1" -maxdepth 1 -name ".engram-*-$2")" ]; }
# Runs a command whose files may not grow beyond $1 blocks of 512 bytes (EFBIG past it, SIGXFSZ ignored).
full_disk() { local blocks=$1; shift; ( ulimit -f "$blocks"; trap '' XFSZ; exec "$@" ); }
app() { "$engram" --recovery-dir "$out/recovery" "$@" 2>&1 | cat; return "${PIPESTATUS[0]}"; }

# engram-cli on a full disk: NIfTI and DICOM-SEG.
ct=$shared/data/ct-abdomen/example_ct.nii.gz
"$cli" convert "$ct" "$out/ct.nii.gz" > /dev/null && cp "$out/ct.nii.gz" "$out/ct.before"
msg=$(full_disk 64 "$cli" convert "$ct" "$out/ct.nii.gz" 2>&1); rc=$?
check "convert on a full disk exits 4 with the reason (exit $rc: $msg)" grep -q "Cannot write.*ct.nii.gz" <<<"$msg"
check "convert on a full disk exits 4" [ $rc -eq 4 ]
check "the previous NIfTI is intact after a full disk" cmp -s "$out/ct.nii.gz" "$out/ct.before"
check "no temporary after the failed convert" no_temporaries "$out"
series=$shared/data/dicom/ct-abdomen-20slice
"$cli" convert "$series" "$out/ct20.nii.gz" > /dev/null
/usr/bin/python3 - "$out/ct20.nii.gz" "$out/ct20-labels.nii.gz" <<'PY'
import sys, nibabel as nib, numpy as np
img = nib.load(sys.argv[1])
nib.save(nib.Nifti1Image((np.asarray(img.dataobj) > 100).astype(np.uint8), img.affine), sys.argv[2])
PY
"$cli" export-seg --image "$series" --labels "$out/ct20-labels.nii.gz" --out "$out/seg.dcm" > /dev/null && cp "$out/seg.dcm" "$out/seg.before"
msg=$(full_disk 64 "$cli" export-seg --image "$series" --labels "$out/ct20-labels.nii.gz" --out "$out/seg.dcm" 2>&1); rc=$?
check "export-seg on a full disk exits 4 with the reason (exit $rc: $msg)" grep -q "Cannot write.*seg.dcm" <<<"$msg"
check "the previous SEG is intact after a full disk" cmp -s "$out/seg.dcm" "$out/seg.before"
check "no temporary after the failed SEG export" no_temporaries "$out"
# A folder nobody may create files in (even root: /proc/1), and fsync refused by the disk.
msg=$("$cli" convert "$ct" /proc/1/ct.nii.gz 2>&1); rc=$?
check "a folder that cannot be written gets exit 4 and the reason (exit $rc: $msg)" grep -q "Cannot write /proc/1/ct.nii.gz" <<<"$msg"
msg=$(LD_PRELOAD=$faults ENGRAM_FAIL_FSYNC=.engram- "$cli" convert "$ct" "$out/ct.nii.gz" 2>&1); rc=$?
check "fsync refused: exit 4 and the reason (exit $rc: $msg)" grep -q "the disk did not keep it" <<<"$msg"
check "the previous NIfTI is intact after fsync failed" cmp -s "$out/ct.nii.gz" "$out/ct.before"
check "no temporary after fsync failed" no_temporaries "$out"

# The app: a session and a NIfTI export written normally, then the same on a full disk.
cat > "$out/first.json" <<JSON
[{"do": "fill", "voxel": [81, 58, 101], "low": -200, "high": 300, "3d": true, "segment": "Body"},
 {"do": "save-session", "path": "$out/work.engram"},
 {"do": "export", "path": "$out/labels.nii.gz"}]
JSON
app --demo --script "$out/first.json" > "$out/first.txt" || { cat "$out/first.txt"; echo "FAIL: the first app run"; fail=$((fail+1)); }
cp "$out/work.engram" "$out/work.before"; cp "$out/labels.nii.gz" "$out/labels.before"
cat > "$out/full.json" <<JSON
[{"do": "open-session", "path": "$out/work.engram"},
 {"do": "fill", "voxel": [2, 2, 60], "low": -1100, "high": -500, "3d": true, "segment": "Air"},
 {"do": "save-session", "path": "$out/work.engram", "expectError": true},
 {"do": "export", "path": "$out/labels.nii.gz", "expectError": true},
 {"do": "autosave", "expectError": true}]
JSON
full_disk 8 "$engram" --recovery-dir "$out/recovery" --script "$out/full.json" 2>&1 | cat > "$out/full.txt"
check "the app's writes on a full disk fail with the reason" grep -q "Cannot write .*work.engram" "$out/full.txt"
check "the app's script ran through on a full disk" grep -q "script step 5" "$out/full.txt"
check "the session is intact after a full disk" cmp -s "$out/work.engram" "$out/work.before"
check "the export is intact after a full disk" cmp -s "$out/labels.nii.gz" "$out/labels.before"
check "no temporary in the session's folder" no_temporaries "$out"
check "no recovery file from the failed autosave" [ -z "$(find "$out/recovery" -name '*.engram')" ]

# Killed between writing and renaming: the session save, then an autosave.
cat > "$out/kill.json" <<JSON
[{"do": "open-session", "path": "$out/work.engram"},
 {"do": "fill", "voxel": [2, 2, 60], "low": -1100, "high": -500, "3d": true, "segment": "Air"},
 {"do": "save-session", "path": "$out/work.engram"}]
JSON
LD_PRELOAD=$faults ENGRAM_KILL_AT_RENAME=work.engram app --script "$out/kill.json" > "$out/kill.txt"; rc=$?
check "the save was killed (exit $rc)" [ $rc -eq 137 ]
check "the session is intact after a kill before its rename" cmp -s "$out/work.engram" "$out/work.before"
check "the killed save left its temporary" has_temporary "$out" work.engram
echo "[{\"do\": \"open-session\", \"path\": \"$out/work.engram\"}, {\"do\": \"expect\", \"segment\": \"Body\", \"minVoxels\": 1}]" > "$out/reopen.json"
app --script "$out/reopen.json" > "$out/reopen.txt" || { cat "$out/reopen.txt"; echo "FAIL: the intact session does not open"; fail=$((fail+1)); }
cat > "$out/autosave.json" <<JSON
[{"do": "open-session", "path": "$out/work.engram"},
 {"do": "fill", "voxel": [2, 2, 60], "low": -1100, "high": -500, "3d": true, "segment": "Air"},
 {"do": "autosave"}]
JSON
LD_PRELOAD=$faults ENGRAM_KILL_AT_RENAME='session-*' app --script "$out/autosave.json" > "$out/autosave.txt"; rc=$?
check "the autosave was killed (exit $rc)" [ $rc -eq 137 ]
check "the killed autosave left its temporary" has_temporary "$out/recovery" 'session-*.engram'
app --demo --restore-recovery --quit-after-load > "$out/after.txt"
check "the cut-off autosave is removed at the next start" grep -q "left by a write that did not finish" "$out/after.txt"
check "no temporary in the recovery folder afterwards" no_temporaries "$out/recovery"
check "nothing was restored from the cut-off autosave" bash -c "! grep -qi 'restor' '$out/after.txt'"
echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
