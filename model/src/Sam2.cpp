#include <engram/model/SafeTensors.h>
#include <engram/model/Sam2.h>

#include <torch/nn/functional.h>
#include <torch/nn/modules/activation.h>
#include <torch/nn/modules/pooling.h>
#include <torch/torch.h>

#include "JsonValues.h"

#include <algorithm>
#include <cmath>

namespace engram::model {

namespace F = torch::nn::functional;
using torch::indexing::None;
using torch::indexing::Slice;

namespace {

constexpr double kPi = 3.14159265358979323846;
constexpr double kNoObjectScore = -1024.0;  // logits of a mask whose object is absent

bool contains(const std::vector<int>& v, int x) { return std::find(v.begin(), v.end(), x) != v.end(); }

// A plain named module grouping children under a key prefix ("attn", "neck", ...).
std::shared_ptr<torch::nn::Module> group(torch::nn::Module& parent, const std::string& name) {
    return parent.register_module(name, std::make_shared<torch::nn::Module>());
}

torch::nn::Conv2d conv(int in, int out, int kernel, int stride = 1, int padding = 0, int groups = 1) {
    return torch::nn::Conv2d(
        torch::nn::Conv2dOptions(in, out, kernel).stride(stride).padding(padding).groups(groups));
}

torch::nn::LayerNorm layerNorm(int dim, double eps = 1e-5) {
    return torch::nn::LayerNorm(torch::nn::LayerNormOptions({dim}).eps(eps));
}

torch::Tensor attention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v) {
    // [B, heads, N, d]
    return torch::matmul((torch::matmul(q, k.transpose(-2, -1)) / std::sqrt(double(q.size(-1)))).softmax(-1),
                         v);
}

torch::Tensor maxPool2x2(const torch::Tensor& bhwc) {
    return F::max_pool2d(bhwc.permute({0, 3, 1, 2}), F::MaxPool2dFuncOptions(2).stride(2))
        .permute({0, 2, 3, 1});
}

// [B, H, W, C] -> windows [B * nW, w, w, C], zero-padding H and W up to multiples of w.
torch::Tensor windowPartition(torch::Tensor x, int64_t w, int64_t& paddedH, int64_t& paddedW) {
    const auto B = x.size(0), H = x.size(1), W = x.size(2), C = x.size(3);
    const auto ph = (w - H % w) % w, pw = (w - W % w) % w;
    if (ph > 0 || pw > 0) x = F::pad(x, F::PadFuncOptions({0, 0, 0, pw, 0, ph}));
    paddedH = H + ph;
    paddedW = W + pw;
    return x.view({B, paddedH / w, w, paddedW / w, w, C}).permute({0, 1, 3, 2, 4, 5}).reshape({-1, w, w, C});
}

torch::Tensor windowUnpartition(const torch::Tensor& windows, int64_t w, int64_t paddedH, int64_t paddedW,
                                int64_t H, int64_t W) {
    const auto B = windows.size(0) / (paddedH * paddedW / w / w);
    auto x = windows.reshape({B, paddedH / w, paddedW / w, w, w, -1})
                 .permute({0, 1, 3, 2, 4, 5})
                 .reshape({B, paddedH, paddedW, -1});
    if (paddedH > H || paddedW > W)
        x = x.index({torch::indexing::Slice(), torch::indexing::Slice(0, H), torch::indexing::Slice(0, W)});
    return x;
}

}  // namespace

// ---------------------------------------------------------------- config

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

// ---------------------------------------------------------------- Hiera

HieraBlockImpl::HieraBlockImpl(int d, int dOut, int h, bool pool, int window)
    : dim(d), dimOut(dOut), heads(h), windowSize(window), qPool(pool) {
    norm1 = register_module("norm1", layerNorm(dim, 1e-6));
    auto attn = group(*this, "attn");
    qkv = attn->register_module("qkv", torch::nn::Linear(dim, dimOut * 3));
    attnProj = attn->register_module("proj", torch::nn::Linear(dimOut, dimOut));
    norm2 = register_module("norm2", layerNorm(dimOut, 1e-6));
    mlp = register_module("mlp", Mlp(dimOut, dimOut * 4, dimOut, 2, /*gelu=*/true));
    if (dim != dimOut) proj = register_module("proj", torch::nn::Linear(dim, dimOut));
}

