#pragma once
// Internal: checks a NIfTI-1 file (.nii, .nii.gz) before ITK reads it. ITK accepts some damaged files
// silently (a truncated .nii.gz reads as if complete) or reports them in terms only an ITK developer reads
// (a zero pixdim becomes "no orthonormal definition"); this check says what is wrong in plain words.

#include <filesystem>

namespace engram::detail {

// Throws InputError for a truncated file, impossible sizes or data type, a voxel size (pixdim) that is
// zero, negative or not a number, an orientation in use holding a non-number (which made ITK abort), or a
// NIfTI-2 file (Debian's ITK 5.2 does not read them). Does nothing for files that are not single-file NIfTI.
void checkNifti(const std::filesystem::path& path);

}  // namespace engram::detail
