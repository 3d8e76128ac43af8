#pragma once
// SAM 2's memory: the memory encoder (memory_encoder.*) that turns a predicted slice into a memory, and the
// memory attention (memory_attention.*) with 2D axial rotary position encoding that conditions a new slice on
// the memories and object pointers. Token sequences of the memory attention are [N, B, C] (sequence first).

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

#include <cstdint>

namespace engram::model {

struct CXBlockImpl : torch::nn::Module {
    explicit CXBlockImpl(int dim);
    torch::Tensor forward(const torch::Tensor& x);
    torch::nn::Conv2d dwconv{nullptr};
    ChannelNorm norm{nullptr};
    torch::nn::Linear pwconv1{nullptr}, pwconv2{nullptr};
    torch::Tensor gamma;
};
TORCH_MODULE(CXBlock);

struct MemoryOutput {
    torch::Tensor features;  // [B, memDim, G, G]
    torch::Tensor posEnc;    // [B, memDim, G, G]
};

struct Sam2MemoryEncoderImpl : torch::nn::Module {
    explicit Sam2MemoryEncoderImpl(const Sam2Config& c);
    // pixFeatures [B, C, G, G]; maskForMemory [B, 1, S, S] already scaled (no sigmoid applied here).
    MemoryOutput forward(const torch::Tensor& pixFeatures, const torch::Tensor& maskForMemory);
    torch::nn::Sequential mask_downsampler;  // mask_downsampler.encoder.N
    torch::nn::Conv2d pix_feat_proj{nullptr}, out_proj{nullptr};
    torch::nn::ModuleList fuser;  // fuser.layers.N
    int memDim;
};
TORCH_MODULE(Sam2MemoryEncoder);

// Rotates consecutive channel pairs of x [B, heads, N, d] by the axial angles of a side x side grid (token
// t at column t % side, row t / side; N may be several grids): the first d/4 pairs by column * f_i, the
// next d/4 by row * f_i, f_i = theta^(-4i/d).
torch::Tensor axialRotary(const torch::Tensor& x, int64_t side, double theta);

// Attention with 2D axial rotary position encoding on queries and keys (keys may be several query-sized
// grids, rotated with the query grid's angles repeated; the last `excludeKeys` keys are not rotated).
struct RoPEAttentionImpl : torch::nn::Module {
    RoPEAttentionImpl(int dim, int kvDim, int heads, double theta);
    torch::Tensor forward(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                          int64_t excludeKeys = 0);  // batch first [B, N, C]
    torch::nn::Linear q_proj{nullptr}, k_proj{nullptr}, v_proj{nullptr}, out_proj{nullptr};
    int heads;
    double theta;
};
TORCH_MODULE(RoPEAttention);

struct MemoryAttentionLayerImpl : torch::nn::Module {
    MemoryAttentionLayerImpl(const Sam2Config& c);
    torch::Tensor forward(torch::Tensor tgt, const torch::Tensor& memory, const torch::Tensor& memoryPos,
                          int64_t objPtrTokens);  // batch first
    RoPEAttention self_attn{nullptr}, cross_attn_image{nullptr};
    torch::nn::Linear linear1{nullptr}, linear2{nullptr};
    torch::nn::LayerNorm norm1{nullptr}, norm2{nullptr}, norm3{nullptr};
};
TORCH_MODULE(MemoryAttentionLayer);

struct Sam2MemoryAttentionImpl : torch::nn::Module {
    explicit Sam2MemoryAttentionImpl(const Sam2Config& c);
    // Sequence first: curr / currPos [G*G, B, C], memory / memoryPos [M, B, memDim] whose last objPtrTokens
    // tokens are object pointers. Returns [G*G, B, C].
    torch::Tensor forward(const torch::Tensor& curr, const torch::Tensor& currPos,
                          const torch::Tensor& memory, const torch::Tensor& memoryPos, int64_t objPtrTokens);
    torch::nn::ModuleList layers;
    torch::nn::LayerNorm norm{nullptr};
};
TORCH_MODULE(Sam2MemoryAttention);

}  // namespace engram::model
