#pragma once
// The SAM-Med3D network ("vit_b_ori" and smaller configurations) in LibTorch. Module and parameter names
// reproduce the reference state-dict keys exactly (image_encoder.blocks.N.attn.qkv.weight, neck.0..3,
// prompt_encoder.point_embeddings.0, mask_decoder.transformer.layers.0..., ...), so released checkpoints
// converted to safetensors load strictly. docs/MODELS.md lists the quirks reproduced here:
//   - windowed blocks zero-pad the token grid (after norm1) to the window size and attend over the whole
//     padded window with no mask; EncoderAttentionMode::Exact computes the same result without the padded
//     query rows and with the padded keys in closed form (their k and v are the projection biases);
//   - the prompt encoder's Fourier features are [sin, cos, sin], and its dense grid swaps the first two
//     coordinate slots relative to the point encoding.
// Tensors are [B, C, D, H, W] with the spatial axes in the order of the input image's dims 2, 3, 4.

#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/embedding.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>
#include <torch/nn/pimpl.h>

#include <engram/model/Types.h>
#include <engram/model/networks/SamBlocks.h>

#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace engram::model {

struct SamMed3DConfig {
    int embedDim = 768;
    int depth = 12;
    int heads = 12;
    std::vector<int> globalAttn{2, 5, 8, 11};
    int promptDim = 384;
    int imgSize = 128;
    int patchSize = 16;
    int windowSize = 14;
    double mlpRatio = 4.0;
    int maskInChans = 16;
    int decoderDepth = 2;
    int decoderHeads = 8;
    int decoderMlpDim = 2048;
    int numMultimaskOutputs = 3;
    int iouHeadDepth = 3;
    int iouHeadHiddenDim = 256;
    // QUIRK 3 (dense positional grid with the first two coordinate slots swapped) as the reference has it,
    // so released weights work. Networks trained here from scratch turn it off: then a click and the image
    // position it lies on share one encoding, which a new network learns far faster.
    bool densePeSwap = true;

    int gridSize() const { return imgSize / patchSize; }
    // From the JSON of a weights file's `config` metadata (keys as in shared/parity/README.md). Missing keys
    // keep the vit_b_ori defaults; throws std::invalid_argument for malformed JSON or inconsistent sizes.
    static SamMed3DConfig fromJson(const std::string& json);
    std::string toJson() const;
};

enum class EncoderAttentionMode { Literal, Exact };

struct EncoderAttentionImpl : torch::nn::Module {
    // `tableSide`: the grid side the relative-position tables are sized for (the window, or the grid).
    EncoderAttentionImpl(int dim, int heads, int tableSide);
    // Full attention over x [B, D, H, W, C] (one padded window, or the whole grid).
    torch::Tensor forward(const torch::Tensor& x);
    // The real tokens xr [B, rd, rh, rw, C] of a window of side `window` whose remaining tokens are zero
    // padding: the same rows the literal padded computation gives, without computing the padded ones.
    torch::Tensor forwardPaddedWindow(const torch::Tensor& xr, int window);

    torch::nn::Linear qkv{nullptr}, proj{nullptr};
    torch::Tensor rel_pos_d, rel_pos_h, rel_pos_w;
    int heads, headDim;
    double scale;
};
TORCH_MODULE(EncoderAttention);

struct EncoderBlockImpl : torch::nn::Module {
    EncoderBlockImpl(const SamMed3DConfig& c, int windowSize);
    torch::Tensor forward(const torch::Tensor& x, EncoderAttentionMode mode);
    torch::nn::LayerNorm norm1{nullptr}, norm2{nullptr};
    EncoderAttention attn{nullptr};
    MlpBlock mlp{nullptr};
    int windowSize;  // 0 = global attention
};
TORCH_MODULE(EncoderBlock);

struct PatchEmbedImpl : torch::nn::Module {
    PatchEmbedImpl(int patch, int dim);
    torch::Tensor forward(const torch::Tensor& x);  // [B,1,S,S,S] -> [B,G,G,G,C]
    torch::nn::Conv3d proj{nullptr};
};
TORCH_MODULE(PatchEmbed);

struct ImageEncoderImpl : torch::nn::Module {
    explicit ImageEncoderImpl(const SamMed3DConfig& c);
    // [B,1,S,S,S] -> image embedding [B, promptDim, G, G, G].
    torch::Tensor forward(const torch::Tensor& image);
    PatchEmbed patch_embed{nullptr};
    torch::Tensor pos_embed;
    torch::nn::ModuleList blocks;
    torch::nn::Sequential neck;
    EncoderAttentionMode mode = EncoderAttentionMode::Exact;
    // Asked between blocks; returning true aborts the encoding with model::Cancelled.
    std::function<bool()> shouldStop;
};
TORCH_MODULE(ImageEncoder);

struct PositionEmbeddingRandomImpl : torch::nn::Module {
    explicit PositionEmbeddingRandomImpl(int features);
    torch::Tensor encode(const torch::Tensor& unitCoords);  // [..., 3] in [0,1] -> [..., 3*features]
    torch::Tensor dense(int side, bool swap01);             // [3*features, side, side, side]
    torch::Tensor positional_encoding_gaussian_matrix;
};
TORCH_MODULE(PositionEmbeddingRandom);

struct PromptEmbeddings {
    torch::Tensor sparse;  // [B, K+1, P] (one padding point appended)
    torch::Tensor dense;   // [B, P, G, G, G]
};

struct PromptEncoderImpl : torch::nn::Module {
    explicit PromptEncoderImpl(const SamMed3DConfig& c);
    // coords [B,K,3] voxel indices of the crop, labels [B,K] (1 positive, 0 negative);
    // prevLowResLogits [B,1,4G,4G,4G] or undefined.
    PromptEmbeddings forward(const torch::Tensor& coords, const torch::Tensor& labels,
                             const torch::Tensor& prevLowResLogits);
    torch::Tensor densePe();  // [1, P, G, G, G]

    PositionEmbeddingRandom pe_layer{nullptr};
    torch::nn::ModuleList point_embeddings;
    torch::nn::Embedding not_a_point_embed{nullptr}, no_mask_embed{nullptr};
    torch::nn::Sequential mask_downscaling;
    int dim, grid, imgSize;
    bool densePeSwap;
};
TORCH_MODULE(PromptEncoder);

struct MaskPrediction {
    torch::Tensor lowResLogits;  // [B, M, 4G, 4G, 4G]
    torch::Tensor iou;           // [B, M]
};

struct MaskDecoderImpl : torch::nn::Module {
    explicit MaskDecoderImpl(const SamMed3DConfig& c);
    MaskPrediction forward(const torch::Tensor& imageEmbedding, const torch::Tensor& densePe,
                           const torch::Tensor& sparse, const torch::Tensor& dense, bool multimask);
    TwoWayTransformer transformer{nullptr};
    torch::nn::Embedding iou_token{nullptr}, mask_tokens{nullptr};
    torch::nn::Sequential output_upscaling;
    torch::nn::ModuleList output_hypernetworks_mlps;
    Mlp iou_prediction_head{nullptr};
    int numMaskTokens;
};
TORCH_MODULE(MaskDecoder);

struct SamMed3DImpl : torch::nn::Module {
    explicit SamMed3DImpl(const SamMed3DConfig& c);
    SamMed3DConfig config;
    ImageEncoder image_encoder{nullptr};
    PromptEncoder prompt_encoder{nullptr};
    MaskDecoder mask_decoder{nullptr};
};
TORCH_MODULE(SamMed3D);

}  // namespace engram::model
