#include <engram/model/networks/Sam2.h>

#include <engram/model/weights/SafeTensors.h>

#include <torch/nn/modules/activation.h>

#include "Sam2Layers.h"

namespace engram::model {

using namespace sam2_layers;
using torch::indexing::None;
using torch::indexing::Slice;

Sam2Impl::Sam2Impl(const Sam2Config& c) : config(c) {
    image_encoder = register_module("image_encoder", Sam2ImageEncoder(c));
    sam_prompt_encoder = register_module("sam_prompt_encoder", Sam2PromptEncoder(c));
    sam_mask_decoder = register_module("sam_mask_decoder", Sam2MaskDecoder(c));
    memory_encoder = register_module("memory_encoder", Sam2MemoryEncoder(c));
    memory_attention = register_module("memory_attention", Sam2MemoryAttention(c));
    if (c.slm) {
        slm_memory_attention = register_module("slm_memory_attention", Sam2MemoryAttention(c));
        auto fuser = group(*this, "slm_fuser");
        for (int i = 0; i < 2; ++i) slm_fuser->push_back(CXBlock(c.dModel));
        fuser->register_module("layers", slm_fuser);
    }
    obj_ptr_proj = register_module("obj_ptr_proj", Mlp(c.dModel, c.dModel, c.dModel, 3));
    obj_ptr_tpos_proj = register_module("obj_ptr_tpos_proj", torch::nn::Linear(c.dModel, c.memDim));
    mask_downsample = register_module("mask_downsample", conv(1, 1, 4, 4));
    maskmem_tpos_enc = register_parameter("maskmem_tpos_enc", torch::zeros({c.numMaskmem, 1, 1, c.memDim}));
    no_mem_embed = register_parameter("no_mem_embed", torch::zeros({1, 1, c.dModel}));
    no_mem_pos_enc = register_parameter("no_mem_pos_enc", torch::zeros({1, 1, c.dModel}));
    no_obj_ptr = register_parameter("no_obj_ptr", torch::zeros({1, c.dModel}));
    no_obj_embed_spatial = register_parameter("no_obj_embed_spatial", torch::zeros({1, c.memDim}));
}

BackboneOutput Sam2Impl::encodeImage(const torch::Tensor& image) {
    auto out = image_encoder(image);
    out.backboneFpn[0] = sam_mask_decoder->conv_s0(out.backboneFpn[0]);
    out.backboneFpn[1] = sam_mask_decoder->conv_s1(out.backboneFpn[1]);
    return out;
}

SamHeadsOutput Sam2Impl::samHeads(const torch::Tensor& features, const torch::Tensor& coords,
                                  const torch::Tensor& labels, const torch::Tensor& mask,
                                  const torch::Tensor& highRes0, const torch::Tensor& highRes1,
                                  bool multimask) {
    const auto B = features.size(0);
    torch::Tensor c = coords, l = labels;
    if (!c.defined()) {  // no clicks: one padding point
        c = torch::zeros({B, 1, 2}, features.options());
        l = -torch::ones({B, 1}, features.options().dtype(torch::kLong));
    }
    torch::Tensor maskPrompt;
    if (mask.defined()) {
        const auto size = 4 * config.embeddingSize();
        maskPrompt = mask.size(-1) == size ? mask
                                           : F::interpolate(mask.to(features.dtype()),
                                                            F::InterpolateFuncOptions()
                                                                .size(std::vector<int64_t>{size, size})
                                                                .mode(torch::kBilinear)
                                                                .align_corners(false)
                                                                .antialias(true));
    }
    const auto [sparse, dense] = sam_prompt_encoder(c, l, maskPrompt);
    auto d = sam_mask_decoder(features, sam_prompt_encoder->densePe(), sparse, dense, multimask, highRes0,
                              highRes1);

    SamHeadsOutput r;
    const auto appearing = d.objectScoreLogits > 0;  // [B, 1]
    r.lowResMultimasks =
        torch::where(appearing.view({B, 1, 1, 1}), d.masks, torch::full_like(d.masks, kNoObjectScore));
    r.highResMultimasks =
        F::interpolate(r.lowResMultimasks, F::InterpolateFuncOptions()
                                               .size(std::vector<int64_t>{config.imageSize, config.imageSize})
                                               .mode(torch::kBilinear)
                                               .align_corners(false));
    r.ious = d.ious;
    r.decoderMultimasks = d.masks;
    r.objectScoreLogits = d.objectScoreLogits;
    auto token = d.samTokens.select(1, 0);
    if (multimask) {
        const auto best = d.ious.argmax(-1);
        const auto batch = torch::arange(B, best.options());
        r.lowResMasks = r.lowResMultimasks.index({batch, best}).unsqueeze(1);
        r.highResMasks = r.highResMultimasks.index({batch, best}).unsqueeze(1);
        if (d.samTokens.size(1) > 1) token = d.samTokens.index({batch, best});
    } else {
        r.lowResMasks = r.lowResMultimasks;
        r.highResMasks = r.highResMultimasks;
    }
    const auto lambda = appearing.to(token.dtype());
    r.objPtr = lambda * obj_ptr_proj(token) + (1 - lambda) * no_obj_ptr;
    return r;
}

torch::Tensor Sam2Impl::fuseShortTerm(const torch::Tensor& longTerm, const torch::Tensor& shortTerm) {
    auto x = longTerm + shortTerm;
    for (const auto& layer : *slm_fuser) x = layer->as<CXBlock>()->forward(x);
    return x;
}

MemoryOutput Sam2Impl::encodeMemory(const torch::Tensor& visionFeatures, const torch::Tensor& highResMask,
                                    const torch::Tensor& objectScoreLogits, bool maskFromPoints) {
    auto mask = (config.binarizeMaskFromPointsForMemory && maskFromPoints && !is_training())
                    ? (highResMask > 0).to(highResMask.dtype())
                    : highResMask.sigmoid();
    mask = mask * 20.0 - 10.0;
    auto out = memory_encoder(visionFeatures, mask);
    const auto absent = 1 - (objectScoreLogits > 0).to(out.features.dtype());  // [B, 1]
    out.features = out.features + absent.view({-1, 1, 1, 1}) * no_obj_embed_spatial.view({1, -1, 1, 1});
    return out;
}

Sam2 rebuildSam2(Sam2Impl& source, const Sam2Config& config) {
    Sam2 net(config);
    torch::NoGradGuard noGrad;
    const auto parameters = source.named_parameters();
    for (auto& p : net->named_parameters())
        if (parameters.contains(p.key())) p.value().copy_(parameters[p.key()]);
    const auto buffers = source.named_buffers();
    for (auto& b : net->named_buffers())
        if (buffers.contains(b.key())) b.value().copy_(buffers[b.key()]);
    return net;
}

void saveSam2(Sam2Impl& net, const std::string& path, bool half,
              const std::map<std::string, std::string>& extraMetadata) {
    std::map<std::string, torch::Tensor> tensors;
    auto put = [&](const std::string& name, const torch::Tensor& t) {
        auto cpu = t.detach().to(torch::kCPU);
        tensors[name] = half && cpu.is_floating_point() ? cpu.to(torch::kFloat16) : cpu;
    };
    for (const auto& p : net.named_parameters()) put(p.key(), p.value());
    for (const auto& b : net.named_buffers()) put(b.key(), b.value());
    auto metadata = extraMetadata;
    metadata["config"] = net.config.toJson();
    metadata["format"] = "engram-sam2/1";
    writeSafeTensors(path, tensors, metadata);
}

}  // namespace engram::model
