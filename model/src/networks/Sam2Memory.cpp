#include <engram/model/networks/Sam2ImageEncoder.h>  // sinePositionEncoding
#include <engram/model/networks/Sam2Memory.h>

#include <torch/nn/modules/activation.h>

#include "Sam2Layers.h"

namespace engram::model {

using namespace sam2_layers;
using torch::indexing::None;
using torch::indexing::Slice;

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

}  // namespace engram::model
