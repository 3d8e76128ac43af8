#pragma once
// The building blocks SAM-Med3D and SAM 2 share (their token maths is the same in 2D and 3D): the
// channel-first LayerNorm, the MLPs, and the two-way transformer of SAM's mask decoder. Module and parameter
// names are the reference checkpoints' keys.

#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/embedding.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>
#include <torch/nn/pimpl.h>

#include <engram/model/Types.h>

#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace engram::model {

// Channel-first LayerNorm over dim 1 of [B, C, ...] (LayerNorm3d of SAM-Med3D, LayerNorm2d of SAM 2).
struct ChannelNormImpl : torch::nn::Module {
    explicit ChannelNormImpl(int channels, double eps = 1e-6);
    torch::Tensor forward(const torch::Tensor& x);
    torch::Tensor weight, bias;
    double eps;
};
TORCH_MODULE(ChannelNorm);

// lin1 -> GELU (encoder) or ReLU (decoder) -> lin2.
struct MlpBlockImpl : torch::nn::Module {
    MlpBlockImpl(int dim, int hidden, bool relu);
    torch::Tensor forward(const torch::Tensor& x);
    torch::nn::Linear lin1{nullptr}, lin2{nullptr};
    bool relu;
};
TORCH_MODULE(MlpBlock);

struct DecoderAttentionImpl : torch::nn::Module {
    DecoderAttentionImpl(int dim, int heads, int downsample);
    torch::Tensor forward(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v);
    torch::nn::Linear q_proj{nullptr}, k_proj{nullptr}, v_proj{nullptr}, out_proj{nullptr};
    int heads;
};
TORCH_MODULE(DecoderAttention);

// Linear layers with ReLU (or GELU) between them, under `layers.N`.
struct MlpImpl : torch::nn::Module {
    MlpImpl(int in, int hidden, int out, int depth, bool gelu = false);
    torch::Tensor forward(torch::Tensor x);
    torch::nn::ModuleList layers;
    bool gelu;
};
TORCH_MODULE(Mlp);

// The two-way transformer of SAM's mask decoder, shared by SAM-Med3D and SAM 2 (their token maths is the
// same in 2D and 3D); the two name its MLP's linear layers differently.
struct TwoWayOptions {
    int depth = 2, heads = 8, mlpDim = 2048;
    bool mlpLayersKeys = false;  // SAM 2: mlp.layers.0/1; SAM-Med3D: mlp.lin1/lin2
};

struct TwoWayBlockImpl : torch::nn::Module {
    TwoWayBlockImpl(const TwoWayOptions& o, int dim, bool skipFirstLayerPe);
    // Updates queries [B,T,C] and keys [B,N,C] in place.
    void forward(torch::Tensor& queries, torch::Tensor& keys, const torch::Tensor& queryPe,
                 const torch::Tensor& keyPe);
    DecoderAttention self_attn{nullptr}, cross_attn_token_to_image{nullptr},
        cross_attn_image_to_token{nullptr};
    torch::nn::LayerNorm norm1{nullptr}, norm2{nullptr}, norm3{nullptr}, norm4{nullptr};
    MlpBlock mlp{nullptr};   // SAM-Med3D
    Mlp mlpLayers{nullptr};  // SAM 2
    bool skipFirstLayerPe;
};
TORCH_MODULE(TwoWayBlock);

struct TwoWayTransformerImpl : torch::nn::Module {
    TwoWayTransformerImpl(const TwoWayOptions& o, int dim);
    // image [B,C,...spatial], pe of the same shape, tokens [B,T,C] -> (tokens, image tokens [B,N,C]).
    std::pair<torch::Tensor, torch::Tensor> forward(const torch::Tensor& image, const torch::Tensor& pe,
                                                    const torch::Tensor& tokens);
    torch::nn::ModuleList layers;
    DecoderAttention final_attn_token_to_image{nullptr};
    torch::nn::LayerNorm norm_final_attn{nullptr};
};
TORCH_MODULE(TwoWayTransformer);

}  // namespace engram::model
