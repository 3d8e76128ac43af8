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

#include <engram/model/networks/Sam2Config.h>
#include <engram/model/networks/Sam2Heads.h>
#include <engram/model/networks/Sam2ImageEncoder.h>
#include <engram/model/networks/Sam2Memory.h>

#include <map>
#include <string>

namespace engram::model {

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
