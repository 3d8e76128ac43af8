#pragma once
// A label map on a volume's grid: one byte per voxel, 0 = background, 1..255 = segment label values.

#include <engram/annotation/Geometry.h>

#include <array>
#include <cstdint>
#include <vector>

namespace engram {

class LabelMap {
  public:
    LabelMap() = default;
    // All voxels background.
    explicit LabelMap(const ImageGeometry& geometry);
    // Throws std::invalid_argument when labels.size() != geometry.voxelCount().
    LabelMap(const ImageGeometry& geometry, std::vector<std::uint8_t> labels);

    const ImageGeometry& geometry() const { return geometry_; }
    const std::vector<std::uint8_t>& labels() const { return labels_; }
    std::vector<std::uint8_t>& labels() { return labels_; }
    std::uint8_t at(std::int64_t i, std::int64_t j, std::int64_t k) const {
        return labels_[geometry_.offset(i, j, k)];
    }
    void set(std::int64_t i, std::int64_t j, std::int64_t k, std::uint8_t v) {
        labels_[geometry_.offset(i, j, k)] = v;
    }

    // Voxel count per label value (index 0 = background).
    std::array<std::int64_t, 256> histogram() const;
    // Label values > 0 that occur, ascending.
    std::vector<std::uint8_t> labelsPresent() const;
    // The same labels on `grid`, a grid with the same voxel centres (sameLattice): an exact copy in the
    // other axis order, no interpolation.
    LabelMap mappedOnto(const ImageGeometry& grid, const GridMapping& mapping) const;
    // The labels on any other grid by nearest neighbour: each voxel of `grid` takes the label of the voxel
    // whose cell holds its centre (background outside this map). `labelledOutside`, when given, receives the
    // number of labelled voxels of this map whose centres lie outside `grid` (labels that were lost).
    LabelMap resampledNearest(const ImageGeometry& grid, std::int64_t* labelledOutside = nullptr) const;

  private:
    ImageGeometry geometry_;
    std::vector<std::uint8_t> labels_;
};

}  // namespace engram
