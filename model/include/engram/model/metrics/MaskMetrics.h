#pragma once
// Binary-mask measures used by training and evaluation: Dice, and the boundary measures of the papers'
// protocols (average symmetric surface distance, normalised surface distance at a tolerance), on a voxel
// grid with anisotropic spacing. Masks are bytes (non-zero = inside), i fastest. No Torch here.

#include <array>
#include <cstdint>
#include <vector>

namespace engram::model {

using Dims3 = std::array<std::int64_t, 3>;
using Spacing3 = std::array<double, 3>;

// Squared Euclidean distance (mm^2) from every voxel to the nearest voxel where `feature` is non-zero
// (exact, separable: Felzenszwalb & Huttenlocher). Voxels with no feature anywhere get +infinity.
std::vector<float> squaredDistanceToFeature(const std::uint8_t* feature, const Dims3& dims,
                                            const Spacing3& spacing);

struct MaskComparison {
    double dice = 0;  // 1 when both masks are empty
    // Mean over both surfaces of the distance to the other surface, mm. NaN when exactly one mask is empty
    // (no surface to measure to); 0 when both are.
    double assd = 0;
    // Fraction of both surfaces within `tolerance` mm of the other surface; 0 when exactly one is empty.
    double nsd = 0;
};

// Surface voxels: inside voxels with a 6-neighbour outside (or on the grid's border).
MaskComparison compareMasks(const std::uint8_t* prediction, const std::uint8_t* truth, const Dims3& dims,
                            const Spacing3& spacing, double nsdToleranceMm = 1.0);

double dice(const std::uint8_t* prediction, const std::uint8_t* truth, std::int64_t count);

}  // namespace engram::model
