#pragma once
// The simulated user of training and evaluation (docs/MODELS.md section 5): the first click lies in the
// target, every next one in the current error region, positive when it falls in a false negative. Two rules:
//   RandomError        a uniformly random error voxel (SAM-Med3D's training and evaluation);
//   LargestErrorCentre the voxel deepest inside the largest 6-connected error component (the distance-
//                      transform maximum, in mm; the rule of recent 3D interactive challenges).
// No Torch here; masks are bytes (non-zero = inside), i fastest.

#include <engram/model/metrics/MaskMetrics.h>

#include <optional>
#include <random>
#include <string>

namespace engram::model {

enum class ClickRule { RandomError, LargestErrorCentre };

// "random" / "centre" (also "largest-error-centre"); throws std::invalid_argument otherwise.
ClickRule parseClickRule(const std::string& name);
std::string toString(ClickRule rule);

struct SimulatedClick {
    std::array<std::int64_t, 3> index{0, 0, 0};
    bool positive = true;
};

// The next click for `prediction` against `truth`; nullopt when they agree everywhere. With an empty
// prediction the click lands in the target (first click).
std::optional<SimulatedClick> nextClick(const std::uint8_t* prediction, const std::uint8_t* truth,
                                        const Dims3& dims, const Spacing3& spacing, ClickRule rule,
                                        std::mt19937& rng);

}  // namespace engram::model
