#pragma once
// The slicenet family's configuration (SliceNet.h), and how to tell its model files from others', without
// Torch types, for the layers above model/.

#include <string>
#include <vector>

namespace engram::model {

struct SliceNetConfig {
    std::vector<int> widths{16, 32, 64, 128};  // per level; the bottleneck is widths.back() wide
    int heads = 4;
    int cropSize = 64;      // crop pixels per side (a multiple of the network's factor)
    double context = 1.5;   // crop side = context x the previous mask's larger extent + 2 x marginMm
    double marginMm = 8;    // on each side
    double minCropMm = 40;  // the smallest crop side
    int recentSlices = 6;   // plain memory: the prompts and this many latest slices (SAM 2: 7 - 1)
    int maxDistance = 16;   // slice distances beyond share the last distance embedding
    // A slice whose object score is below this is absent (left empty; enough of them in a row end a
    // direction). Chosen for a trained model on training-side scans, not the held-out ones (MODEL_CARD.md).
    double objectThreshold = 0.5;

    int factor() const { return 1 << (widths.size() - 1); }
    std::string toJson() const;
    // Throws std::invalid_argument for malformed JSON or values out of range.
    static SliceNetConfig fromJson(const std::string& json);
};

// True when `path` is a slicenet model file (metadata "family"), false for other families. Throws
// WeightsError when the file cannot be read as safetensors.
bool isSliceNetFile(const std::string& path);

}  // namespace engram::model
