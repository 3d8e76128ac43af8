#pragma once
// MAIS memory attention (docs/MODELS.md section 2): conditions the image embedding E [1,P,G,G,G] on the
// memory bank before the mask decoder.
//   1. dense memories (past previous-mask embeddings): each is encoded once, when it enters the bank, by
//      `dense_encoder` (1x1x1 convolution P -> W, then a depth-wise 3x3x3 convolution for local context);
//      per click, the stack (plus an age embedding) passes through `dense_layers`, convolutional transformer
//      blocks in which, at every voxel of a 2x coarser grid, each memory attends to all memories, followed by
//      a 1x1x1 MLP; the change is added back to the full-resolution encodings;
//   2. `readout`: at every voxel the image embedding attends over the dense memories; projected back to P
//      channels, the result is ADDED to E;
//   3. sparse memories (each interaction's click embedding, plus the age embedding) pass through
//      `sparse_layers` of pre-norm self-attention;
//   4. `cross`: the voxels of the conditioned embedding attend to the sparse memory tokens (the
//   cross-attention
//      between the two memory types), added to E as well.
// The per-click work runs at width W (default 32), which keeps a full bank of 60 cheap on a CPU; the costly
// per-memory step is cached in the bank. Both additions end in zero-initialised projections, so an untrained
// block is the identity and fine-tuning starts from SAM-Med3D; with an empty bank (or mode None) E is
// returned untouched, bit for bit. Widths are configurable and stored in the model file ("memory_attention").

#include <engram/model/inference/MemoryBank.h>
#include <engram/model/networks/SamMed3D.h>

#include <string>

namespace engram::model {

struct MemoryAttentionConfig {
    int dim = 384;   // = prompt_dim of the network
    int width = 32;  // W: channels of the dense memory path
    int denseHeads = 2;
    int denseLayers = 1;
    int sparseLayers = 1;
    int sparseWidth = 128;  // S: channels of the sparse memory tokens
    int heads = 4;          // sparse self-attention and cross-attention
    int crossWidth = 32;    // internal width of the voxel -> sparse cross-attention
    int mlpRatio = 2;
    int denseContext = 16;  // in the dense self-attention, each memory attends to the newest K memories

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

// Queries of width `qDim` attending to keys/values of width `kvDim` through an internal width.
struct CrossAttentionImpl : torch::nn::Module {
    CrossAttentionImpl(int qDim, int kvDim, int width, int heads);
    torch::Tensor forward(const torch::Tensor& q, const torch::Tensor& kv);  // [1,Q,qDim], [1,T,kvDim]
    torch::nn::Linear q_proj{nullptr}, k_proj{nullptr}, v_proj{nullptr}, out_proj{nullptr};
    int heads;
};
TORCH_MODULE(CrossAttention);

struct DenseMemoryLayerImpl : torch::nn::Module {
    DenseMemoryLayerImpl(int width, int heads, int mlpRatio, int context);
    torch::Tensor forward(const torch::Tensor& x);  // [N,W,G,G,G]
    ChannelNorm norm1{nullptr}, norm2{nullptr};
    torch::nn::Conv3d qkv{nullptr}, proj{nullptr}, fc1{nullptr}, fc2{nullptr};
    int width, heads, context;
};
TORCH_MODULE(DenseMemoryLayer);

// The dense readout: per voxel v and head, the query q [W, V] attends over N memories whose keys and values
// are d = full + U(delta), full [N, W, V] on the embedding grid and delta [N, W, g, g, g] on the 2x coarser
// grid repeated over each 2x2x2 block (U). Computed without building d: the full-resolution terms as
// per-voxel products, the coarse terms as one small matrix product per block. Returns [W, V].
torch::Tensor blockReadout(const torch::Tensor& q, const torch::Tensor& full, const torch::Tensor& delta,
                           int heads);

struct MemoryAttentionImpl : torch::nn::Module {
    explicit MemoryAttentionImpl(const MemoryAttentionConfig& c);
    // The per-memory encoding of a dense memory [P,G,G,G] -> [W,G,G,G], to store with it in the bank.
    torch::Tensor encodeDense(const torch::Tensor& dense);
    // E [1,P,G,G,G] conditioned on `bank` (its mode decides which memories are read). Memories pushed without
    // a cached feature are encoded here.
    torch::Tensor forward(const torch::Tensor& imageEmbedding, const MemoryBank& bank);

    MemoryAttentionConfig config;
    torch::nn::Embedding age_embed{nullptr}, dense_age_embed{nullptr};
    torch::nn::Sequential dense_encoder;
    torch::nn::ModuleList dense_layers, sparse_layers;
    ChannelNorm readout_norm{nullptr};
    torch::nn::Conv3d readout_q{nullptr}, readout_proj{nullptr};
    torch::nn::Linear sparse_in{nullptr};
    torch::nn::LayerNorm cross_norm_q{nullptr}, cross_norm_kv{nullptr};
    CrossAttention cross_attn{nullptr};  // out_proj zero-initialised
};
TORCH_MODULE(MemoryAttention);

}  // namespace engram::model