torch::Tensor HieraBlockImpl::forward(const torch::Tensor& input) {
    auto shortcut = input;
    auto x = norm1(input);
    if (dim != dimOut) {
        shortcut = proj(x);
        if (qPool) shortcut = maxPool2x2(shortcut);
    }
    int64_t H = x.size(1), W = x.size(2), paddedH = H, paddedW = W;
    int64_t window = windowSize;
    if (window > 0) x = windowPartition(x, window, paddedH, paddedW);

    // Attention within each window, the queries max-pooled at a stage change.
    const auto B = x.size(0), h = x.size(1), w = x.size(2);
    auto parts = qkv(x).reshape({B, h * w, 3, heads, -1}).unbind(2);
    auto q = parts[0];
    int64_t qh = h, qw = w;
    if (qPool) {
        q = maxPool2x2(q.reshape({B, h, w, -1}));
        qh = q.size(1);
        qw = q.size(2);
        q = q.reshape({B, qh * qw, heads, -1});
    }
    x = attention(q.transpose(1, 2), parts[1].transpose(1, 2), parts[2].transpose(1, 2)).transpose(1, 2);
    x = attnProj(x.reshape({B, qh, qw, -1}));

    if (qPool) {
        window = windowSize / 2;
        H = shortcut.size(1);
        W = shortcut.size(2);
        if (window > 0) {
            paddedH = H + (window - H % window) % window;
            paddedW = W + (window - W % window) % window;
        }
    }
    if (windowSize > 0) x = windowUnpartition(x, window, paddedH, paddedW, H, W);
    x = shortcut + x;
    return x + mlp(norm2(x));
}

HieraImpl::HieraImpl(const Sam2Config& c) {
    auto patch = group(*this, "patch_embed");
    patchEmbed = patch->register_module("proj", conv(3, c.hieraEmbedDim, 7, 4, 3));
    pos_embed = register_parameter(
        "pos_embed", torch::zeros({1, c.hieraEmbedDim, c.hieraPosEmbedBkg[0], c.hieraPosEmbedBkg[1]}));
    pos_embed_window = register_parameter(
        "pos_embed_window", torch::zeros({1, c.hieraEmbedDim, c.hieraWindowSpec[0], c.hieraWindowSpec[0]}));

    int end = -1;
    for (int n : c.hieraStages) stageEnds.push_back(end += n);
    std::vector<int> qPoolBlocks;
    for (int s = 0; s < std::min<int>(c.hieraQPool, int(stageEnds.size()) - 1); ++s)
        qPoolBlocks.push_back(stageEnds[std::size_t(s)] + 1);

    int dim = c.hieraEmbedDim, heads = c.hieraHeads, stage = 0;
    for (int i = 0; i <= stageEnds.back(); ++i) {
        int dimOut = dim;
        // The window size lags a block: a stage's first block keeps the previous stage's window.
        int window = contains(c.hieraGlobalAttBlocks, i) ? 0 : c.hieraWindowSpec[std::size_t(stage)];
        if (contains(stageEnds, i - 1)) {
            dimOut = dim * 2;
            heads *= 2;
            ++stage;
        }
        blocks->push_back(HieraBlock(dim, dimOut, heads, contains(qPoolBlocks, i), window));
        dim = dimOut;
    }
    register_module("blocks", blocks);
}

std::vector<torch::Tensor> HieraImpl::forward(const torch::Tensor& image) {
    auto x = patchEmbed(image).permute({0, 2, 3, 1});
    const auto h = x.size(1), w = x.size(2);
    auto pos = F::interpolate(pos_embed, F::InterpolateFuncOptions()
                                             .size(std::vector<int64_t>{h, w})
                                             .mode(torch::kBicubic)
                                             .align_corners(false));
    pos = pos + pos_embed_window.tile({1, 1, h / pos_embed_window.size(2), w / pos_embed_window.size(3)});
    x = x + pos.permute({0, 2, 3, 1});

    std::vector<torch::Tensor> outputs;
    for (std::size_t i = 0; i < blocks->size(); ++i) {
        x = blocks[i]->as<HieraBlock>()->forward(x);
        if (contains(stageEnds, int(i))) outputs.push_back(x.permute({0, 3, 1, 2}));
    }
    return outputs;
}

torch::Tensor sinePositionEncoding(const torch::Tensor& x, int channels) {
    const auto H = x.size(-2), W = x.size(-1);
    const int half = channels / 2;
    const auto opts = x.options().dtype(torch::kFloat32);
    const double eps = 1e-6, scale = 2 * kPi;
    const auto y = torch::arange(1, H + 1, opts) / (double(H) + eps) * scale;   // [H]
    const auto xs = torch::arange(1, W + 1, opts) / (double(W) + eps) * scale;  // [W]
    const auto k = torch::arange(half, opts);
    const auto dimT = torch::pow(10000.0, 2 * torch::floor(k / 2) / half);  // [half]
    // Pairs (sin of the even slot, cos of the odd slot), interleaved.
    auto encode = [&](const torch::Tensor& p) {  // [L] -> [L, half]
        const auto a = p.unsqueeze(1) / dimT;
        return torch::stack(
                   {a.index({Slice(), Slice(0, None, 2)}).sin(), a.index({Slice(), Slice(1, None, 2)}).cos()},
                   2)
            .flatten(1);
    };
    const auto py = encode(y).unsqueeze(1).expand({H, W, half});
    const auto px = encode(xs).unsqueeze(0).expand({H, W, half});
    return torch::cat({py, px}, 2)
        .permute({2, 0, 1})
        .unsqueeze(0)
        .expand({x.size(0), channels, H, W})
        .to(x.dtype());
}

