#pragma once
// SAM 2's heads: the prompt encoder and the mask decoder with high-resolution features and the object-score
// head (sam_prompt_encoder.*, sam_mask_decoder.*); the two-way transformer is shared with SAM-Med3D
// (SamBlocks.h).

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

#include <utility>

namespace engram::model {

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

}  // namespace engram::model
