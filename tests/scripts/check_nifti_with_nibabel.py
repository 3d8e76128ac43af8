#!/usr/bin/python3
"""Independent check of Engram's geometry and NIfTI export with nibabel.

For every file the C++ round-trip test handled (test-out/roundtrip/manifest.txt):
  1. Engram's voxel->RAS affine for the source equals the affine nibabel reads from the source header;
  2. the NIfTI Engram wrote has that same affine (to 1e-4 mm) and the same voxels.
NRRD sources, which nibabel does not read, get check 2 against Engram's affine only. DICOM series get
check 1 against their headers read with pydicom (slices sorted by position along the normal) and check 2
for the affine.
"""
import os
import sys

import nibabel as nib
import numpy as np
import pydicom

TOL = 1e-4


def dicom_affine(folder):
    """voxel -> RAS affine of a single-series folder, from ImagePosition/Orientation and PixelSpacing."""
    headers = [pydicom.dcmread(os.path.join(folder, f), stop_before_pixels=True) for f in sorted(os.listdir(folder))]
    row = np.array(headers[0].ImageOrientationPatient[:3], dtype=float)
    col = np.array(headers[0].ImageOrientationPatient[3:], dtype=float)
    normal = np.cross(row, col)
    positions = sorted((np.array(h.ImagePositionPatient, dtype=float) for h in headers), key=lambda p: p @ normal)
    step = (positions[-1] - positions[0]) @ normal / (len(positions) - 1)
    dy, dx = (float(v) for v in headers[0].PixelSpacing)
    lps = np.eye(4)
    lps[:3, 0] = row * dx
    lps[:3, 1] = col * dy
    lps[:3, 2] = normal * step
    lps[:3, 3] = positions[0]
    return np.diag([-1, -1, 1, 1]) @ lps


def main(out_dir, shared_dir):
    root = os.path.join(out_dir, "roundtrip")
    failures = 0
    checked = 0
    with open(os.path.join(root, "manifest.txt")) as manifest:
        rows = [line.split() for line in manifest if line.strip()]
    if not rows:
        print("manifest is empty")
        return 1
    for rel, written, kind in rows:
        src = os.path.join(shared_dir, "data", rel)
        stem = os.path.basename(written)[: -len(".nii.gz")]
        engram_affine = np.loadtxt(os.path.join(root, stem + ".affine.txt")).reshape(4, 4)
        out = nib.load(written)
        problems = []
        if np.abs(out.affine - engram_affine).max() > TOL:
            problems.append("written affine differs from Engram's:\n%s\n%s" % (out.affine, engram_affine))
        if kind == "dicom":
            ref_affine = dicom_affine(src)
            diff = np.abs(ref_affine - engram_affine).max()
            if diff > TOL:
                problems.append("Engram's affine differs from the DICOM headers by %g mm:\n%s\n%s"
                                % (diff, engram_affine, ref_affine))
        elif not rel.endswith(".nrrd"):
            ref = nib.load(src)
            diff = np.abs(ref.affine - engram_affine).max()
            if diff > TOL:
                problems.append("Engram's affine differs from the source header by %g mm:\n%s\n%s"
                                % (diff, engram_affine, ref.affine))
            a = np.asanyarray(ref.dataobj).squeeze()
            b = np.asanyarray(out.dataobj).squeeze()
            if a.shape != b.shape:
                problems.append("shape %s != %s" % (a.shape, b.shape))
            elif kind == "renumbered":
                pairs = np.unique(np.stack([a.ravel(), b.ravel()]), axis=1)
                if pairs.shape[1] != len(np.unique(a)) or pairs.shape[1] != len(np.unique(b)):
                    problems.append("renumbering is not one-to-one")
            elif not np.array_equal(a.astype(np.float64), b.astype(np.float64)):
                problems.append("voxels differ in %d places" % int((a != b).sum()))
        checked += 1
        if problems:
            failures += 1
            print("FAIL %s\n  %s" % (rel, "\n  ".join(problems)))
        else:
            print("ok   %s (%s)" % (rel, kind))
    print("%d passed, %d failed" % (checked - failures, failures))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
