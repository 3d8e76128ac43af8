#!/bin/bash
# Never lose work: edit, let autosave run (every 5 interactions by default), kill -9 the app mid-session,
# start again and restore. The restored labels and history must be there and the orphan must be gone.
# usage: check_crash_recovery.sh <engram> <scripts-dir> <out-dir>
set -euo pipefail
engram=$1 scripts=$2 out=$3
rm -rf "$out" && mkdir -p "$out/recovery"
export XDG_CONFIG_HOME="$out/config" XDG_DATA_HOME="$out/data"
"$engram" --demo --recovery-dir "$out/recovery" --script "$scripts/crash-edit.json" > "$out/first.txt" 2>&1 &
pid=$!
for _ in $(seq 1 600); do
    [ -s "$out/recovery/session-$pid.engram" ] && break
    kill -0 $pid 2>/dev/null || { cat "$out/first.txt"; echo "FAIL: the app ended early"; exit 1; }
    sleep 0.1
done
[ -s "$out/recovery/session-$pid.engram" ] || { kill -9 $pid; echo "FAIL: no autosave"; exit 1; }
kill -9 $pid
wait $pid 2>/dev/null || true
"$engram" --demo --restore-recovery --recovery-dir "$out/recovery" --script "$scripts/crash-check.json" \
    > "$out/second.txt" 2>&1 || { cat "$out/second.txt"; echo "FAIL: restore"; exit 1; }
grep -q "restoring .*session-$pid.engram" "$out/second.txt"
[ -z "$(ls "$out/recovery"/*.engram 2>/dev/null)" ] || { ls "$out/recovery"; echo "FAIL: recovery files left"; exit 1; }
echo "crash recovery: OK"
