#pragma once
// The SAM 2 video network (docs/MODELS.md section 3) in LibTorch, for slice propagation: Hiera image
// encoder + FPN neck, prompt encoder, mask decoder with high-resolution features and object-score head,
// memory encoder, memory attention with 2D rotary position encoding, object pointers. Module and parameter
// names reproduce the SAM 2.1 checkpoint keys (image_encoder.trunk.blocks.N...,
// image_encoder.neck.convs.N.conv, memory_attention.layers.N..., memory_encoder..., sam_prompt_encoder...,
// sam_mask_decoder..., obj_ptr_proj..., maskmem_tpos_enc, no_mem_embed, ...), so a released checkpoint
// converted to safetensors loads strictly. Behaviour reproduced from the public implementation, as its
// released video predictor configures it:
//   - Hiera: windowed blocks zero-pad the token grid to the window size and attend over the whole padded
//     window; the first block of a stage pools its queries (2x2 max) and takes the previous stage's window
//     size divided by the stride; the absolute position embedding is the background table resized bicubically
//     plus the window table tiled;
//   - the neck adds top-down features (nearest 2x) only at the levels listed in fpnTopDownLevels, and the
//     lowest-resolution level is dropped ("scalp");
//   - a mask whose object score is not positive is replaced by -1024 logits, and its object pointer blends
//     to the learned no-object pointer;
//   - the memory encoder gets sigmoid(mask) * 20 - 10 (or, when configured, the binarised mask for masks
//     from clicks).
// Tensors are [B, C, H, W]; token sequences of the memory attention are [N, B, C] (sequence first).

#include <engram/model/SamMed3D.h>

#include <map>
#include <string>
#include <vector>

namespace engram::model {

struct Sam2Config {
    // Hiera trunk (sam2.1_hiera_t by default)
    int hieraEmbedDim = 96;
    int hieraHeads = 1;
    std::vector<int> hieraStages{1, 2, 7, 2};
    std::vector<int> hieraGlobalAttBlocks{5, 7, 9};
    std::vector<int> hieraWindowSpec{8, 4, 14, 7};
    std::vector<int> hieraPosEmbedBkg{7, 7};
    int hieraQPool = 3;
    // Neck, heads, memory
    int dModel = 256;
    std::vector<int> fpnTopDownLevels{2, 3};
    int scalp = 1;
    int memDim = 64;
    int memoryAttentionLayers = 4;
    int memoryAttentionFeedforward = 2048;
    double ropeTheta = 10000.0;
    int imageSize = 512;
    int numMaskmem = 7;  // 1 prompt slice + 6 recent slices
    int maxObjPtrsInEncoder = 16;
    // Inference switches the released video predictor turns on (SAM2Base's defaults are off): memories of
    // masks from clicks made from the binarised mask; an unstable single mask replaced by the best of three.
    bool binarizeMaskFromPointsForMemory = false;
    bool dynamicMultimaskViaStability = false;
    // SLM-SAM 2: a second memory attention over the short-term bank (the latest non-prompt slices), its
    // output summed with the long-term one and fused by two ConvNeXt blocks (keys slm_memory_attention.*,
    // slm_fuser.layers.N.*). A file without them runs as plain SAM 2.
    bool slm = false;
    double stabilityDelta = 0.05, stabilityThreshold = 0.98;

    int backboneStride() const { return 16; }
    int embeddingSize() const { return imageSize / backboneStride(); }
    // Channels of each trunk stage, highest resolution first.
    std::vector<int> stageChannels() const;

