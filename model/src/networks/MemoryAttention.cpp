#include <engram/model/networks/MemoryAttention.h>

#include <torch/csrc/autograd/grad_mode.h>
#include <torch/nn/functional/pooling.h>
#include <torch/nn/modules/activation.h>
#include "JsonValues.h"

#include <cmath>
#include <stdexcept>

namespace engram::model {

MemoryAttentionConfig MemoryAttentionConfig::fromJson(const std::string& json) {
    MemoryAttentionConfig c;
    nlohmann::json j;
    try {
        j = nlohmann::json::parse(json);
    } catch (const nlohmann::json::exception& e) {
        throw std::invalid_argument(std::string("memory attention configuration is not valid JSON: ") +
                                    e.what());
    }
    const auto get = [&](const char* key, auto& field) { json::readIfPresent(j, key, field); };
    get("dim", c.dim);
    get("width", c.width);
    get("dense_heads", c.denseHeads);
    get("dense_layers", c.denseLayers);
    get("sparse_layers", c.sparseLayers);
    get("sparse_width", c.sparseWidth);
    get("heads", c.heads);
    get("cross_width", c.crossWidth);
    get("mlp_ratio", c.mlpRatio);
    get("dense_context", c.denseContext);
    // Bounds well above the shipped models', so that a model file cannot make the network ask for
    // unbounded memory before its weights are checked.
    const auto bound = [](const char* key, int value, int hi) {
        if (value < 0 || value > hi)
            throw std::invalid_argument(std::string("memory attention configuration: ") + key +
                                        " must be 0.." + std::to_string(hi));
    };
    bound("dim", c.dim, 4096);
    bound("width", c.width, 4096);
    bound("dense_heads", c.denseHeads, 64);
    bound("dense_layers", c.denseLayers, 16);
    bound("sparse_layers", c.sparseLayers, 16);
    bound("sparse_width", c.sparseWidth, 4096);
    bound("heads", c.heads, 64);
    bound("cross_width", c.crossWidth, 4096);
    bound("mlp_ratio", c.mlpRatio, 16);
    bound("dense_context", c.denseContext, 1024);
    if (c.dim <= 0 || c.heads <= 0 || c.sparseWidth % c.heads != 0 || c.crossWidth <= 0 ||
        c.crossWidth % c.heads != 0 || c.denseHeads <= 0 || c.width % c.denseHeads != 0 || c.denseContext < 1)
        throw std::invalid_argument(
            "memory attention configuration: widths must be positive multiples of the heads");
    return c;
}

std::string MemoryAttentionConfig::toJson() const {
    return nlohmann::json{{"dim", dim},
                          {"width", width},
                          {"dense_heads", denseHeads},
                          {"dense_layers", denseLayers},
                          {"sparse_layers", sparseLayers},
                          {"sparse_width", sparseWidth},
                          {"heads", heads},
                          {"cross_width", crossWidth},
                          {"mlp_ratio", mlpRatio},
                          {"dense_context", denseContext}}
        .dump();
}

SparseMemoryLayerImpl::SparseMemoryLayerImpl(int dim, int heads, int mlpRatio) {
    norm1 = register_module("norm1", torch::nn::LayerNorm(torch::nn::LayerNormOptions({dim})));
    attn = register_module("attn", DecoderAttention(dim, heads, 1));
    norm2 = register_module("norm2", torch::nn::LayerNorm(torch::nn::LayerNormOptions({dim})));
    mlp = register_module("mlp", MlpBlock(dim, dim * mlpRatio, false));
}

torch::Tensor SparseMemoryLayerImpl::forward(const torch::Tensor& x) {
    const auto h = norm1(x);
    const auto y = x + attn(h, h, h);
    return y + mlp(norm2(y));
}

namespace {

torch::nn::Conv3d conv1(int in, int out) { return torch::nn::Conv3d(torch::nn::Conv3dOptions(in, out, 1)); }

void zero(torch::nn::Module& m) {
    torch::NoGradGuard g;
    for (auto& p : m.parameters()) p.zero_();
}

// Per voxel, multi-head attention of q [Q,W,V] over k, v [N,W,V] -> [Q,W,V]. Written as einsums over the
// voxel axis: thousands of tiny batched matrix products are several times slower on a CPU.
torch::Tensor voxelAttention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                             int heads) {
    const int64_t Q = q.size(0), N = k.size(0), W = q.size(1), V = q.size(2), hd = W / heads;
    const auto a = torch::einsum("qhdv,nhdv->vhqn", {q.view({Q, heads, hd, V}), k.view({N, heads, hd, V})})
                       .div(std::sqrt(double(hd)))
                       .softmax(-1);
    return torch::einsum("vhqn,nhdv->qhdv", {a, v.view({N, heads, hd, V})}).reshape({Q, W, V});
}

}  // namespace

