#include <engram/model/networks/SamBlocks.h>

#include <torch/nn/modules/activation.h>
#include <torch/torch.h>

#include <cmath>

namespace engram::model {

ChannelNormImpl::ChannelNormImpl(int channels, double e) : eps(e) {
    weight = register_parameter("weight", torch::ones({channels}));
    bias = register_parameter("bias", torch::zeros({channels}));
}

torch::Tensor ChannelNormImpl::forward(const torch::Tensor& x) {
    const auto u = x.mean(1, true);
    const auto s = (x - u).pow(2).mean(1, true);
    const auto n = (x - u) / torch::sqrt(s + eps);
    std::vector<int64_t> shape(static_cast<std::size_t>(x.dim()), 1);
    shape[1] = -1;
    return weight.view(shape) * n + bias.view(shape);
}

MlpBlockImpl::MlpBlockImpl(int dim, int hidden, bool useRelu) : relu(useRelu) {
    lin1 = register_module("lin1", torch::nn::Linear(dim, hidden));
    lin2 = register_module("lin2", torch::nn::Linear(hidden, dim));
}

torch::Tensor MlpBlockImpl::forward(const torch::Tensor& x) {
    const auto h = lin1(x);
    return lin2(relu ? torch::relu(h) : torch::gelu(h));
}

DecoderAttentionImpl::DecoderAttentionImpl(int dim, int h, int downsample) : heads(h) {
    const int internal = dim / downsample;
    q_proj = register_module("q_proj", torch::nn::Linear(dim, internal));
    k_proj = register_module("k_proj", torch::nn::Linear(dim, internal));
    v_proj = register_module("v_proj", torch::nn::Linear(dim, internal));
    out_proj = register_module("out_proj", torch::nn::Linear(internal, dim));
}

torch::Tensor DecoderAttentionImpl::forward(const torch::Tensor& q, const torch::Tensor& k,
                                            const torch::Tensor& v) {
    auto split = [&](const torch::Tensor& t) {
        return t.reshape({t.size(0), t.size(1), heads, t.size(2) / heads}).transpose(1, 2);
    };
    const auto qh = split(q_proj(q)), kh = split(k_proj(k)), vh = split(v_proj(v));
    const auto attn = (torch::matmul(qh, kh.transpose(-2, -1)) / std::sqrt(double(qh.size(-1)))).softmax(-1);
    const auto out = torch::matmul(attn, vh).transpose(1, 2);
    return out_proj(out.reshape({out.size(0), out.size(1), -1}));
}

TwoWayBlockImpl::TwoWayBlockImpl(const TwoWayOptions& o, int dim, bool skip) : skipFirstLayerPe(skip) {
    self_attn = register_module("self_attn", DecoderAttention(dim, o.heads, 1));
    norm1 = register_module("norm1", torch::nn::LayerNorm(torch::nn::LayerNormOptions({dim})));
    cross_attn_token_to_image =
        register_module("cross_attn_token_to_image", DecoderAttention(dim, o.heads, 2));
    norm2 = register_module("norm2", torch::nn::LayerNorm(torch::nn::LayerNormOptions({dim})));
    if (o.mlpLayersKeys)
        mlpLayers = register_module("mlp", Mlp(dim, o.mlpDim, dim, 2));
    else
        mlp = register_module("mlp", MlpBlock(dim, o.mlpDim, true));
    norm3 = register_module("norm3", torch::nn::LayerNorm(torch::nn::LayerNormOptions({dim})));
    norm4 = register_module("norm4", torch::nn::LayerNorm(torch::nn::LayerNormOptions({dim})));
    cross_attn_image_to_token =
        register_module("cross_attn_image_to_token", DecoderAttention(dim, o.heads, 2));
}

void TwoWayBlockImpl::forward(torch::Tensor& queries, torch::Tensor& keys, const torch::Tensor& queryPe,
                              const torch::Tensor& keyPe) {
    if (skipFirstLayerPe) {
        queries = self_attn(queries, queries, queries);
    } else {
        const auto q = queries + queryPe;
        queries = queries + self_attn(q, q, queries);
    }
    queries = norm1(queries);
    queries = norm2(queries + cross_attn_token_to_image(queries + queryPe, keys + keyPe, keys));
    queries = norm3(queries + (mlpLayers ? mlpLayers(queries) : mlp(queries)));
    keys = norm4(keys + cross_attn_image_to_token(keys + keyPe, queries + queryPe, queries));
}

TwoWayTransformerImpl::TwoWayTransformerImpl(const TwoWayOptions& o, int dim) {
    for (int i = 0; i < o.depth; ++i) layers->push_back(TwoWayBlock(o, dim, i == 0));
    register_module("layers", layers);
    final_attn_token_to_image =
        register_module("final_attn_token_to_image", DecoderAttention(dim, o.heads, 2));
    norm_final_attn =
        register_module("norm_final_attn", torch::nn::LayerNorm(torch::nn::LayerNormOptions({dim})));
}

std::pair<torch::Tensor, torch::Tensor> TwoWayTransformerImpl::forward(const torch::Tensor& image,
                                                                       const torch::Tensor& pe,
                                                                       const torch::Tensor& tokens) {
    auto keys = image.flatten(2).permute({0, 2, 1});
    const auto keyPe = pe.flatten(2).permute({0, 2, 1});
    auto queries = tokens;
    for (const auto& l : *layers) l->as<TwoWayBlock>()->forward(queries, keys, tokens, keyPe);
    queries = norm_final_attn(queries + final_attn_token_to_image(queries + tokens, keys + keyPe, keys));
    return {queries, keys};
}

MlpImpl::MlpImpl(int in, int hidden, int out, int depth, bool useGelu) : gelu(useGelu) {
    for (int i = 0; i < depth; ++i)
        layers->push_back(torch::nn::Linear(i == 0 ? in : hidden, i == depth - 1 ? out : hidden));
    register_module("layers", layers);
}

torch::Tensor MlpImpl::forward(torch::Tensor x) {
    for (size_t i = 0; i < layers->size(); ++i) {
        x = layers[i]->as<torch::nn::Linear>()->forward(x);
        if (i + 1 < layers->size()) x = gelu ? torch::gelu(x) : torch::relu(x);
    }
    return x;
}

}  // namespace engram::model
