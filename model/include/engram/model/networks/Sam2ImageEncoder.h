#pragma once
// SAM 2's image encoder: the Hiera trunk and the FPN neck (image_encoder.trunk.*, image_encoder.neck.*).
// Behaviour reproduced: see networks/Sam2.h.

#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/embedding.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>
#include <torch/nn/pimpl.h>

#include <engram/model/networks/Sam2Config.h>
#include <engram/model/networks/SamBlocks.h>

#include <vector>

namespace engram::model {

struct HieraBlockImpl : torch::nn::Module {
    HieraBlockImpl(int dim, int dimOut, int heads, bool qPool, int windowSize);
    torch::Tensor forward(const torch::Tensor& x);  // [B, H, W, C] -> [B, H', W', C']
    torch::nn::LayerNorm norm1{nullptr}, norm2{nullptr};
    torch::nn::Linear qkv{nullptr}, attnProj{nullptr}, proj{nullptr};
    Mlp mlp{nullptr};
    int dim, dimOut, heads, windowSize;
    bool qPool;
};
TORCH_MODULE(HieraBlock);

struct HieraImpl : torch::nn::Module {
    explicit HieraImpl(const Sam2Config& c);
    // Image [B, 3, S, S] -> one feature map [B, C_i, S/4/2^i, S/4/2^i] per stage, highest resolution first.
    std::vector<torch::Tensor> forward(const torch::Tensor& image);
    torch::nn::Conv2d patchEmbed{nullptr};
    torch::Tensor pos_embed, pos_embed_window;
    torch::nn::ModuleList blocks;
    std::vector<int> stageEnds;
};
TORCH_MODULE(Hiera);

// The sine-cosine position encoding of a [B, C, H, W] map (normalised coordinates).
torch::Tensor sinePositionEncoding(const torch::Tensor& x, int channels);

struct BackboneOutput {
    std::vector<torch::Tensor> backboneFpn;   // after the neck, highest resolution first (scalp applied)
    std::vector<torch::Tensor> visionPosEnc;  // same shapes
    torch::Tensor visionFeatures() const { return backboneFpn.back(); }
};

struct Sam2ImageEncoderImpl : torch::nn::Module {
    explicit Sam2ImageEncoderImpl(const Sam2Config& c);
    BackboneOutput forward(const torch::Tensor& image);
    Hiera trunk{nullptr};
    torch::nn::ModuleList neckConvs;         // neck.convs.N.conv, lowest resolution first
    std::vector<torch::nn::Conv2d> lateral;  // the same convolutions
    std::vector<int> topDownLevels;
    int scalp, dModel;
};
TORCH_MODULE(Sam2ImageEncoder);

}  // namespace engram::model
