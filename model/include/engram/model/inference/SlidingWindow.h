#pragma once
// Targets larger than one crop (128 voxels x 1.5 mm = 192 mm), e.g. the aorta, the spine or a whole liver on
// a large patient. Strategy (as the SAM-Med3D paper suggests: re-centre when the prediction touches the crop
// border), breadth first:
//   1. predict in the crop around the click;
//   2. for every face of a crop that the prediction reaches, queue a crop shifted by half a crop (96 mm)
//      across that face, unless a crop already covers that centre;
//   3. in a queued crop, prompt with the clicks that fall inside it, plus a positive click on the mask found
//   so
//      far nearest to the new centre, plus that mask (resampled into the crop) as the previous-mask prompt;
//   4. merge: a voxel is foreground if the crop whose centre is nearest to it says so (each crop is trusted
//      most away from its borders), until no face is reached or `maxCrops` crops were run.
// The predictor is any function from a crop and its prompts to low-resolution logits: the network, or in
// tests an oracle.

#include <engram/model/inference/ModelCrop.h>

#include <functional>
#include <vector>

namespace engram::model {

struct WorldClick {
    Point3 world;
    bool positive = true;
};

// Low-resolution logits [1,1,L,L,L] for `crop`, given clicks as crop indices [1,K,3] with labels [1,K], and
// the previous mask's low-resolution logits [1,1,L,L,L] (undefined when there is none).
using CropPredictor =
    std::function<torch::Tensor(const ModelCrop& crop, const torch::Tensor& coords,
                                const torch::Tensor& labels, const torch::Tensor& previous)>;

struct SlidingWindowOptions {
    CropOptions crop;
    int maxCrops = 12;
    int lowResSide = 32;  // side of the network's low-resolution logits
};

struct SlidingWindowResult {
    std::vector<std::uint8_t> mask;  // on the whole source grid
    int cropsRun = 0;
    bool reachedLimit = false;  // stopped at maxCrops while a face was still reached
};

SlidingWindowResult segmentAcrossCrops(const Grid& source, const std::vector<WorldClick>& clicks,
                                       const CropPredictor& predict,
                                       const SlidingWindowOptions& options = {});

}  // namespace engram::model
