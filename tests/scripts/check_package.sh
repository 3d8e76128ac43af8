#!/bin/bash
# The Debian package: cpack builds it, it holds the app, the CLI, a valid desktop entry, the icon, the demo
# volume (and the default models once they exist), and the app runs from the unpacked tree on the demo.
# usage: check_package.sh <build-dir> <scripts-dir> <out-dir>
set -euo pipefail
build=$1 scripts=$2 out=$3
rm -rf "$out" && mkdir -p "$out"
(cd "$build" && cpack -G DEB -B "$out/pkg" > "$out/cpack.txt" 2>&1) || { cat "$out/cpack.txt"; exit 1; }
deb=$(ls "$out"/pkg/engram_*.deb)
dpkg-deb -c "$deb" > "$out/contents.txt"
for f in ./usr/bin/engram ./usr/bin/engram-cli ./usr/share/applications/engram.desktop \
         ./usr/share/icons/hicolor/scalable/apps/engram.svg ./usr/share/engram/demo/demo.nii.gz; do
    grep -q " $f\$" "$out/contents.txt" || { echo "FAIL: $f not in the package"; exit 1; }
done
dpkg-deb -f "$deb" Depends | grep -q libqt6 || { echo "FAIL: no Qt dependency recorded"; exit 1; }
dpkg -x "$deb" "$out/root"
desktop-file-validate "$out/root/usr/share/applications/engram.desktop"
export XDG_CONFIG_HOME="$out/config" XDG_DATA_HOME="$out/data"
"$out/root/usr/bin/engram" --demo --script "$scripts/package.json" --screenshot "$out/installed.png" \
    > "$out/run.txt" 2>&1 || { cat "$out/run.txt"; echo "FAIL: the unpacked app"; exit 1; }
grep -q "share/engram/demo/demo.nii.gz" "$out/run.txt" || { echo "FAIL: the demo did not come from the package"; exit 1; }
echo "package: OK ($(du -h "$deb" | cut -f1))"