    // From JSON: the parity format's keys (hiera_embed_dim, hiera_stages, hiera_global_att_blocks,
    // memory_attention_layers, memory_attention_dim_feedforward, image_size) and the other fields by their
    // snake_case names. Missing keys keep the sam2.1_hiera_t defaults; throws std::invalid_argument for
    // malformed JSON or inconsistent sizes.
    static Sam2Config fromJson(const std::string& json);
    std::string toJson() const;
};

// ---- Hiera trunk and neck ----

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

// ---- SAM heads ----

struct Sam2PromptEncoderImpl : torch::nn::Module {
    explicit Sam2PromptEncoderImpl(const Sam2Config& c);
    // coords [B, K, 2] (x, y in input pixels), labels [B, K] (1 positive, 0 negative, -1 none, 2/3 box
    // corners); mask [B, 1, 4G, 4G] logits or undefined. Returns the sparse [B, K+1, C] (a padding point is
    // appended) and dense [B, C, G, G] embeddings.
    std::pair<torch::Tensor, torch::Tensor> forward(const torch::Tensor& coords, const torch::Tensor& labels,
                                                    const torch::Tensor& mask);
    torch::Tensor densePe();                                      // [1, C, G, G]
    torch::Tensor encodeCoords(const torch::Tensor& normalised);  // [..., 2] in [0, 1] -> [..., C]
    torch::Tensor gaussian;  // pe_layer.positional_encoding_gaussian_matrix [2, C/2]
    torch::nn::ModuleList point_embeddings;
    torch::nn::Embedding not_a_point_embed{nullptr}, no_mask_embed{nullptr};
    torch::nn::Sequential mask_downscaling;
    int dim, grid, imageSize;
};
TORCH_MODULE(Sam2PromptEncoder);

struct Sam2DecoderOutput {
    torch::Tensor masks;              // [B, M, 4G, 4G] logits
    torch::Tensor ious;               // [B, M]
    torch::Tensor samTokens;          // [B, M', C]: the output tokens the object pointer is taken from
    torch::Tensor objectScoreLogits;  // [B, 1]
};

struct Sam2MaskDecoderImpl : torch::nn::Module {
    explicit Sam2MaskDecoderImpl(const Sam2Config& c);
    // highRes: the stride-4 and stride-8 features after conv_s0 / conv_s1.
    Sam2DecoderOutput forward(const torch::Tensor& image, const torch::Tensor& imagePe,
                              const torch::Tensor& sparse, const torch::Tensor& dense, bool multimask,
                              const torch::Tensor& highRes0, const torch::Tensor& highRes1);
    TwoWayTransformer transformer{nullptr};
    torch::nn::Embedding iou_token{nullptr}, mask_tokens{nullptr}, obj_score_token{nullptr};
    torch::nn::ConvTranspose2d upscale1{nullptr}, upscale2{nullptr};
    ChannelNorm upscaleNorm{nullptr};
    torch::nn::Conv2d conv_s0{nullptr}, conv_s1{nullptr};
    torch::nn::ModuleList output_hypernetworks_mlps;
    Mlp iou_prediction_head{nullptr}, pred_obj_score_head{nullptr};
    int numMaskTokens;
    bool dynamicMultimask;
    double stabilityDelta, stabilityThreshold;
};
TORCH_MODULE(Sam2MaskDecoder);

// ---- Memory ----

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

// ---- The whole network ----

struct SamHeadsOutput {
    torch::Tensor lowResMultimasks, highResMultimasks, ious;  // [B, M, ...]
    torch::Tensor decoderMultimasks;  // [B, M, 4G, 4G]: the decoder's logits before the no-object replacement
    torch::Tensor lowResMasks, highResMasks;  // [B, 1, ...]: the best (or only) mask
    torch::Tensor objPtr;                     // [B, C]
    torch::Tensor objectScoreLogits;          // [B, 1]
};

struct Sam2Impl : torch::nn::Module {
    explicit Sam2Impl(const Sam2Config& c);
    Sam2Config config;

    // The image encoder, then conv_s0 / conv_s1 on the two high-resolution levels (as
    // SAM2Base.forward_image).
    BackboneOutput encodeImage(const torch::Tensor& image);
    // Prompt encoder + mask decoder on features [B, C, G, G] with the high-resolution levels of encodeImage;
    // coords in input pixels (x, y) or undefined for none; mask [B, 1, S, S] logits or undefined.
    SamHeadsOutput samHeads(const torch::Tensor& features, const torch::Tensor& coords,
                            const torch::Tensor& labels, const torch::Tensor& mask,
                            const torch::Tensor& highRes0, const torch::Tensor& highRes1, bool multimask);
    // The memory of one predicted slice: its raw stride-16 features and high-resolution mask logits.
    MemoryOutput encodeMemory(const torch::Tensor& visionFeatures, const torch::Tensor& highResMask,
                              const torch::Tensor& objectScoreLogits, bool maskFromPoints);
    // The SLM fusion of the long- and short-term memory attention outputs [B, C, G, G].
    torch::Tensor fuseShortTerm(const torch::Tensor& longTerm, const torch::Tensor& shortTerm);

    Sam2ImageEncoder image_encoder{nullptr};
    Sam2PromptEncoder sam_prompt_encoder{nullptr};
    Sam2MaskDecoder sam_mask_decoder{nullptr};
    Sam2MemoryEncoder memory_encoder{nullptr};
    Sam2MemoryAttention memory_attention{nullptr};
    Sam2MemoryAttention slm_memory_attention{nullptr};  // only with config.slm
    torch::nn::ModuleList slm_fuser;                    // CXBlocks, only with config.slm
    Mlp obj_ptr_proj{nullptr};
    torch::nn::Linear obj_ptr_tpos_proj{nullptr};
    torch::nn::Conv2d mask_downsample{nullptr};
    torch::Tensor maskmem_tpos_enc, no_mem_embed, no_mem_pos_enc, no_obj_ptr, no_obj_embed_spatial;
};
TORCH_MODULE(Sam2);

// A new network of `config` with every parameter and buffer that `source` also has copied from it; the rest
// (e.g. the short-term attention added to a plain SAM 2) keeps its initialisation.
Sam2 rebuildSam2(Sam2Impl& source, const Sam2Config& config);

// Writes the network as an Engram SAM 2 model file: bare reference keys, `config` metadata (float16 when
// `half`), atomically. Throws WeightsError when it cannot be written.
void saveSam2(Sam2Impl& net, const std::string& path, bool half = false,
              const std::map<std::string, std::string>& extraMetadata = {});

}  // namespace engram::model
