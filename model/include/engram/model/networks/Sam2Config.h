#pragma once
// The sizes of a SAM 2 network (docs/MODELS.md section 3) and its JSON form; networks/Sam2.h is the network.

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

}  // namespace engram::model
