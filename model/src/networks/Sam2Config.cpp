#include <engram/model/networks/Sam2Config.h>

#include "JsonValues.h"

#include "Sam2Layers.h"

namespace engram::model {

using namespace sam2_layers;
using torch::indexing::None;
using torch::indexing::Slice;

std::vector<int> Sam2Config::stageChannels() const {
    std::vector<int> c;
    int dim = hieraEmbedDim;
    for (std::size_t s = 0; s < hieraStages.size(); ++s, dim *= 2) c.push_back(dim);
    return c;
}

Sam2Config Sam2Config::fromJson(const std::string& json) {
    Sam2Config c;
    nlohmann::json j;
    try {
        j = nlohmann::json::parse(json);
    } catch (const nlohmann::json::exception& e) {
        throw std::invalid_argument(std::string("SAM 2 configuration is not valid JSON: ") + e.what());
    }
    const auto get = [&](const char* key, auto& field) { json::readIfPresent(j, key, field); };
    try {
        get("hiera_embed_dim", c.hieraEmbedDim);
        get("hiera_heads", c.hieraHeads);
        get("hiera_stages", c.hieraStages);
        get("hiera_global_att_blocks", c.hieraGlobalAttBlocks);
        get("hiera_window_spec", c.hieraWindowSpec);
        get("hiera_pos_embed_bkg", c.hieraPosEmbedBkg);
        get("hiera_q_pool", c.hieraQPool);
        get("d_model", c.dModel);
        get("fpn_top_down_levels", c.fpnTopDownLevels);
        get("scalp", c.scalp);
        get("mem_dim", c.memDim);
        get("memory_attention_layers", c.memoryAttentionLayers);
        get("memory_attention_dim_feedforward", c.memoryAttentionFeedforward);
        get("rope_theta", c.ropeTheta);
        get("image_size", c.imageSize);
        get("num_maskmem", c.numMaskmem);
        get("max_obj_ptrs_in_encoder", c.maxObjPtrsInEncoder);
        get("binarize_mask_from_pts_for_mem_enc", c.binarizeMaskFromPointsForMemory);
        get("dynamic_multimask_via_stability", c.dynamicMultimaskViaStability);
        get("slm", c.slm);
    } catch (const std::invalid_argument& e) {
        throw std::invalid_argument(std::string("SAM 2 configuration: ") + e.what());
    }
    const auto stages = static_cast<int>(c.hieraStages.size());
    if (stages != 4 || static_cast<int>(c.hieraWindowSpec.size()) != stages || c.hieraPosEmbedBkg.size() != 2)
        throw std::invalid_argument(
            "SAM 2 configuration: four Hiera stages with a window size each are needed");
    // Bounds well above the released models' (hiera_l: 144 wide, 48 blocks), so that a model file cannot
    // make the network ask for unbounded memory, or divide by zero, before its weights are checked.
    const auto inRange = [](int v, int lo, int hi) { return v >= lo && v <= hi; };
    if (std::any_of(c.hieraStages.begin(), c.hieraStages.end(), [&](int n) { return !inRange(n, 1, 64); }) ||
        std::any_of(c.hieraWindowSpec.begin(), c.hieraWindowSpec.end(),
                    [&](int n) { return !inRange(n, 1, 256); }) ||
        !inRange(c.hieraEmbedDim, 1, 1024) || !inRange(c.hieraHeads, 1, 64) || c.hieraQPool < 0 ||
        c.hieraQPool > 3)
        throw std::invalid_argument("SAM 2 configuration: invalid Hiera sizes");
    if (!inRange(c.imageSize, 64, 2048) || !inRange(c.dModel, 8, 1024) || !inRange(c.memDim, 1, 1024) ||
        !inRange(c.memoryAttentionLayers, 1, 16) || !inRange(c.memoryAttentionFeedforward, 1, 16384) ||
        !inRange(c.numMaskmem, 1, 64) || !inRange(c.maxObjPtrsInEncoder, 1, 256))
        throw std::invalid_argument("SAM 2 configuration: a size is out of range");
    if (c.imageSize < 64 || c.imageSize % 32 != 0 || (c.imageSize / 4) % c.hieraWindowSpec[0] != 0)
        throw std::invalid_argument(
            "SAM 2 configuration: image_size must be a multiple of 32 (and of 4x the "
            "first window size)");
    if (c.dModel % 8 != 0 || c.memDim < 1 || c.dModel % c.memDim != 0 || c.scalp < 0 || c.scalp > 3)
        throw std::invalid_argument("SAM 2 configuration: d_model must be a multiple of 8 and of mem_dim");
    if (c.numMaskmem < 1 || c.maxObjPtrsInEncoder < 1 || c.memoryAttentionLayers < 1)
        throw std::invalid_argument("SAM 2 configuration: memory sizes must be positive");
    return c;
}

std::string Sam2Config::toJson() const {
    return nlohmann::json{{"hiera_embed_dim", hieraEmbedDim},
                          {"hiera_heads", hieraHeads},
                          {"hiera_stages", hieraStages},
                          {"hiera_global_att_blocks", hieraGlobalAttBlocks},
                          {"hiera_window_spec", hieraWindowSpec},
                          {"hiera_pos_embed_bkg", hieraPosEmbedBkg},
                          {"hiera_q_pool", hieraQPool},
                          {"d_model", dModel},
                          {"fpn_top_down_levels", fpnTopDownLevels},
                          {"scalp", scalp},
                          {"mem_dim", memDim},
                          {"memory_attention_layers", memoryAttentionLayers},
                          {"memory_attention_dim_feedforward", memoryAttentionFeedforward},
                          {"rope_theta", ropeTheta},
                          {"image_size", imageSize},
                          {"num_maskmem", numMaskmem},
                          {"max_obj_ptrs_in_encoder", maxObjPtrsInEncoder},
                          {"binarize_mask_from_pts_for_mem_enc", binarizeMaskFromPointsForMemory},
                          {"dynamic_multimask_via_stability", dynamicMultimaskViaStability},
                          {"slm", slm}}
        .dump();
}

}  // namespace engram::model