Sam2ImageEncoderImpl::Sam2ImageEncoderImpl(const Sam2Config& c)
    : topDownLevels(c.fpnTopDownLevels), scalp(c.scalp), dModel(c.dModel) {
    trunk = register_module("trunk", Hiera(c));
    auto neck = group(*this, "neck");
    auto channels = c.stageChannels();
    for (auto it = channels.rbegin(); it != channels.rend(); ++it) {
        auto level = std::make_shared<torch::nn::Module>();
        lateral.push_back(level->register_module("conv", conv(*it, c.dModel, 1)));
        neckConvs->push_back(level);
    }
    neck->register_module("convs", neckConvs);
}

BackboneOutput Sam2ImageEncoderImpl::forward(const torch::Tensor& image) {
    const auto xs = trunk(image);
    const int n = static_cast<int>(lateral.size()) - 1;
    std::vector<torch::Tensor> out(xs.size());
    torch::Tensor previous;
    for (int i = n; i >= 0; --i) {
        const auto features = lateral[std::size_t(n - i)](xs[std::size_t(i)]);
        if (contains(topDownLevels, i) && previous.defined())
            previous = features + F::interpolate(previous, F::InterpolateFuncOptions()
                                                               .scale_factor(std::vector<double>{2.0, 2.0})
                                                               .mode(torch::kNearest));
        else
            previous = features;
        out[std::size_t(i)] = previous;
    }
    out.resize(out.size() - std::size_t(scalp));
    BackboneOutput r;
    r.backboneFpn = out;
    for (const auto& f : out) r.visionPosEnc.push_back(sinePositionEncoding(f, dModel));
    return r;
}

// ---------------------------------------------------------------- prompt encoder and mask decoder

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

// ---------------------------------------------------------------- memory encoder

CXBlockImpl::CXBlockImpl(int dim) {
    dwconv = register_module("dwconv", conv(dim, dim, 7, 1, 3, dim));
    norm = register_module("norm", ChannelNorm(dim, 1e-6));
    pwconv1 = register_module("pwconv1", torch::nn::Linear(dim, 4 * dim));
    pwconv2 = register_module("pwconv2", torch::nn::Linear(4 * dim, dim));
    gamma = register_parameter("gamma", torch::full({dim}, 1e-6));
}

torch::Tensor CXBlockImpl::forward(const torch::Tensor& input) {
    auto x = norm(dwconv(input)).permute({0, 2, 3, 1});
    x = gamma * pwconv2(torch::gelu(pwconv1(x)));
    return input + x.permute({0, 3, 1, 2});
}

Sam2MemoryEncoderImpl::Sam2MemoryEncoderImpl(const Sam2Config& c) : memDim(c.memDim) {
    auto downsampler = group(*this, "mask_downsampler");
    int in = 1;
    for (int s = 1; s < c.backboneStride(); s *= 2) {  // stride 2 per layer up to the backbone stride
        mask_downsampler->push_back(conv(in, in * 4, 3, 2, 1));
        mask_downsampler->push_back(ChannelNorm(in * 4));
        mask_downsampler->push_back(torch::nn::GELU());
        in *= 4;
    }
    mask_downsampler->push_back(conv(in, c.dModel, 1));
    downsampler->register_module("encoder", mask_downsampler);
    pix_feat_proj = register_module("pix_feat_proj", conv(c.dModel, c.dModel, 1));
    auto f = group(*this, "fuser");
    for (int i = 0; i < 2; ++i) fuser->push_back(CXBlock(c.dModel));
    f->register_module("layers", fuser);
    out_proj = register_module("out_proj", conv(c.dModel, c.memDim, 1));
}

MemoryOutput Sam2MemoryEncoderImpl::forward(const torch::Tensor& pixFeatures,
                                            const torch::Tensor& maskForMemory) {
    auto x = pix_feat_proj(pixFeatures) + mask_downsampler->forward(maskForMemory);
    for (const auto& layer : *fuser) x = layer->as<CXBlock>()->forward(x);
    x = out_proj(x);
    return {x, sinePositionEncoding(x, memDim)};
}

// ---------------------------------------------------------------- memory attention

RoPEAttentionImpl::RoPEAttentionImpl(int dim, int kvDim, int h, double t) : heads(h), theta(t) {
    q_proj = register_module("q_proj", torch::nn::Linear(dim, dim));
    k_proj = register_module("k_proj", torch::nn::Linear(kvDim, dim));
    v_proj = register_module("v_proj", torch::nn::Linear(kvDim, dim));
    out_proj = register_module("out_proj", torch::nn::Linear(dim, dim));
}

