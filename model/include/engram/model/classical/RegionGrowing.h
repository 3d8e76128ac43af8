#pragma once
// The classical interactive baseline evaluation compares against: confidence-connected region growing from
// the same clicks, as users already have it in ITK-SNAP or 3D Slicer. The intensity interval spans the
// positive clicks' voxel values widened by `multiplier` robust standard deviations (the smallest, over the
// clicks, of their 3x3x3 neighbourhoods' scaled median absolute deviation; at least `minHalfWidth`), so a
// click near an edge does not open the interval to the tissue beside it. Negative clicks are barriers: no
// voxel within `negativeRadiusMm` of one is added, which cuts the leaks a user clicks on. The result is the
// 6-connected region of in-interval voxels reached from the positive clicks. No Torch here.

#include <engram/model/Types.h>
#include <engram/model/metrics/SimulatedClicks.h>

#include <vector>

namespace engram::model {

struct RegionGrowingOptions {
    double multiplier = 2.5;
    double minHalfWidth = 1e-3;  // in the image's units
    double negativeRadiusMm = 5.0;
};

// `clicks` as simulated (voxel index + sign); returns bytes 0/1 on the image's grid.
std::vector<std::uint8_t> growRegion(const float* image, const Dims3& dims, const Spacing3& spacing,
                                     const std::vector<SimulatedClick>& clicks,
                                     const RegionGrowingOptions& options = {});

}  // namespace engram::model
