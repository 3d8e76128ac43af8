#include <engram/annotation/LabelMap.h>

#include <stdexcept>

namespace engram {

LabelMap::LabelMap(const ImageGeometry& geometry)
    : geometry_(geometry), labels_(static_cast<std::size_t>(geometry.voxelCount()), 0) {}

LabelMap::LabelMap(const ImageGeometry& geometry, std::vector<std::uint8_t> labels)
    : geometry_(geometry), labels_(std::move(labels)) {
    if (static_cast<std::int64_t>(labels_.size()) != geometry_.voxelCount())
        throw std::invalid_argument("LabelMap: label buffer does not match the grid size");
}

std::array<std::int64_t, 256> LabelMap::histogram() const {
    std::array<std::int64_t, 256> h{};
    for (std::uint8_t v : labels_) ++h[v];
    return h;
}

std::vector<std::uint8_t> LabelMap::labelsPresent() const {
    const auto h = histogram();
    std::vector<std::uint8_t> present;
    for (int v = 1; v < 256; ++v)
        if (h[v] > 0) present.push_back(static_cast<std::uint8_t>(v));
    return present;
}

}  // namespace engram