CrossAttentionImpl::CrossAttentionImpl(int qDim, int kvDim, int width, int h) : heads(h) {
    q_proj = register_module("q_proj", torch::nn::Linear(qDim, width));
    k_proj = register_module("k_proj", torch::nn::Linear(kvDim, width));
    v_proj = register_module("v_proj", torch::nn::Linear(kvDim, width));
    out_proj = register_module("out_proj", torch::nn::Linear(width, qDim));
}

torch::Tensor CrossAttentionImpl::forward(const torch::Tensor& q, const torch::Tensor& kv) {
    auto split = [&](const torch::Tensor& t) {
        return t.reshape({t.size(0), t.size(1), heads, t.size(2) / heads}).transpose(1, 2);
    };
    const auto qh = split(q_proj(q)), kh = split(k_proj(kv)), vh = split(v_proj(kv));
    const auto a = (torch::matmul(qh, kh.transpose(-2, -1)) / std::sqrt(double(qh.size(-1)))).softmax(-1);
    const auto o = torch::matmul(a, vh).transpose(1, 2);
    return out_proj(o.reshape({o.size(0), o.size(1), -1}));
}

DenseMemoryLayerImpl::DenseMemoryLayerImpl(int w, int h, int mlpRatio, int k)
    : width(w), heads(h), context(k) {
    norm1 = register_module("norm1", ChannelNorm(w));
    qkv = register_module("qkv", conv1(w, 3 * w));
    proj = register_module("proj", conv1(w, w));
    norm2 = register_module("norm2", ChannelNorm(w));
    fc1 = register_module("fc1", conv1(w, w * mlpRatio));
    fc2 = register_module("fc2", conv1(w * mlpRatio, w));
}

torch::Tensor DenseMemoryLayerImpl::forward(const torch::Tensor& x) {
    const int64_t N = x.size(0), V = x.size(2) * x.size(3) * x.size(4);
    const auto parts = qkv(norm1(x)).view({N, 3, width, V});
    const int64_t from = std::max<int64_t>(0, N - context);  // the newest memories are last
    const auto o = voxelAttention(parts.select(1, 0), parts.select(1, 1).slice(0, from),
                                  parts.select(1, 2).slice(0, from), heads);
    const auto y = x + proj(o.view(x.sizes()));
    return y + fc2(torch::gelu(fc1(norm2(y))));
}

namespace {
namespace F = torch::nn::functional;
// 2x average pooling on [N,C,G,G,G] (the bank caches it for memories pushed with their encoding).
torch::Tensor pool2(const torch::Tensor& x) { return F::avg_pool3d(x, F::AvgPool3dFuncOptions(2)); }

}  // namespace

torch::Tensor blockReadout(const torch::Tensor& q, const torch::Tensor& full, const torch::Tensor& delta,
                           int heads) {
    const int64_t N = full.size(0), W = q.size(0), V = q.size(1), hd = W / heads;
    const int64_t gd = delta.size(2), gh = delta.size(3), gw = delta.size(4), P = gd * gh * gw;
    const int64_t B = heads * P;  // one small problem per (head, coarse voxel)
    // Per block: the query's 8 voxels [B, hd, 8] and the memories' coarse values [B, N, hd].
    const auto qb =
        q.view({heads, hd, gd, 2, gh, 2, gw, 2}).permute({0, 2, 4, 6, 1, 3, 5, 7}).reshape({B, hd, 8});
    const auto db = delta.reshape({N, heads, hd, P}).permute({1, 3, 0, 2}).reshape({B, N, hd});
    auto blocksToVoxels = [&](const torch::Tensor& t) {  // [B, N, 8] -> [N, heads, V]
        return t.view({heads, gd, gh, gw, N, 2, 2, 2})
            .permute({4, 0, 1, 5, 2, 6, 3, 7})
            .reshape({N, heads, V});
    };
    const auto f = full.view({N, heads, hd, V});
    const auto scores = (f * q.view({1, heads, hd, V})).sum(2) + blocksToVoxels(torch::bmm(db, qb));
    const auto a = (scores / std::sqrt(double(hd))).softmax(0);  // [N, heads, V]
    const auto ab =
        a.view({N, heads, gd, 2, gh, 2, gw, 2}).permute({1, 2, 4, 6, 0, 3, 5, 7}).reshape({B, N, 8});
    const auto coarse = torch::bmm(db.transpose(1, 2), ab)  // [B, hd, 8]
                            .view({heads, gd, gh, gw, hd, 2, 2, 2})
                            .permute({0, 4, 1, 5, 2, 6, 3, 7})
                            .reshape({heads, hd, V});
    return ((a.unsqueeze(2) * f).sum(0) + coarse).reshape({W, V});
}

