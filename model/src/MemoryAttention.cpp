#include <engram/model/MemoryAttention.h>

#include <torch/csrc/autograd/grad_mode.h>
#include <nlohmann/json.hpp>

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
    auto get = [&](const char* key, int& field) {
        if (j.contains(key)) field = j.at(key).get<int>();
    };
    get("dim", c.dim);
    get("heads", c.heads);
    get("sparse_layers", c.sparseLayers);
    get("dense_layers", c.denseLayers);
    get("dense_width", c.denseWidth);
    get("dense_heads", c.denseHeads);
    get("readout_width", c.readoutWidth);
    get("mlp_ratio", c.mlpRatio);
    if (c.dim <= 0 || c.heads <= 0 || c.dim % c.heads != 0 || c.denseHeads <= 0 ||
        c.denseWidth % c.denseHeads != 0)
        throw std::invalid_argument(
            "memory attention configuration: widths must be positive multiples of the heads");
    return c;
}

std::string MemoryAttentionConfig::toJson() const {
    return nlohmann::json{{"dim", dim},
                          {"heads", heads},
                          {"sparse_layers", sparseLayers},
                          {"dense_layers", denseLayers},
                          {"dense_width", denseWidth},
                          {"dense_heads", denseHeads},
                          {"readout_width", readoutWidth},
                          {"mlp_ratio", mlpRatio}}
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
}  // namespace

DenseMemoryLayerImpl::DenseMemoryLayerImpl(int dim, int w, int h, int mlpRatio) : width(w), heads(h) {
    norm1 = register_module("norm1", LayerNorm3d(dim));
    local = register_module("local",
                            torch::nn::Conv3d(torch::nn::Conv3dOptions(dim, dim, 3).padding(1).groups(dim)));
    qkv = register_module("qkv", conv1(dim, 3 * w));
    proj = register_module("proj", conv1(w, dim));
    norm2 = register_module("norm2", LayerNorm3d(dim));
    fc1 = register_module("fc1", conv1(dim, dim * mlpRatio));
    fc2 = register_module("fc2", conv1(dim * mlpRatio, dim));
}

torch::Tensor DenseMemoryLayerImpl::forward(const torch::Tensor& x) {
    const int64_t N = x.size(0), V = x.size(2) * x.size(3) * x.size(4), hd = width / heads;
    const auto h = local(norm1(x));
    // [N, 3, heads, hd, V] -> per voxel and head, attention across the N memories.
    const auto parts = qkv(h).view({N, 3, heads, hd, V}).permute({1, 4, 2, 0, 3});  // [3, V, heads, N, hd]
    const auto q = parts[0], k = parts[1], v = parts[2];
    const auto a = (torch::matmul(q, k.transpose(-2, -1)) / std::sqrt(double(hd))).softmax(-1);
    const auto o =
        torch::matmul(a, v).permute({2, 1, 3, 0}).reshape({N, width, x.size(2), x.size(3), x.size(4)});
    const auto y = x + proj(o);
    return y + fc2(torch::gelu(fc1(norm2(y))));
}

MemoryAttentionImpl::MemoryAttentionImpl(const MemoryAttentionConfig& c) : config(c) {
    age_embed = register_module("age_embed", torch::nn::Embedding(MemoryBank::kMaxCapacity, c.dim));
    for (int i = 0; i < c.sparseLayers; ++i)
        sparse_layers->push_back(SparseMemoryLayer(c.dim, c.heads, c.mlpRatio));
    register_module("sparse_layers", sparse_layers);
    for (int i = 0; i < c.denseLayers; ++i)
        dense_layers->push_back(DenseMemoryLayer(c.dim, c.denseWidth, c.denseHeads, c.mlpRatio));
    register_module("dense_layers", dense_layers);
    readout_norm = register_module("readout_norm", LayerNorm3d(c.dim));
    readout_q = register_module("readout_q", conv1(c.dim, c.readoutWidth));
    readout_k = register_module("readout_k", conv1(c.dim, c.readoutWidth));
    readout_v = register_module("readout_v", conv1(c.dim, c.readoutWidth));
    readout_proj = register_module("readout_proj", conv1(c.readoutWidth, c.dim));
    cross_norm_q =
        register_module("cross_norm_q", torch::nn::LayerNorm(torch::nn::LayerNormOptions({c.dim})));
    cross_norm_kv =
        register_module("cross_norm_kv", torch::nn::LayerNorm(torch::nn::LayerNormOptions({c.dim})));
    cross_attn = register_module("cross_attn", DecoderAttention(c.dim, c.heads, 1));
    cross_proj = register_module("cross_proj", torch::nn::Linear(c.dim, c.dim));
    {
        torch::NoGradGuard g;
        age_embed->weight.normal_(0, 0.02);
    }
    zero(*readout_proj);
    zero(*cross_proj);
}

torch::Tensor MemoryAttentionImpl::forward(const torch::Tensor& E, const MemoryBank& bank) {
    torch::Tensor owner;
    auto sparse = bank.sparseStack(&owner);
    auto dense = bank.denseStack();
    if (!sparse.defined() && !dense.defined()) return E;
    const int64_t n = bank.size();
    const auto ages = (n - 1 - torch::arange(n, torch::kLong)).to(E.device());  // 0 = newest
    const auto ageEmb = age_embed(ages);                                        // [n, P]
    const auto G = E.sizes().slice(2);
    const int64_t V = E.size(2) * E.size(3) * E.size(4);

    auto out = E;
    torch::Tensor readout;  // [1, P, G,G,G]
    if (dense.defined()) {
        auto d = dense[0].to(E.dtype()) + ageEmb.view({n, -1, 1, 1, 1});
        for (const auto& l : *dense_layers) d = l->as<DenseMemoryLayer>()->forward(d);
        const int64_t w = config.readoutWidth;
        const auto q = readout_q(readout_norm(E)).view({w, V}).t().unsqueeze(1);       // [V,1,w]
        const auto k = readout_k(readout_norm(d)).view({n, w, V}).permute({2, 0, 1});  // [V,n,w]
        const auto v = readout_v(d).view({n, w, V}).permute({2, 0, 1});                // [V,n,w]
        const auto a = (torch::matmul(q, k.transpose(-2, -1)) / std::sqrt(double(w))).softmax(-1);
        readout = readout_proj(torch::matmul(a, v).squeeze(1).t().reshape({1, w, G[0], G[1], G[2]}));
        out = out + readout;
    }
    if (sparse.defined()) {
        auto s = sparse.to(E.dtype()) + ageEmb.index({owner.to(E.device())}).unsqueeze(0);
        for (const auto& l : *sparse_layers) s = l->as<SparseMemoryLayer>()->forward(s);
        // Voxels (of the embedding as conditioned on the dense memories) attend to the sparse memory tokens.
        const auto tokens = out.flatten(2).transpose(1, 2);  // [1,V,P]
        const auto c = cross_attn(cross_norm_q(tokens), cross_norm_kv(s), cross_norm_kv(s));
        out = out + cross_proj(c).transpose(1, 2).reshape(E.sizes());
    }
    return out;
}

}  // namespace engram::model
