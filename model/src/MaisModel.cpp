#include <engram/model/MaisModel.h>
#include <engram/model/SafeTensors.h>
#include <engram/model/StateDict.h>

#include <spdlog/spdlog.h>

namespace engram::model {

MaisModel MaisModel::create(const SamMed3DConfig& config,
                            const std::optional<MemoryAttentionConfig>& memory) {
    MaisModel m;
    m.config = config;
    m.sam = SamMed3D(config);
    if (memory) {
        if (memory->dim != config.promptDim)
            throw WeightsError("memory attention width " + std::to_string(memory->dim) +
                               " differs from prompt_dim " + std::to_string(config.promptDim));
        m.memory = MemoryAttention(*memory);
    }
    return m;
}

MaisModel MaisModel::load(const std::string& path) {
    const SafeTensorsFile file(path);
    const auto& meta = file.metadata();
    SamMed3DConfig config;
    std::optional<MemoryAttentionConfig> memoryConfig;
    try {
        if (auto it = meta.find("config"); it != meta.end()) config = SamMed3DConfig::fromJson(it->second);
        if (auto it = meta.find("memory_attention"); it != meta.end())
            memoryConfig = MemoryAttentionConfig::fromJson(it->second);
    } catch (const std::invalid_argument& e) {
        throw WeightsError("Weights " + path + ": " + e.what());
    }
    const std::string prefix = file.contains("model.image_encoder.pos_embed") ? "model." : "";
    bool hasMemoryWeights = false;
    for (const auto& [key, entry] : file.entries())
        hasMemoryWeights |= key.rfind(prefix + "memory_attention.", 0) == 0;
    if (hasMemoryWeights && !memoryConfig) memoryConfig = MemoryAttentionConfig{};
    if (!hasMemoryWeights) memoryConfig.reset();
    if (memoryConfig) memoryConfig->dim = config.promptDim;

    MaisModel m = create(config, memoryConfig);
    loadStateDict(*m.sam, file, prefix, true, {"memory_attention."});
    if (m.memory)
        loadStateDict(*m.memory, file, prefix + "memory_attention.");
    else
        spdlog::info("{} has no memory-attention weights: memory mode None (plain SAM-Med3D)", path);
    m.eval();
    return m;
}

void MaisModel::save(const std::string& path) const {
    std::map<std::string, torch::Tensor> tensors;
    for (const auto& p : sam->named_parameters()) tensors[p.key()] = p.value();
    for (const auto& b : sam->named_buffers()) tensors[b.key()] = b.value();
    std::map<std::string, std::string> meta{{"format", "engram-mais/1"}, {"config", config.toJson()}};
    if (memory) {
        for (const auto& p : memory->named_parameters()) tensors["memory_attention." + p.key()] = p.value();
        meta["memory_attention"] = memory->config.toJson();
    }
    writeSafeTensors(path, tensors, meta);
}

void MaisModel::to(const torch::Device& device) {
    sam->to(device);
    if (memory) memory->to(device);
}

void MaisModel::eval() {
    sam->eval();
    if (memory) memory->eval();
}

}  // namespace engram::model
