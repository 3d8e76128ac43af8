#pragma once
// The clicknet family's configuration (ClickNet.h), and how to tell its model files from others', without
// Torch types, for the layers above model/.

#include <string>
#include <vector>

namespace engram::model {

struct ClickNetConfig {
    std::vector<int> widths{16, 32, 64, 128};  // per level; the bottleneck is widths.back() wide
    int heads = 4;
    int memoryCells = 4;  // a memory's mask embedding: memoryCells^3 tokens
    int maxAge = 16;      // memories older than this share the last age embedding
    double spacing = 3.0;
    int cropSize = 48;
    int maxCropSize = 96;
    double clickSigma = 1.5;

    int factor() const { return 1 << (widths.size() - 1); }  // crop sides are multiples of this
    std::string toJson() const;
    // Throws std::invalid_argument for malformed JSON or values out of range.
    static ClickNetConfig fromJson(const std::string& json);
};

// True when `path` is a clicknet model file (metadata "family"), false for other families. Throws
// WeightsError when the file cannot be read as safetensors.
bool isClickNetFile(const std::string& path);

}  // namespace engram::model
