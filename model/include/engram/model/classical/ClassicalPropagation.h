#pragma once
// The classical baselines a slice propagator has to beat, from the same prompt slice (evaluate-propagation
// runs them beside the networks):
//   copy             the prompt's mask on every slice (what a user gets by copying a contour along);
//   grow-from-seeds  slice by slice from the prompt outward: on each next slice, the previous slice's mask
//                    eroded by `erosionMm` is the object's seed and everything farther than `backgroundMm`
//                    from that mask is background, grown by the seed competition of GrowFromSeeds.h in the
//                    slice. A direction stops where the structure ends: the eroded mask is empty, its mean
//                    intensity lies more than `endShiftSd` SDs from the prompt region's mean, or the grown
//                    mask is empty or more than `maxGrowth` times the previous one (a leak).
// No Torch here.

#include <engram/model/classical/GrowFromSeeds.h>
#include <engram/model/inference/Propagation.h>

#include <string>
#include <vector>

namespace engram::model {

enum class ClassicalPropagation { Copy, GrowFromSeeds };

struct ClassicalPropagationOptions {
    int axis = 2;
    double erosionMm = 2;
    double backgroundMm = 10;
    double endShiftSd = 2;
    double maxGrowth = 2;
};

struct ClassicalPropagationResult {
    std::vector<std::uint8_t> mask;  // the volume's grid, i fastest
    int slicesSegmented = 0;         // slices other than the prompt's given a mask
};

// Throws std::invalid_argument for a prompt that does not fit the volume or an axis outside 0..2.
ClassicalPropagationResult propagateClassically(const float* image, const Dims3& dims,
                                                const Spacing3& spacing, const SlicePrompt& prompt,
                                                ClassicalPropagation method,
                                                const ClassicalPropagationOptions& options = {});

}  // namespace engram::model
