#include <engram/model/networks/Sam2Heads.h>

#include <torch/nn/modules/activation.h>

#include "Sam2Layers.h"

namespace engram::model {

using namespace sam2_layers;
using torch::indexing::None;
using torch::indexing::Slice;

Sam2PromptEncoderImpl::Sam2PromptEncoderImpl(const Sam2Config& c)
    : dim(c.dModel), grid(c.embeddingSize()), imageSize(c.imageSize) {
    auto pe = group(*this, "pe_layer");
    gaussian = pe->register_buffer("positional_encoding_gaussian_matrix", torch::randn({2, dim / 2}));
    for (int i = 0; i < 4; ++i) point_embeddings->push_back(torch::nn::Embedding(1, dim));
    register_module("point_embeddings", point_embeddings);
    not_a_point_embed = register_module("not_a_point_embed", torch::nn::Embedding(1, dim));
    const int maskChans = 16;
    mask_downscaling->push_back(conv(1, maskChans / 4, 2, 2));
    mask_downscaling->push_back(ChannelNorm(maskChans / 4));
    mask_downscaling->push_back(torch::nn::GELU());
    mask_downscaling->push_back(conv(maskChans / 4, maskChans, 2, 2));
    mask_downscaling->push_back(ChannelNorm(maskChans));
    mask_downscaling->push_back(torch::nn::GELU());
    mask_downscaling->push_back(conv(maskChans, dim, 1));
    register_module("mask_downscaling", mask_downscaling);
    no_mask_embed = register_module("no_mask_embed", torch::nn::Embedding(1, dim));
}

torch::Tensor Sam2PromptEncoderImpl::encodeCoords(const torch::Tensor& normalised) {
    const auto c = torch::matmul(2 * normalised - 1, gaussian) * (2 * kPi);
    return torch::cat({c.sin(), c.cos()}, -1);
}

torch::Tensor Sam2PromptEncoderImpl::densePe() {
    const auto opts = gaussian.options();
    const auto centres = (torch::arange(grid, opts) + 0.5) / grid;
    const auto y = centres.view({grid, 1}).expand({grid, grid}),
               x = centres.view({1, grid}).expand({grid, grid});
    return encodeCoords(torch::stack({x, y}, -1)).permute({2, 0, 1}).unsqueeze(0);
}

std::pair<torch::Tensor, torch::Tensor> Sam2PromptEncoderImpl::forward(const torch::Tensor& coords,
                                                                       const torch::Tensor& labels,
                                                                       const torch::Tensor& mask) {
    const auto B = coords.size(0);
    const auto points = torch::cat({coords + 0.5, torch::zeros({B, 1, 2}, coords.options())}, 1);
    const auto l =
        torch::cat({labels.to(torch::kLong), -torch::ones({B, 1}, labels.options().dtype(torch::kLong))}, 1)
            .unsqueeze(-1);
    auto e = encodeCoords(points / double(imageSize));
    e = torch::where(l == -1, torch::zeros_like(e) + not_a_point_embed->weight, e);
    for (int k = 0; k < 4; ++k)
        e = torch::where(l == k, e + point_embeddings[std::size_t(k)]->as<torch::nn::Embedding>()->weight, e);
    torch::Tensor dense = mask.defined()
                              ? mask_downscaling->forward(mask)
                              : no_mask_embed->weight.reshape({1, -1, 1, 1}).expand({B, -1, grid, grid});
    return {e, dense};
}

Sam2MaskDecoderImpl::Sam2MaskDecoderImpl(const Sam2Config& c)
    : numMaskTokens(4),
      dynamicMultimask(c.dynamicMultimaskViaStability),
      stabilityDelta(c.stabilityDelta),
      stabilityThreshold(c.stabilityThreshold) {
    const int d = c.dModel;
    transformer = register_module("transformer", TwoWayTransformer(TwoWayOptions{2, 8, 2048, true}, d));
    iou_token = register_module("iou_token", torch::nn::Embedding(1, d));
    mask_tokens = register_module("mask_tokens", torch::nn::Embedding(numMaskTokens, d));
    obj_score_token = register_module("obj_score_token", torch::nn::Embedding(1, d));
    torch::nn::Sequential upscaling;
    upscale1 = torch::nn::ConvTranspose2d(torch::nn::ConvTranspose2dOptions(d, d / 4, 2).stride(2));
    upscaleNorm = ChannelNorm(d / 4);
    upscale2 = torch::nn::ConvTranspose2d(torch::nn::ConvTranspose2dOptions(d / 4, d / 8, 2).stride(2));
    upscaling->push_back(upscale1);
    upscaling->push_back(upscaleNorm);
    upscaling->push_back(torch::nn::GELU());
    upscaling->push_back(upscale2);
    upscaling->push_back(torch::nn::GELU());
    register_module("output_upscaling", upscaling);
    conv_s0 = register_module("conv_s0", conv(d, d / 8, 1));
    conv_s1 = register_module("conv_s1", conv(d, d / 4, 1));
    for (int i = 0; i < numMaskTokens; ++i) output_hypernetworks_mlps->push_back(Mlp(d, d, d / 8, 3));
    register_module("output_hypernetworks_mlps", output_hypernetworks_mlps);
    iou_prediction_head = register_module("iou_prediction_head", Mlp(d, 256, numMaskTokens, 3));
    pred_obj_score_head = register_module("pred_obj_score_head", Mlp(d, d, 1, 3));
}

Sam2DecoderOutput Sam2MaskDecoderImpl::forward(const torch::Tensor& image, const torch::Tensor& imagePe,
                                               const torch::Tensor& sparse, const torch::Tensor& dense,
                                               bool multimask, const torch::Tensor& highRes0,
                                               const torch::Tensor& highRes1) {
    const auto B = sparse.size(0);
    const auto output = torch::cat({obj_score_token->weight, iou_token->weight, mask_tokens->weight}, 0);
    const auto tokens = torch::cat({output.unsqueeze(0).expand({B, -1, -1}), sparse}, 1);
    const auto src = image + dense;
    const auto pos = imagePe.expand({B, -1, -1, -1});
    const auto b = src.size(0), c = src.size(1), h = src.size(2), w = src.size(3);
    auto [hs, keys] = transformer(src, pos, tokens);
    const auto iouOut = hs.index({Slice(), 1});
    const auto maskOut = hs.index({Slice(), Slice(2, 2 + numMaskTokens)});

    const auto grid = keys.transpose(1, 2).reshape({b, c, h, w});
    auto up = torch::gelu(upscaleNorm(upscale1(grid) + highRes1));
    up = torch::gelu(upscale2(up) + highRes0);
    std::vector<torch::Tensor> hyper;
    for (int i = 0; i < numMaskTokens; ++i)
        hyper.push_back(
            output_hypernetworks_mlps[std::size_t(i)]->as<Mlp>()->forward(maskOut.index({Slice(), i})));
    const auto uc = up.size(1), uh = up.size(2), uw = up.size(3);
    auto masks = torch::matmul(torch::stack(hyper, 1), up.reshape({b, uc, uh * uw})).reshape({b, -1, uh, uw});
    auto ious = iou_prediction_head(iouOut).sigmoid();
    const auto objectScore = pred_obj_score_head(hs.index({Slice(), 0}));

    Sam2DecoderOutput r;
    r.objectScoreLogits = objectScore;
    if (multimask) {
        r.masks = masks.index({Slice(), Slice(1, None)});
        r.ious = ious.index({Slice(), Slice(1, None)});
        r.samTokens = maskOut.index({Slice(), Slice(1, None)});
        return r;
    }
    r.samTokens = maskOut.index({Slice(), Slice(0, 1)});
    r.masks = masks.index({Slice(), Slice(0, 1)});
    r.ious = ious.index({Slice(), Slice(0, 1)});
    if (dynamicMultimask && !is_training()) {
        // A single mask that is unstable under a small logit shift falls back to the best of the three.
        const auto flat = r.masks.flatten(-2);
        const auto inter = (flat > stabilityDelta).sum(-1).to(torch::kFloat);
        const auto uni = (flat > -stabilityDelta).sum(-1).to(torch::kFloat);
        const auto stable =
            torch::where(uni > 0, inter / uni, torch::ones_like(uni)) >= stabilityThreshold;  // [B,1]
        const auto multiIous = ious.index({Slice(), Slice(1, None)});
        const auto best = multiIous.argmax(-1);
        const auto batch = torch::arange(b, best.options());
        const auto bestMask = masks.index({Slice(), Slice(1, None)}).index({batch, best}).unsqueeze(1);
        const auto bestIou = multiIous.index({batch, best}).unsqueeze(1);
        r.masks = torch::where(stable.view({b, 1, 1, 1}), r.masks, bestMask);
        r.ious = torch::where(stable, r.ious, bestIou);
    }
    return r;
}

}  // namespace engram::model
