#pragma once
// The MAIS network as loaded from, and saved to, an Engram model file: SAM-Med3D plus, when the file has
// them, memory-attention weights. Model files are safetensors with the SAM-Med3D keys (optionally under
// "model.", as parity cases have them), the memory-attention keys under "memory_attention.", and metadata
// "config" (network JSON) and "memory_attention" (its JSON), so a file carries its own configuration.
// A file without memory-attention weights (e.g. a converted SAM-Med3D checkpoint) loads with memory mode
// None, which is logged.

#include <engram/model/MemoryAttention.h>
#include <engram/model/SamMed3D.h>

#include <optional>
#include <string>

namespace engram::model {

struct MaisModel {
    SamMed3DConfig config;
    SamMed3D sam{nullptr};
    MemoryAttention memory{nullptr};  // null when the file has no memory-attention weights

    // Throws WeightsError (file, keys, configuration) naming what is wrong.
    static MaisModel load(const std::string& path);
    // Untrained network (for training from scratch); with memory attention when `memory` is given.
    static MaisModel create(const SamMed3DConfig& config, const std::optional<MemoryAttentionConfig>& memory);
    void save(const std::string& path) const;
    void to(const torch::Device& device);
    void eval();
};

}  // namespace engram::model
