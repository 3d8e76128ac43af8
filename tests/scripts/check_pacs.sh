#!/usr/bin/env bash
# engram-cli pacs against a real PACS: Debian's Orthanc, started here on free loopback ports with a temporary
# storage folder (stopped on exit), loaded through Engram's own C-STORE and checked through Orthanc's REST
# API. Echo; store a CT series; find it by patient name, ID and modality and list its series; retrieve it
# (C-GET) into a cache, voxel-identical to the folder it was stored from; store an exported DICOM-SEG and
# find it again; a wrong AE title, an unknown series and a stopped server each get their plain message.
# Then engram_pacs_live interrupts retrievals of a 120-image MR series half way (cancel, a frozen server, a
# killed one) and checks that the cache keeps nothing of them.
# The app does the same from its window (engram --script): retrieve the series, open it, segment, send the
# SEG back.
# usage: check_pacs.sh <engram-cli> <shared-dir> <out-dir> <engram_pacs_live> <engram>
set -u
cli=$1; shared=$2; out=$3; live=$4; engram=$5
rm -rf "$out"; mkdir -p "$out/storage"
orthanc=$(command -v Orthanc || echo /usr/sbin/Orthanc)
[ -x "$orthanc" ] || { echo "FAIL: Orthanc is not installed (./test.sh installs Debian's orthanc package)"; exit 1; }
free_port() { /usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
dicom=$(free_port); http=$(free_port)
cat > "$out/orthanc.json" <<JSON
{"Name": "engram-test", "StorageDirectory": "$out/storage", "IndexDirectory": "$out/storage",
 "DicomAet": "ORTHANC", "DicomPort": $dicom, "HttpPort": $http, "RemoteAccessAllowed": false,
 "AuthenticationEnabled": false, "DicomCheckCalledAet": true, "Plugins": [],
 "DicomModalities": {"engram": {"AET": "ENGRAM", "Host": "127.0.0.1", "Port": 11112, "AllowEcho": true,
                                "AllowFind": true, "AllowGet": true, "AllowMove": false, "AllowStore": true}}}
JSON
"$orthanc" "$out/orthanc.json" > "$out/orthanc.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null' EXIT
node="ORTHANC@127.0.0.1:$dicom"
for _ in $(seq 1 120); do "$cli" pacs echo --node "$node" > /dev/null 2>&1 && break; sleep 0.25; done

source "$(dirname "$0")/cli_expect.sh"
ct=$shared/data/dicom/ct-abdomen-20slice
read -r patient pid_ study series < <(/usr/bin/python3 - "$ct" <<'PY'
import os, sys, pydicom
f = sorted(os.listdir(sys.argv[1]))[0]
d = pydicom.dcmread(os.path.join(sys.argv[1], f), stop_before_pixels=True)
print(str(d.PatientName).split("^")[0] or "x", d.PatientID, d.StudyInstanceUID, d.SeriesInstanceUID)
PY
)
expect 0 "answers" pacs echo --node "$node"
expect 0 "stored 20 files" pacs store --node "$node" "$ct"
instances=$(curl -s "http://127.0.0.1:$http/instances" | /usr/bin/python3 -c 'import json, sys; print(len(json.load(sys.stdin)))')
[ "$instances" = 20 ] || { echo "FAIL: Orthanc holds $instances instances, expected 20"; fail=$((fail+1)); }
expect 0 "$study" pacs find --node "$node" --patient-name "$patient*"
expect 0 "$study" pacs find --node "$node" --patient-id "$pid_" --modality CT
expect 0 "0 studies" pacs find --node "$node" --patient-name "NOBODY*"
expect 0 "20 images" pacs find --node "$node" --study "$study"
expect 0 "$series" pacs find --node "$node" --study "$study"
expect 0 "retrieved into $out/cache/$series" pacs get --node "$node" --study "$study" --series "$series" --cache "$out/cache"
[ "$(ls "$out/cache/$series" | wc -l)" = 20 ] || { echo "FAIL: the cache does not hold the 20 images"; fail=$((fail+1)); }
ls -d "$out"/cache/*.partial 2> /dev/null && { echo "FAIL: a partial folder was left"; fail=$((fail+1)); }
expect 0 "wrote" convert "$ct" "$out/original.nii.gz"
expect 0 "wrote" convert "$out/cache/$series" "$out/retrieved.nii.gz"
cmp -s "$out/original.nii.gz" "$out/retrieved.nii.gz" || { echo "FAIL: the retrieved series differs from the original"; fail=$((fail+1)); }
# A segmentation of the retrieved series goes back as a DICOM-SEG and is found in the study.
/usr/bin/python3 - "$out/retrieved.nii.gz" "$out/labels.nii.gz" <<'PY'
import sys, nibabel as nib, numpy as np
img = nib.load(sys.argv[1])
nib.save(nib.Nifti1Image((np.asarray(img.dataobj) > 100).astype(np.uint8), img.affine), sys.argv[2])
PY
expect 0 "1 segments" export-seg --image "$out/cache/$series" --labels "$out/labels.nii.gz" --out "$out/seg.dcm"
expect 0 "stored 1 files" pacs store --node "$node" "$out/seg.dcm"
expect 0 "SEG" pacs find --node "$node" --study "$study"
expect 0 "2 series" pacs find --node "$node" --study "$study"
# From the app: retrieve and open the series, threshold-fill a segment, send it back as a SEG.
cat > "$out/app.json" <<JSON
[{"do": "pacs-retrieve", "node": "$node", "study": "$study", "series": "1.2.3.4", "expectError": true},
 {"do": "pacs-send", "node": "$node", "expectError": true},
 {"do": "pacs-retrieve", "node": "$node", "study": "$study", "series": "$series"},
 {"do": "fill", "voxel": [256, 256, 10], "low": -2000, "high": 5000, "segment": "Slice"},
 {"do": "expect", "segment": "Slice", "minVoxels": 262144},
 {"do": "pacs-send", "node": "WRONG@127.0.0.1:$dicom", "expectError": true},
 {"do": "pacs-send", "node": "$node"}]
JSON
XDG_CONFIG_HOME=$out/config XDG_DATA_HOME=$out/data XDG_CACHE_HOME=$out/app-cache \
    "$engram" --recovery-dir "$out/recovery" --script "$out/app.json" > "$out/app.txt" 2>&1 \
    || { cat "$out/app.txt"; echo "FAIL: the app's PACS round trip"; fail=$((fail+1)); }
grep -q "has no images of the series 1.2.3.4" "$out/app.txt" || { echo "FAIL: no message for an unknown series"; fail=$((fail+1)); }
[ -n "$(find "$out/app-cache" -type d -name "$series")" ] || { echo "FAIL: the app's cache holds no $series"; fail=$((fail+1)); }
[ -z "$(find "$out/app-cache" -name "*.partial")" ] || { echo "FAIL: a partial series in the app's cache"; fail=$((fail+1)); }
expect 0 "3 series" pacs find --node "$node" --study "$study"
# Plain messages: a wrong AE title, an unknown series, a malformed node, a stopped server.
expect 5 "refused the connection" pacs echo --node "WRONG@127.0.0.1:$dicom"
expect 5 "has no images" pacs get --node "$node" --study "$study" --series 1.2.3.4 --cache "$out/cache"
[ ! -e "$out/cache/1.2.3.4" ] || { echo "FAIL: a failed retrieval left a folder"; fail=$((fail+1)); }
expect 2 "AE_TITLE@host:port" pacs echo --node "127.0.0.1:$dicom"
expect 2 "pacs takes echo, find, get or store" pacs move --node "$node"
mr=$shared/data/dicom/mr-brain-120slice
expect 0 "stored 120 files" pacs store --node "$node" "$mr"
read -r mrstudy mrseries < <(/usr/bin/python3 - "$mr" <<'PY'
import os, sys, pydicom
f = sorted(os.listdir(sys.argv[1]))[0]
d = pydicom.dcmread(os.path.join(sys.argv[1], f), stop_before_pixels=True)
print(d.StudyInstanceUID, d.SeriesInstanceUID)
PY
)
ENGRAM_PACS_NODE=$node ENGRAM_PACS_PID=$pid ENGRAM_PACS_STUDY=$mrstudy ENGRAM_PACS_SERIES=$mrseries \
    ENGRAM_PACS_CACHE=$out/cache "$live" > "$out/live.txt" 2>&1 || { cat "$out/live.txt"; echo "FAIL: interrupted retrievals"; fail=$((fail+1)); }
kill -CONT $pid 2>/dev/null; kill $pid 2>/dev/null; { wait $pid; } 2>/dev/null
expect 5 "does not answer" pacs echo --node "$node" --timeout 2
expect 5 "does not answer" pacs find --node "$node" --patient-name "*" --timeout 2
echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
