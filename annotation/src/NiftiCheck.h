#pragma once
// Internal: checks a NIfTI-1 file (.nii, .nii.gz) before ITK reads it. ITK accepts some damaged files
// silently (a truncated .nii.gz reads as if complete) or reports them in terms only an ITK developer reads
// (a zero pixdim becomes "no orthonormal definition"); this check says what is wrong in plain words.

#include <filesystem>

namespace engram::detail {

// Throws InputError for a truncated file or a voxel size (pixdim) that is zero, negative or not a number.
// Does nothing for files that are not single-file NIfTI-1.
void checkNifti(const std::filesystem::path& path);

}  // namespace engram::detail
