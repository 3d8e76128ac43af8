#include <engram/annotation/LabelMap.h>

#include <cmath>
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

LabelMap LabelMap::mappedOnto(const ImageGeometry& grid, const GridMapping& m) const {
    // Source offset of target voxel (0, 0, 0) and the source step of one target step along each axis.
    const std::int64_t sourceStride[3] = {1, geometry_.size[0], geometry_.size[0] * geometry_.size[1]};
    std::int64_t start = 0, step[3];
    for (int a = 0; a < 3; ++a) {
        const std::int64_t s = sourceStride[m.axis[a]];
        step[a] = m.flip[a] ? -s : s;
        if (m.flip[a]) start += (grid.size[a] - 1) * s;
    }
    std::vector<std::uint8_t> out(static_cast<std::size_t>(grid.voxelCount()));
    std::size_t o = 0;
    for (std::int64_t k = 0; k < grid.size[2]; ++k)
        for (std::int64_t j = 0; j < grid.size[1]; ++j) {
            std::int64_t from = start + k * step[2] + j * step[1];
            for (std::int64_t i = 0; i < grid.size[0]; ++i, ++o, from += step[0])
                out[o] = labels_[static_cast<std::size_t>(from)];
        }
    return LabelMap(grid, std::move(out));
}

namespace {

// The affine map from `from`'s continuous index to `to`'s: to = base + sum_a step[a] * from[a].
struct IndexMap {
    Vec3 base;
    std::array<Vec3, 3> step;
    IndexMap(const ImageGeometry& from, const ImageGeometry& to) {
        base = to.worldToIndex(from.indexToWorld({0, 0, 0}));
        for (int a = 0; a < 3; ++a) {
            Vec3 unit{0, 0, 0};
            unit[a] = 1;
            const Vec3 p = to.worldToIndex(from.indexToWorld(unit));
            for (int c = 0; c < 3; ++c) step[a][c] = p[c] - base[c];
        }
    }
    // Nearest voxel of `to` for voxel (i, j, k) of `from`; false when it lies outside `to`.
    bool nearest(const ImageGeometry& to, std::int64_t i, std::int64_t j, std::int64_t k,
                 std::int64_t& offset) const {
        Index3 n;
        for (int c = 0; c < 3; ++c) {
            const double x = base[c] + step[0][c] * static_cast<double>(i) +
                             step[1][c] * static_cast<double>(j) + step[2][c] * static_cast<double>(k);
            n[c] = static_cast<std::int64_t>(std::floor(x + 0.5));
        }
        if (!to.contains(n)) return false;
        offset = to.offset(n[0], n[1], n[2]);
        return true;
    }
};

}  // namespace

LabelMap LabelMap::resampledNearest(const ImageGeometry& grid, std::int64_t* labelledOutside) const {
    const IndexMap toSource(grid, geometry_);
    std::vector<std::uint8_t> out(static_cast<std::size_t>(grid.voxelCount()), 0);
    std::size_t o = 0;
    std::int64_t from = 0;
    for (std::int64_t k = 0; k < grid.size[2]; ++k)
        for (std::int64_t j = 0; j < grid.size[1]; ++j)
            for (std::int64_t i = 0; i < grid.size[0]; ++i, ++o)
                if (toSource.nearest(geometry_, i, j, k, from))
                    out[o] = labels_[static_cast<std::size_t>(from)];
    if (labelledOutside) {
        const IndexMap toTarget(geometry_, grid);
        std::int64_t lost = 0, to = 0;
        std::size_t s = 0;
        for (std::int64_t k = 0; k < geometry_.size[2]; ++k)
            for (std::int64_t j = 0; j < geometry_.size[1]; ++j)
                for (std::int64_t i = 0; i < geometry_.size[0]; ++i, ++s)
                    lost += labels_[s] != 0 && !toTarget.nearest(grid, i, j, k, to);
        *labelledOutside = lost;
    }
    return LabelMap(grid, std::move(out));
}

}  // namespace engram
