#include <engram/model/inference/MaisModel.h>
#include <engram/model/weights/SafeTensors.h>
#include <engram/model/weights/StateDict.h>

#include <spdlog/spdlog.h>
#include "JsonValues.h"

namespace engram::model {

std::string toJson(const CropOptions& c) {
    return nlohmann::json{{"spacing", c.spacing},
                          {"size", c.size},
                          {"clamp_ct", c.clampCt},
                          {"ct_min", c.ctMin},
                          {"ct_max", c.ctMax}}
        .dump();
}

CropOptions cropOptionsFromJson(const std::string& json) {
    CropOptions c;
    try {
        const auto j = nlohmann::json::parse(json);
        json::readIfPresent(j, "spacing", c.spacing);
        json::readIfPresent(j, "size", c.size);
        json::readIfPresent(j, "clamp_ct", c.clampCt);
        json::readIfPresent(j, "ct_min", c.ctMin);
        json::readIfPresent(j, "ct_max", c.ctMax);
    } catch (const std::exception& e) {
        throw std::invalid_argument(std::string("crop configuration: ") + e.what());
    }
    if (!(c.spacing > 0.05 && c.spacing < 20) || c.size < 16 || c.size > 512 || !(c.ctMin < c.ctMax))
        throw std::invalid_argument("crop configuration out of range: " + json);
    return c;
}

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
    CropOptions crop;
    try {
        if (auto it = meta.find("config"); it != meta.end()) config = SamMed3DConfig::fromJson(it->second);
        if (auto it = meta.find("memory_attention"); it != meta.end())
            memoryConfig = MemoryAttentionConfig::fromJson(it->second);
        if (auto it = meta.find("crop"); it != meta.end()) crop = cropOptionsFromJson(it->second);
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

    if (crop.size != config.imgSize)
        throw WeightsError("Weights " + path + ": crop size " + std::to_string(crop.size) +
                           " differs from the network's input size " + std::to_string(config.imgSize));

    MaisModel m = create(config, memoryConfig);
    m.crop = crop;
    loadStateDict(*m.sam, file, prefix, true, {"memory_attention.", "optimizer."});
    if (m.memory)
        loadStateDict(*m.memory, file, prefix + "memory_attention.");
    else
        spdlog::info("{} has no memory-attention weights: memory mode None (plain SAM-Med3D)", path);
    m.eval();
    return m;
}

void MaisModel::save(const std::string& path, const std::map<std::string, torch::Tensor>& extraTensors,
                     const std::map<std::string, std::string>& extraMetadata, bool half) const {
    std::map<std::string, torch::Tensor> tensors = extraTensors;
    auto put = [&](const std::string& key, const torch::Tensor& t) {
        tensors[key] = half && t.is_floating_point() ? t.detach().to(torch::kHalf) : t.detach();
    };
    for (const auto& p : sam->named_parameters()) put(p.key(), p.value());
    for (const auto& b : sam->named_buffers()) put(b.key(), b.value());
    std::map<std::string, std::string> meta = extraMetadata;
    meta["format"] = "engram-mais/1";
    meta["config"] = config.toJson();
    meta["crop"] = toJson(crop);
    if (memory) {
        for (const auto& p : memory->named_parameters()) put("memory_attention." + p.key(), p.value());
        meta["memory_attention"] = memory->config.toJson();
    }
    writeSafeTensors(path, tensors, meta);
}

MaskPrediction MaisModel::interact(const torch::Tensor& embedding, const torch::Tensor& densePe,
                                   const torch::Tensor& coords, const torch::Tensor& labels,
                                   const torch::Tensor& previousLogits, MemoryBank& bank,
                                   bool cacheDenseFeature) {
    const auto prompts = sam->prompt_encoder->forward(coords, labels, previousLogits);
    const bool useMemory = memory && bank.mode() != MemoryMode::None;
    const auto conditioned = useMemory ? memory->forward(embedding, bank) : embedding;
    auto out = sam->mask_decoder->forward(conditioned, densePe, prompts.sparse, prompts.dense, false);
    if (bank.mode() != MemoryMode::None) {
        const auto n = coords.size(1);
        bank.push(prompts.sparse[0].slice(0, n - 1, n), prompts.dense[0],
                  useMemory && cacheDenseFeature ? memory->encodeDense(prompts.dense[0]) : torch::Tensor());
    }
    return out;
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
