#include <engram/annotation/Volume.h>

#include <algorithm>
#include <stdexcept>

namespace engram {

Volume::Volume(ImageGeometry geometry, std::vector<float> voxels, VolumeMetadata metadata)
    : geometry_(geometry), voxels_(std::move(voxels)), metadata_(std::move(metadata)) {
    if (static_cast<std::int64_t>(voxels_.size()) != geometry_.voxelCount())
        throw std::invalid_argument("Volume: voxel buffer does not match the grid size");
}

std::pair<float, float> Volume::valueRange() const {
    if (voxels_.empty()) return {0.0f, 0.0f};
    const auto [lo, hi] = std::minmax_element(voxels_.begin(), voxels_.end());
    return {*lo, *hi};
}

}  // namespace engram
