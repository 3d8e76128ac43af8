#pragma once
// Internal: FreeSurfer MGH/MGZ reader (ITK in Debian 12 has no MGH module). Format: big-endian header of
// version, dims, frames, type, dof, goodRASflag, voxel sizes, direction cosines (Mdc) and centre (c_ras),
// padded to 284 bytes, then the voxels (x fastest). vox2ras = [Mdc*diag(size) | c_ras -
// Mdc*diag(size)*dims/2].

#include <engram/annotation/Volume.h>

#include <filesystem>

namespace engram::detail {

Volume readMgh(const std::filesystem::path& path);

}  // namespace engram::detail
