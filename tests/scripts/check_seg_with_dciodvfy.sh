#!/usr/bin/env bash
# Validates every DICOM-SEG the C++ tests wrote (test-out/seg/*.dcm) with dciodvfy (dicom3tools): 0 errors.
set -u
shopt -s nullglob
files=("$1"/seg/*.dcm)
if [ ${#files[@]} -eq 0 ]; then echo "no SEG files in $1/seg"; exit 1; fi
status=0
for f in "${files[@]}"; do
  report=$(dciodvfy "$f" 2>&1)
  errors=$(grep -c '^Error' <<<"$report")
  warnings=$(grep -c '^Warning' <<<"$report")
  echo "$(basename "$f"): $errors errors, $warnings warnings"
  if [ "$errors" -ne 0 ]; then grep '^Error' <<<"$report"; status=1; fi
done
exit $status