torch::Tensor axialRotary(const torch::Tensor& x, int64_t side, double theta) {
    const auto d = x.size(-1), n = x.size(-2);
    const auto opts = x.options().dtype(torch::kFloat32);
    const auto freqs = 1.0 / torch::pow(theta, torch::arange(0, d, 4, opts).slice(0, 0, d / 4) / double(d));
    const auto t = torch::arange(side * side, opts);
    const auto tx = torch::fmod(t, double(side)), ty = torch::floor(t / double(side));
    auto angles = torch::cat({torch::outer(tx, freqs), torch::outer(ty, freqs)}, 1);  // [s*s, d/2]
    angles = angles.repeat({n / (side * side), 1});
    const auto cos = angles.cos(), sin = angles.sin();
    const auto pairs = x.to(torch::kFloat32).reshape({x.size(0), x.size(1), n, d / 2, 2});
    const auto a = pairs.select(-1, 0), b = pairs.select(-1, 1);
    return torch::stack({a * cos - b * sin, a * sin + b * cos}, -1).flatten(3).to(x.dtype());
}

torch::Tensor RoPEAttentionImpl::forward(const torch::Tensor& q, const torch::Tensor& k,
                                         const torch::Tensor& v, int64_t excludeKeys) {
    auto split = [&](const torch::Tensor& t) {
        return t.reshape({t.size(0), t.size(1), heads, t.size(2) / heads}).transpose(1, 2);
    };
    auto qh = split(q_proj(q)), kh = split(k_proj(k)), vh = split(v_proj(v));
    const auto side = static_cast<int64_t>(std::lround(std::sqrt(double(qh.size(2)))));
    if (side * side != qh.size(2)) throw std::invalid_argument("rotary attention needs a square query grid");
    const auto rotated = kh.size(2) - excludeKeys;
    if (rotated % (side * side) != 0)
        throw std::invalid_argument("rotary attention: the keys are not whole query-sized grids");
    qh = axialRotary(qh, side, theta);
    if (rotated > 0) {
        kh = torch::cat({axialRotary(kh.slice(2, 0, rotated), side, theta), kh.slice(2, rotated)}, 2);
    }
    const auto out = attention(qh, kh, vh).transpose(1, 2);
    return out_proj(out.reshape({out.size(0), out.size(1), -1}));
}

MemoryAttentionLayerImpl::MemoryAttentionLayerImpl(const Sam2Config& c) {
    self_attn = register_module("self_attn", RoPEAttention(c.dModel, c.dModel, 1, c.ropeTheta));
    cross_attn_image = register_module("cross_attn_image", RoPEAttention(c.dModel, c.memDim, 1, c.ropeTheta));
    linear1 = register_module("linear1", torch::nn::Linear(c.dModel, c.memoryAttentionFeedforward));
    linear2 = register_module("linear2", torch::nn::Linear(c.memoryAttentionFeedforward, c.dModel));
    norm1 = register_module("norm1", layerNorm(c.dModel));
    norm2 = register_module("norm2", layerNorm(c.dModel));
    norm3 = register_module("norm3", layerNorm(c.dModel));
}

torch::Tensor MemoryAttentionLayerImpl::forward(torch::Tensor tgt, const torch::Tensor& memory,
                                                const torch::Tensor& memoryPos, int64_t objPtrTokens) {
    auto t = norm1(tgt);
    tgt = tgt + self_attn(t, t, t);
    t = norm2(tgt);
    tgt = tgt + cross_attn_image(t, memory + memoryPos, memory, objPtrTokens);
    return tgt + linear2(torch::relu(linear1(norm3(tgt))));
}

Sam2MemoryAttentionImpl::Sam2MemoryAttentionImpl(const Sam2Config& c) {
    for (int i = 0; i < c.memoryAttentionLayers; ++i) layers->push_back(MemoryAttentionLayer(c));
    register_module("layers", layers);
    norm = register_module("norm", layerNorm(c.dModel));
}

torch::Tensor Sam2MemoryAttentionImpl::forward(const torch::Tensor& curr, const torch::Tensor& currPos,
                                               const torch::Tensor& memory, const torch::Tensor& memoryPos,
                                               int64_t objPtrTokens) {
    auto x = (curr + 0.1 * currPos).transpose(0, 1);
    const auto mem = memory.transpose(0, 1), memPos = memoryPos.transpose(0, 1);
    for (const auto& layer : *layers)
        x = layer->as<MemoryAttentionLayer>()->forward(x, mem, memPos, objPtrTokens);
    return norm(x).transpose(0, 1);
}

// ---------------------------------------------------------------- the network

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
