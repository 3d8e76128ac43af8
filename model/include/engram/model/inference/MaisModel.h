#pragma once
// The MAIS network as loaded from, and saved to, an Engram model file: SAM-Med3D plus, when the file has
// them, memory-attention weights. Model files are safetensors with the SAM-Med3D keys (optionally under
// "model.", as parity cases have them), the memory-attention keys under "memory_attention.", and metadata
// "config" (network JSON), "memory_attention" (its JSON) and "crop" (the input geometry it was trained
// with: spacing, size, CT clamping), so a file carries its own configuration. Files without "crop" use
// SAM-Med3D's 1.5 mm 128^3 crops. Training checkpoints add "optimizer." tensors, ignored here.
// A file without memory-attention weights (e.g. a converted SAM-Med3D checkpoint) loads with memory mode
// None, which is logged.

#include <engram/model/networks/MemoryAttention.h>
#include <engram/model/networks/SamMed3D.h>

#include <map>
#include <optional>
#include <string>

namespace engram::model {

std::string toJson(const CropOptions& crop);
// Throws std::invalid_argument for malformed JSON or values out of range.
CropOptions cropOptionsFromJson(const std::string& json);

struct MaisModel {
    SamMed3DConfig config;
    CropOptions crop;
    SamMed3D sam{nullptr};
    MemoryAttention memory{nullptr};  // null when the file has no memory-attention weights

    // Throws WeightsError (file, keys, configuration) naming what is wrong.
    static MaisModel load(const std::string& path);
    // Untrained network (for training from scratch); with memory attention when `memory` is given.
    static MaisModel create(const SamMed3DConfig& config, const std::optional<MemoryAttentionConfig>& memory);
    // `extraTensors` / `extraMetadata`: e.g. a training checkpoint's optimizer state and progress.
    void save(const std::string& path, const std::map<std::string, torch::Tensor>& extraTensors = {},
              const std::map<std::string, std::string>& extraMetadata = {}, bool half = false) const;

    // One interaction as the engine and the trainer both run it: prompt encoding of `coords` [1,K,3] (crop
    // voxel indices) / `labels` [1,K] with the previous low-resolution logits (undefined for none), memory
    // attention over `bank` (skipped for mode None or without memory weights), mask decoding (single mask);
    // then the interaction's memory (its newest click's sparse embedding, the dense embedding) is pushed.
    // `cacheDenseFeature`: store memory attention's encoding of the dense memory with it (inference);
    // training leaves it out so that the encoding is recomputed, with gradients, when the bank is read.
    MaskPrediction interact(const torch::Tensor& embedding, const torch::Tensor& densePe,
                            const torch::Tensor& coords, const torch::Tensor& labels,
                            const torch::Tensor& previousLogits, MemoryBank& bank, bool cacheDenseFeature);
    void to(const torch::Device& device);
    void eval();
};

}  // namespace engram::model