MemoryAttentionImpl::MemoryAttentionImpl(const MemoryAttentionConfig& c) : config(c) {
    age_embed = register_module("age_embed", torch::nn::Embedding(MemoryBank::kMaxCapacity, c.sparseWidth));
    dense_age_embed =
        register_module("dense_age_embed", torch::nn::Embedding(MemoryBank::kMaxCapacity, c.width));
    dense_encoder->push_back(conv1(c.dim, c.width));
    dense_encoder->push_back(
        torch::nn::Conv3d(torch::nn::Conv3dOptions(c.width, c.width, 3).padding(1).groups(c.width)));
    dense_encoder->push_back(ChannelNorm(c.width));
    register_module("dense_encoder", dense_encoder);
    for (int i = 0; i < c.denseLayers; ++i)
        dense_layers->push_back(DenseMemoryLayer(c.width, c.denseHeads, c.mlpRatio, c.denseContext));
    register_module("dense_layers", dense_layers);
    readout_norm = register_module("readout_norm", ChannelNorm(c.dim));
    readout_q = register_module("readout_q", conv1(c.dim, c.width));
    readout_proj = register_module("readout_proj", conv1(c.width, c.dim));
    sparse_in = register_module("sparse_in", torch::nn::Linear(c.dim, c.sparseWidth));
    for (int i = 0; i < c.sparseLayers; ++i)
        sparse_layers->push_back(SparseMemoryLayer(c.sparseWidth, c.heads, c.mlpRatio));
    register_module("sparse_layers", sparse_layers);
    cross_norm_q =
        register_module("cross_norm_q", torch::nn::LayerNorm(torch::nn::LayerNormOptions({c.dim})));
    cross_norm_kv =
        register_module("cross_norm_kv", torch::nn::LayerNorm(torch::nn::LayerNormOptions({c.sparseWidth})));
    cross_attn = register_module("cross_attn", CrossAttention(c.dim, c.sparseWidth, c.crossWidth, c.heads));
    {
        torch::NoGradGuard g;
        age_embed->weight.normal_(0, 0.02);
        dense_age_embed->weight.normal_(0, 0.02);
    }
    zero(*readout_proj);
    zero(*cross_attn->out_proj);
}

torch::Tensor MemoryAttentionImpl::encodeDense(const torch::Tensor& dense) {
    return dense_encoder->forward(dense.unsqueeze(0)).squeeze(0);
}

torch::Tensor MemoryAttentionImpl::forward(const torch::Tensor& E, const MemoryBank& bank) {
    torch::Tensor owner;
    const auto sparse = bank.sparseStack(&owner);
    torch::Tensor dense = bank.denseFeatureStack();
    if (!dense.defined())
        if (const auto raw = bank.denseStack(); raw.defined())
            dense = dense_encoder->forward(raw[0]).unsqueeze(0);
    if (!sparse.defined() && !dense.defined()) return E;
    const int64_t n = bank.size(), V = E.size(2) * E.size(3) * E.size(4);
    const auto ages = (n - 1 - torch::arange(n, torch::kLong)).to(E.device());  // 0 = newest

    auto out = E;
    if (dense.defined()) {
        // The memories attend to each other on a 2x coarser grid (8x fewer voxels: the cross-memory attention
        // is O(N^2) per voxel); what they learn is added back to the full-resolution encodings:
        // d = full + U(c - coarse) + age, read out per voxel without building d.
        const auto full = dense[0].to(E.dtype());
        const auto age = dense_age_embed(ages).view({n, -1, 1, 1, 1});
        const auto pooled = bank.denseCoarseStack();
        const auto coarse = (pooled.defined() ? pooled[0].to(E.dtype()) : pool2(full)) + age;
        auto c = coarse;
        for (const auto& l : *dense_layers) c = l->as<DenseMemoryLayer>()->forward(c);
        const auto q = readout_q(readout_norm(E)).view({config.width, V});
        const auto r = blockReadout(q, full.view({n, config.width, V}), c - coarse + age, config.denseHeads);
        out = out + readout_proj(r.view({1, config.width, E.size(2), E.size(3), E.size(4)}));
    }
    if (sparse.defined()) {
        auto s = sparse_in(sparse.to(E.dtype())) + age_embed(ages.index({owner.to(E.device())})).unsqueeze(0);
        for (const auto& l : *sparse_layers) s = l->as<SparseMemoryLayer>()->forward(s);
        const auto tokens = out.flatten(2).transpose(1, 2);  // [1,V,P]
        out = out + cross_attn(cross_norm_q(tokens), cross_norm_kv(s)).transpose(1, 2).reshape(E.sizes());
    }
    return out;
}

}  // namespace engram::model
