#pragma once
// MAIS memory attention (docs/MODELS.md section 2): conditions the image embedding E [1,P,G,G,G] on the
// memory bank before the mask decoder.
//   1. sparse memories (click embeddings of past interactions, plus an age embedding) pass through
//      `sparse_layers` of pre-norm self-attention;
//   2. dense memories (past previous-mask embeddings, plus the age embedding) pass through `dense_layers`,
//      convolutional transformer blocks: at every voxel each memory attends to all memories (1x1x1 q/k/v
//      convolutions after a depth-wise 3x3x3 convolution that gives them local context), then a 1x1x1 MLP;
//   3. `readout`: at every voxel the image embedding attends over the dense memories; the result is ADDED to
//   E;
//   4. `cross`: the voxels of that readout attend to the sparse memory tokens (the cross-attention between
//   the
//      two memory types); this is added to E as well.
// Both additions end in zero-initialised projections, so an untrained block is the identity and fine-tuning
// starts from SAM-Med3D; with an empty bank (or mode None) E is returned untouched, bit for bit.
// Widths are configurable and stored in the weights file's metadata (key "memory_attention").

#include <engram/model/MemoryBank.h>
#include <engram/model/SamMed3D.h>

#include <string>

namespace engram::model {

struct MemoryAttentionConfig {
    int dim = 384;  // = prompt_dim of the network
    int heads = 8;  // sparse self-attention and cross-attention
    int sparseLayers = 2;
    int denseLayers = 1;
    int denseWidth = 96;  // channels of the dense blocks' attention
    int denseHeads = 4;
    int readoutWidth = 128;
    int mlpRatio = 2;

    static MemoryAttentionConfig fromJson(const std::string& json);
    std::string toJson() const;
};

struct SparseMemoryLayerImpl : torch::nn::Module {
    SparseMemoryLayerImpl(int dim, int heads, int mlpRatio);
    torch::Tensor forward(const torch::Tensor& x);  // [1,T,P]
    torch::nn::LayerNorm norm1{nullptr}, norm2{nullptr};
    DecoderAttention attn{nullptr};
    MlpBlock mlp{nullptr};
};
TORCH_MODULE(SparseMemoryLayer);

struct DenseMemoryLayerImpl : torch::nn::Module {
    DenseMemoryLayerImpl(int dim, int width, int heads, int mlpRatio);
    torch::Tensor forward(const torch::Tensor& x);  // [N,P,G,G,G]
    LayerNorm3d norm1{nullptr}, norm2{nullptr};
    torch::nn::Conv3d local{nullptr}, qkv{nullptr}, proj{nullptr}, fc1{nullptr}, fc2{nullptr};
    int width, heads;
};
TORCH_MODULE(DenseMemoryLayer);

struct MemoryAttentionImpl : torch::nn::Module {
    explicit MemoryAttentionImpl(const MemoryAttentionConfig& c);
    // E [1,P,G,G,G] conditioned on `bank` (its mode decides which memories are read).
    torch::Tensor forward(const torch::Tensor& imageEmbedding, const MemoryBank& bank);

    MemoryAttentionConfig config;
    torch::nn::Embedding age_embed{nullptr};
    torch::nn::ModuleList sparse_layers, dense_layers;
    LayerNorm3d readout_norm{nullptr};
    torch::nn::Conv3d readout_q{nullptr}, readout_k{nullptr}, readout_v{nullptr}, readout_proj{nullptr};
    torch::nn::LayerNorm cross_norm_q{nullptr}, cross_norm_kv{nullptr};
    DecoderAttention cross_attn{nullptr};
    torch::nn::Linear cross_proj{nullptr};
};
TORCH_MODULE(MemoryAttention);

}  // namespace engram::model
