#include <engram/model/networks/SamMed3D.h>

#include <ATen/ATen.h>
#include <torch/nn/functional/upsampling.h>
#include <torch/nn/modules/activation.h>
#include "JsonValues.h"

#include <cmath>
#include <stdexcept>

namespace engram::model {
namespace F = torch::nn::functional;
using torch::indexing::Slice;

// ---------------------------------------------------------------------------------------------- config

SamMed3DConfig SamMed3DConfig::fromJson(const std::string& json) {
    SamMed3DConfig c;
    nlohmann::json j;
    try {
        j = nlohmann::json::parse(json);
    } catch (const nlohmann::json::exception& e) {
        throw std::invalid_argument(std::string("network configuration is not valid JSON: ") + e.what());
    }
    const auto get = [&](const char* key, auto& field) { json::readIfPresent(j, key, field); };
    get("embed_dim", c.embedDim);
    get("depth", c.depth);
    get("heads", c.heads);
    get("global_attn", c.globalAttn);
    get("prompt_dim", c.promptDim);
    get("img_size", c.imgSize);
    get("patch_size", c.patchSize);
    get("window_size", c.windowSize);
    get("mlp_ratio", c.mlpRatio);
    get("mask_in_chans", c.maskInChans);
    get("decoder_depth", c.decoderDepth);
    get("decoder_heads", c.decoderHeads);
    get("decoder_mlp_dim", c.decoderMlpDim);
    get("num_multimask_outputs", c.numMultimaskOutputs);
    get("iou_head_depth", c.iouHeadDepth);
    get("iou_head_hidden_dim", c.iouHeadHiddenDim);
    get("dense_pe_swap", c.densePeSwap);
    // Bounds well above any released model's, so that a model file cannot make the network ask for
    // unbounded memory before its weights are checked against it.
    const auto bound = [](const char* key, double value, double lo, double hi) {
        if (!(value >= lo && value <= hi))
            throw std::invalid_argument(std::string("network configuration: ") + key + " must be " +
                                        std::to_string(int(lo)) + ".." + std::to_string(int(hi)));
    };
    bound("embed_dim", c.embedDim, 1, 4096);
    bound("depth", c.depth, 1, 64);
    bound("heads", c.heads, 1, 64);
    bound("prompt_dim", c.promptDim, 3, 4096);
    bound("img_size", c.imgSize, 1, 512);
    bound("patch_size", c.patchSize, 1, 64);
    bound("window_size", c.windowSize, 0, 64);
    bound("mlp_ratio", c.mlpRatio, 0, 16);
    bound("mask_in_chans", c.maskInChans, 1, 1024);
    bound("decoder_depth", c.decoderDepth, 1, 16);
    bound("decoder_heads", c.decoderHeads, 1, 64);
    bound("decoder_mlp_dim", c.decoderMlpDim, 1, 16384);
    bound("num_multimask_outputs", c.numMultimaskOutputs, 0, 8);
    bound("iou_head_depth", c.iouHeadDepth, 1, 16);
    bound("iou_head_hidden_dim", c.iouHeadHiddenDim, 1, 4096);
    if (c.embedDim % c.heads != 0)
        throw std::invalid_argument("network configuration: embed_dim must be a positive multiple of heads");
    if (c.promptDim % 3 != 0)
        throw std::invalid_argument("network configuration: prompt_dim must be a multiple of 3");
    if (c.patchSize <= 0 || c.imgSize % c.patchSize != 0)
        throw std::invalid_argument("network configuration: img_size must be a multiple of patch_size");
    if ((c.promptDim / 2) % c.decoderHeads != 0)
        throw std::invalid_argument("network configuration: decoder_heads must divide prompt_dim / 2");
    return c;
}

std::string SamMed3DConfig::toJson() const {
    nlohmann::json j = {{"embed_dim", embedDim},
                        {"depth", depth},
                        {"heads", heads},
                        {"global_attn", globalAttn},
                        {"prompt_dim", promptDim},
                        {"img_size", imgSize},
                        {"patch_size", patchSize},
                        {"window_size", windowSize},
                        {"mlp_ratio", mlpRatio},
                        {"mask_in_chans", maskInChans},
                        {"decoder_depth", decoderDepth},
                        {"decoder_heads", decoderHeads},
                        {"decoder_mlp_dim", decoderMlpDim},
                        {"num_multimask_outputs", numMultimaskOutputs},
                        {"iou_head_depth", iouHeadDepth},
                        {"iou_head_hidden_dim", iouHeadHiddenDim},
                        {"dense_pe_swap", densePeSwap}};
    return j.dump();
}

// ------------------------------------------------------------------------------------------- building blocks

namespace {

// The relative-position rows for every (query, key) coordinate pair along one axis: [q, k, C].
torch::Tensor relPos(int64_t qSize, int64_t kSize, const torch::Tensor& table) {
    const int64_t maxDist = 2 * std::max(qSize, kSize) - 1;
    torch::Tensor resized = table;
    if (table.size(0) != maxDist) {
        resized = F::interpolate(table.reshape({1, table.size(0), -1}).permute({0, 2, 1}),
                                 F::InterpolateFuncOptions()
                                     .size(std::vector<int64_t>{maxDist})
                                     .mode(torch::kLinear)
                                     .align_corners(false))
                      .reshape({-1, maxDist})
                      .permute({1, 0});
    }
    const double qScale = std::max(double(kSize) / double(qSize), 1.0);
    const double kScale = std::max(double(qSize) / double(kSize), 1.0);
    const auto opts = torch::TensorOptions().dtype(torch::kFloat64);
    const auto q = torch::arange(qSize, opts).unsqueeze(1) * qScale;
    const auto k = torch::arange(kSize, opts).unsqueeze(0) * kScale;
    const auto idx = ((q - k) + double(kSize - 1) * kScale).to(torch::kLong).to(table.device());
    return resized.index({idx});
}

}  // namespace

EncoderAttentionImpl::EncoderAttentionImpl(int dim, int h, int tableSide) : heads(h), headDim(dim / h) {
    scale = 1.0 / std::sqrt(double(headDim));
    qkv = register_module("qkv", torch::nn::Linear(torch::nn::LinearOptions(dim, dim * 3).bias(true)));
    proj = register_module("proj", torch::nn::Linear(dim, dim));
    rel_pos_d = register_parameter("rel_pos_d", torch::zeros({2 * tableSide - 1, headDim}));
    rel_pos_h = register_parameter("rel_pos_h", torch::zeros({2 * tableSide - 1, headDim}));
    rel_pos_w = register_parameter("rel_pos_w", torch::zeros({2 * tableSide - 1, headDim}));
}

// QUIRK 4 (reference add_decomposed_rel_pos): its broadcasting does not line the per-axis terms up with the
// key axes their names suggest. On the [qd,qh,qw,kd,kh,kw] score grid it adds
//     q(qd,qh,qw).Rd[qd,kw]  +  q(qd,qh,kd).Rh[qh,kw]  +  q(qd,qh,kh).Rw[kh,kw]
// (valid for cubic grids only, as the reference's are). The weights were trained with it, so both encoder
// paths reproduce it; note that the last two terms read queries at other positions, padded ones included.
torch::Tensor EncoderAttentionImpl::forward(const torch::Tensor& x) {
    const int64_t B = x.size(0), D = x.size(1), H = x.size(2), W = x.size(3), N = D * H * W;
    const auto parts = qkv(x)
                           .reshape({B, N, 3, heads, headDim})
                           .permute({2, 0, 3, 1, 4})
                           .reshape({3, B * heads, N, headDim});
    const auto q = parts[0], k = parts[1], v = parts[2];
    const auto rq = q.reshape({B * heads, D, H, W, headDim});  // unscaled queries, as the reference
    const auto rd = torch::einsum("bdhwc,dkc->bdhwk", {rq, relPos(D, D, rel_pos_d)});
    const auto rh = torch::einsum("bdhwc,hkc->bdhwk", {rq, relPos(H, H, rel_pos_h)});
    const auto rw = torch::einsum("bdhwc,wkc->bdhwk", {rq, relPos(W, W, rel_pos_w)});
    // The two terms that do not depend on qw summed first (an eighth of the score grid), then both added in
    // place to the scores: two passes over the N x N grid instead of three.
    const auto attn = torch::matmul(q * scale, k.transpose(-2, -1));
    attn.view({B * heads, D, H, W, D, H, W})
        .add_(rh.unsqueeze(3).unsqueeze(5) + rw.unsqueeze(3).unsqueeze(3))
        .add_(rd.unsqueeze(4).unsqueeze(4));
    const auto out = torch::matmul(attn.softmax(-1), v)
                         .view({B, heads, D, H, W, headDim})
                         .permute({0, 2, 3, 4, 1, 5})
                         .reshape({B, D, H, W, heads * headDim});
    return proj(out);
}

torch::Tensor EncoderAttentionImpl::forwardPaddedWindow(const torch::Tensor& xr, int window) {
    const int64_t S = window, B = xr.size(0), rd = xr.size(1), rh = xr.size(2), rw = xr.size(3),
                  n = rd * rh * rw;
    const int64_t BH = B * heads;
    const auto parts =
        qkv(xr).reshape({B, n, 3, heads, headDim}).permute({2, 0, 3, 1, 4}).reshape({3, BH, n, headDim});
    const auto q = parts[0], k = parts[1], v = parts[2];
    // A padded token is zero after norm1, so its query, key and value are the projection biases.
    const auto bias = qkv->bias.view({3, heads, 1, headDim});
    const auto bq = bias[0].repeat({B, 1, 1}), bk = bias[1].repeat({B, 1, 1}), bv = bias[2].repeat({B, 1, 1});

    // Queries of the real (qd, qh) rows at every w position of the window: padded ones are the bias.
    const auto rq = q.reshape({BH, rd, rh, rw, headDim});
    const auto qExt =
        torch::cat({rq, bq.view({BH, 1, 1, 1, headDim}).expand({BH, rd, rh, S - rw, headDim})}, 3);
    const auto Rd = relPos(S, S, rel_pos_d), Rh = relPos(S, S, rel_pos_h), Rw = relPos(S, S, rel_pos_w);
    // The three terms of QUIRK 4, over every key coordinate of the window:
    const auto A = torch::einsum("bdhwc,dkc->bdhwk", {rq, Rd.index({Slice(0, rd)})});     // [BH,rd,rh,rw,kw]
    const auto Bt = torch::einsum("bdhjc,hkc->bdhjk", {qExt, Rh.index({Slice(0, rh)})});  // [BH,rd,rh,kd,kw]
    const auto Ct = torch::einsum("bdhjc,jkc->bdhjk", {qExt, Rw});                        // [BH,rd,rh,kh,kw]

    // Scores against the real keys, as in the literal computation.
    auto real = torch::matmul(q * scale, k.transpose(-2, -1)).view({BH, rd, rh, rw, rd, rh, rw});
    real = real + A.index({"...", Slice(0, rw)}).unsqueeze(4).unsqueeze(4) +
           Bt.index({Slice(), Slice(), Slice(), Slice(0, rd), Slice(0, rw)}).unsqueeze(3).unsqueeze(5) +
           Ct.index({Slice(), Slice(), Slice(), Slice(0, rh), Slice(0, rw)}).unsqueeze(3).unsqueeze(3);
    real = real.view({BH, n, n});

    // The padded keys share one key vector bk. Their total weight factorises per kw:
    //   sum_kw exp(A[kw]) * sum_kd exp(B[kd,kw]) * sum_kh exp(C[kh,kw])   over the whole window,
    // minus the same sum over the real box; both in log space.
    const auto base = torch::matmul(q * scale, bk.transpose(-2, -1)).view({BH, rd, rh, rw});
    const auto lseB = Bt.logsumexp(3).unsqueeze(3), lseC = Ct.logsumexp(3).unsqueeze(3);  // [BH,rd,rh,1,kw]
    const auto lseBbox = Bt.index({Slice(), Slice(), Slice(), Slice(0, rd)}).logsumexp(3).unsqueeze(3);
    const auto lseCbox = Ct.index({Slice(), Slice(), Slice(), Slice(0, rh)}).logsumexp(3).unsqueeze(3);
    const auto logFull = base + (A + lseB + lseC).logsumexp(-1);
    const auto logBox = base + (A + lseBbox + lseCbox).index({"...", Slice(0, rw)}).logsumexp(-1);
    torch::Tensor logPad;
    if (rd == S && rh == S && rw == S)
        logPad = torch::full_like(logFull, -std::numeric_limits<float>::infinity());
    else
        logPad = logFull + torch::log1p(-torch::exp(logBox - logFull));
    logPad = logPad.view({BH, n});

    const auto m = torch::maximum(std::get<0>(real.max(-1)), logPad).unsqueeze(-1);  // [BH, n, 1]
    const auto wReal = torch::exp(real - m);
    const auto wPad = torch::exp(logPad.unsqueeze(-1) - m);
    const auto out = (torch::matmul(wReal, v) + wPad * bv) / (wReal.sum(-1, true) + wPad);
    return proj(out.view({B, heads, rd, rh, rw, headDim})
                    .permute({0, 2, 3, 4, 1, 5})
                    .reshape({B, rd, rh, rw, heads * headDim}));
}

EncoderBlockImpl::EncoderBlockImpl(const SamMed3DConfig& c, int window) : windowSize(window) {
    norm1 =
        register_module("norm1", torch::nn::LayerNorm(torch::nn::LayerNormOptions({c.embedDim}).eps(1e-6)));
    attn = register_module("attn", EncoderAttention(c.embedDim, c.heads, window > 0 ? window : c.gridSize()));
    norm2 =
        register_module("norm2", torch::nn::LayerNorm(torch::nn::LayerNormOptions({c.embedDim}).eps(1e-6)));
    mlp = register_module("mlp", MlpBlock(c.embedDim, int(c.embedDim * c.mlpRatio), false));
}

torch::Tensor EncoderBlockImpl::forward(const torch::Tensor& x, EncoderAttentionMode mode) {
    const auto shortcut = x;
    auto h = norm1(x);
    if (windowSize == 0) {
        h = attn(h);
    } else {
        const int64_t S = windowSize, B = h.size(0), D = h.size(1), H = h.size(2), W = h.size(3),
                      C = h.size(4);
        const int64_t Dp = (D + S - 1) / S * S, Hp = (H + S - 1) / S * S, Wp = (W + S - 1) / S * S;
        if (mode == EncoderAttentionMode::Literal) {
            // As the reference: zero-pad, partition into windows, attend over whole windows, crop.
            auto p = F::pad(h, F::PadFuncOptions({0, 0, 0, Wp - W, 0, Hp - H, 0, Dp - D}));
            p = p.view({B, Dp / S, S, Hp / S, S, Wp / S, S, C})
                    .permute({0, 1, 3, 5, 2, 4, 6, 7})
                    .reshape({-1, S, S, S, C});
            p = attn(p)
                    .view({B, Dp / S, Hp / S, Wp / S, S, S, S, C})
                    .permute({0, 1, 4, 2, 5, 3, 6, 7})
                    .reshape({B, Dp, Hp, Wp, C});
            h = p.index({Slice(), Slice(0, D), Slice(0, H), Slice(0, W)});
        } else {
            auto out = torch::empty({B, D, H, W, C}, h.options());
            for (int64_t d0 = 0; d0 < D; d0 += S)
                for (int64_t h0 = 0; h0 < H; h0 += S)
                    for (int64_t w0 = 0; w0 < W; w0 += S) {
                        const auto box =
                            h.index({Slice(), Slice(d0, std::min(d0 + S, D)), Slice(h0, std::min(h0 + S, H)),
                                     Slice(w0, std::min(w0 + S, W))});
                        out.index_put_({Slice(), Slice(d0, std::min(d0 + S, D)),
                                        Slice(h0, std::min(h0 + S, H)), Slice(w0, std::min(w0 + S, W))},
                                       attn->forwardPaddedWindow(box, int(S)));
                    }
            h = out;
        }
    }
    auto y = shortcut + h;
    return y + mlp(norm2(y));
}

PatchEmbedImpl::PatchEmbedImpl(int patch, int dim) {
    proj = register_module("proj", torch::nn::Conv3d(torch::nn::Conv3dOptions(1, dim, patch).stride(patch)));
}

torch::Tensor PatchEmbedImpl::forward(const torch::Tensor& x) { return proj(x).permute({0, 2, 3, 4, 1}); }

ImageEncoderImpl::ImageEncoderImpl(const SamMed3DConfig& c) {
    const int g = c.gridSize();
    patch_embed = register_module("patch_embed", PatchEmbed(c.patchSize, c.embedDim));
    pos_embed = register_parameter("pos_embed", torch::zeros({1, g, g, g, c.embedDim}));
    for (int i = 0; i < c.depth; ++i) {
        const bool global = std::find(c.globalAttn.begin(), c.globalAttn.end(), i) != c.globalAttn.end();
        blocks->push_back(EncoderBlock(c, global ? 0 : c.windowSize));
    }
    register_module("blocks", blocks);
    neck->push_back(torch::nn::Conv3d(torch::nn::Conv3dOptions(c.embedDim, c.promptDim, 1).bias(false)));
    neck->push_back(ChannelNorm(c.promptDim));
    neck->push_back(
        torch::nn::Conv3d(torch::nn::Conv3dOptions(c.promptDim, c.promptDim, 3).padding(1).bias(false)));
    neck->push_back(ChannelNorm(c.promptDim));
    register_module("neck", neck);
}

torch::Tensor ImageEncoderImpl::forward(const torch::Tensor& image) {
    auto x = patch_embed(image) + pos_embed;
    for (const auto& b : *blocks) {
        if (shouldStop && shouldStop()) throw Cancelled();
        x = b->as<EncoderBlock>()->forward(x, mode);
    }
    return neck->forward(x.permute({0, 4, 1, 2, 3}));
}

// ------------------------------------------------------------------------------------------ prompt encoder

PositionEmbeddingRandomImpl::PositionEmbeddingRandomImpl(int features) {
    positional_encoding_gaussian_matrix =
        register_buffer("positional_encoding_gaussian_matrix", torch::randn({3, features}));
}

torch::Tensor PositionEmbeddingRandomImpl::encode(const torch::Tensor& unitCoords) {
    // Always in float32: 2*pi*coords reaches tens of radians, where half-precision sines are meaningless.
    const auto g = positional_encoding_gaussian_matrix.to(torch::kFloat32);
    const auto c = torch::matmul(2 * unitCoords.to(torch::kFloat32) - 1, g) * (2 * M_PI);
    const auto s = torch::sin(c);
    return torch::cat({s, torch::cos(c), s}, -1)
        .to(positional_encoding_gaussian_matrix.scalar_type());  // QUIRK 2
}

torch::Tensor PositionEmbeddingRandomImpl::dense(int side, bool swap01) {
    const auto opts =
        torch::TensorOptions().dtype(torch::kFloat32).device(positional_encoding_gaussian_matrix.device());
    const auto grid = torch::ones({side, side, side}, opts);
    const auto along0 = (grid.cumsum(0) - 0.5) / side;
    const auto along1 = (grid.cumsum(1) - 0.5) / side;
    const auto along2 = (grid.cumsum(2) - 0.5) / side;
    // QUIRK 3: the first slot varies along dim 1 and the second along dim 0 (points use dim order).
    const auto coords =
        swap01 ? torch::stack({along1, along0, along2}, -1) : torch::stack({along0, along1, along2}, -1);
    return encode(coords).permute({3, 0, 1, 2});
}

PromptEncoderImpl::PromptEncoderImpl(const SamMed3DConfig& c)
    : dim(c.promptDim), grid(c.gridSize()), imgSize(c.imgSize), densePeSwap(c.densePeSwap) {
    pe_layer = register_module("pe_layer", PositionEmbeddingRandom(c.promptDim / 3));
    point_embeddings->push_back(torch::nn::Embedding(1, dim));
    point_embeddings->push_back(torch::nn::Embedding(1, dim));
    register_module("point_embeddings", point_embeddings);
    not_a_point_embed = register_module("not_a_point_embed", torch::nn::Embedding(1, dim));
    const int m = c.maskInChans;
    mask_downscaling->push_back(torch::nn::Conv3d(torch::nn::Conv3dOptions(1, m / 4, 2).stride(2)));
    mask_downscaling->push_back(ChannelNorm(m / 4));
    mask_downscaling->push_back(torch::nn::GELU());
    mask_downscaling->push_back(torch::nn::Conv3d(torch::nn::Conv3dOptions(m / 4, m, 2).stride(2)));
    mask_downscaling->push_back(ChannelNorm(m));
    mask_downscaling->push_back(torch::nn::GELU());
    mask_downscaling->push_back(torch::nn::Conv3d(torch::nn::Conv3dOptions(m, dim, 1)));
    register_module("mask_downscaling", mask_downscaling);
    no_mask_embed = register_module("no_mask_embed", torch::nn::Embedding(1, dim));
}

PromptEmbeddings PromptEncoderImpl::forward(const torch::Tensor& coords, const torch::Tensor& labels,
                                            const torch::Tensor& prevLowResLogits) {
    const int64_t B = coords.size(0);
    // Shift to voxel centres, then append the padding point (label -1) at the origin.
    const auto points = torch::cat(
        {coords.to(torch::kFloat32) + 0.5, torch::zeros({B, 1, 3}, coords.options().dtype(torch::kFloat32))},
        1);
    const auto lab =
        torch::cat({labels.to(torch::kLong), -torch::ones({B, 1}, labels.options().dtype(torch::kLong))}, 1)
            .unsqueeze(-1);
    auto pe = pe_layer->encode(points / double(imgSize));
    pe = torch::where(lab == -1, not_a_point_embed->weight.view({1, 1, -1}), pe);
    pe = pe +
         (lab == 0).to(pe.dtype()) * point_embeddings[0]->as<torch::nn::Embedding>()->weight.view({1, 1, -1});
    pe = pe +
         (lab == 1).to(pe.dtype()) * point_embeddings[1]->as<torch::nn::Embedding>()->weight.view({1, 1, -1});
    PromptEmbeddings out;
    out.sparse = pe;
    if (prevLowResLogits.defined())
        out.dense = mask_downscaling->forward(prevLowResLogits);
    else
        out.dense = no_mask_embed->weight.view({1, -1, 1, 1, 1}).expand({B, -1, grid, grid, grid});
    return out;
}

torch::Tensor PromptEncoderImpl::densePe() { return pe_layer->dense(grid, densePeSwap).unsqueeze(0); }

// ------------------------------------------------------------------------------------------- mask decoder

MaskDecoderImpl::MaskDecoderImpl(const SamMed3DConfig& c) : numMaskTokens(c.numMultimaskOutputs + 1) {
    const int d = c.promptDim;
    transformer = register_module(
        "transformer",
        TwoWayTransformer(TwoWayOptions{c.decoderDepth, c.decoderHeads, c.decoderMlpDim, false}, d));
    iou_token = register_module("iou_token", torch::nn::Embedding(1, d));
    mask_tokens = register_module("mask_tokens", torch::nn::Embedding(numMaskTokens, d));
    output_upscaling->push_back(
        torch::nn::ConvTranspose3d(torch::nn::ConvTranspose3dOptions(d, d / 4, 2).stride(2)));
    output_upscaling->push_back(ChannelNorm(d / 4));
    output_upscaling->push_back(torch::nn::GELU());
    output_upscaling->push_back(
        torch::nn::ConvTranspose3d(torch::nn::ConvTranspose3dOptions(d / 4, d / 8, 2).stride(2)));
    output_upscaling->push_back(torch::nn::GELU());
    register_module("output_upscaling", output_upscaling);
    for (int i = 0; i < numMaskTokens; ++i) output_hypernetworks_mlps->push_back(Mlp(d, d, d / 8, 3));
    register_module("output_hypernetworks_mlps", output_hypernetworks_mlps);
    iou_prediction_head =
        register_module("iou_prediction_head", Mlp(d, c.iouHeadHiddenDim, numMaskTokens, c.iouHeadDepth));
}

MaskPrediction MaskDecoderImpl::forward(const torch::Tensor& imageEmbedding, const torch::Tensor& densePe,
                                        const torch::Tensor& sparse, const torch::Tensor& dense,
                                        bool multimask) {
    const int64_t B = sparse.size(0);
    const auto outputTokens =
        torch::cat({iou_token->weight, mask_tokens->weight}, 0).unsqueeze(0).expand({B, -1, -1});
    const auto tokens = torch::cat({outputTokens, sparse}, 1);
    auto src =
        (imageEmbedding.size(0) == B ? imageEmbedding : imageEmbedding.repeat_interleave(B, 0)) + dense;
    const auto pos = densePe.size(0) == B ? densePe : densePe.repeat_interleave(B, 0);
    const auto sizes = src.sizes().vec();
    auto [hs, keys] = transformer(src, pos, tokens);
    src = keys.transpose(1, 2).view(sizes);
    const auto up = output_upscaling->forward(src);
    // Only the masks returned are computed: token 0 alone, or tokens 1.. for multimask output.
    const int first = multimask ? 1 : 0, last = multimask ? numMaskTokens : 1;
    std::vector<torch::Tensor> hyper;
    for (int i = first; i < last; ++i)
        hyper.push_back(output_hypernetworks_mlps[i]->as<Mlp>()->forward(hs.index({Slice(), 1 + i})));
    const auto u = up.sizes();
    auto masks =
        torch::matmul(torch::stack(hyper, 1), up.view({u[0], u[1], -1})).view({u[0], -1, u[2], u[3], u[4]});
    auto iou = iou_prediction_head(hs.index({Slice(), 0}));
    return {masks, iou.index({Slice(), Slice(first, last)})};
}

SamMed3DImpl::SamMed3DImpl(const SamMed3DConfig& c) : config(c) {
    image_encoder = register_module("image_encoder", ImageEncoder(c));
    prompt_encoder = register_module("prompt_encoder", PromptEncoder(c));
    mask_decoder = register_module("mask_decoder", MaskDecoder(c));
}

}  // namespace engram::model
