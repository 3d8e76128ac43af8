#include "Sam2TestModel.h"

#include <engram/model/inference/SliceTracking.h>
#include <engram/model/networks/Sam2.h>

#include <torch/torch.h>

namespace engram::test {

std::string writeSam2TestModel(float scoreBias, bool shortTermMemory, const std::string& path) {
    using namespace engram::model;
    auto plain = loadSam2(std::string(ENGRAM_SHARED_DIR) + "/parity/sam2-mini-128-seed1.safetensors");
    auto config = plain->config;
    config.slm = shortTermMemory;
    auto net = rebuildSam2(*plain, config);
    torch::NoGradGuard noGrad;
    auto* last = net->sam_mask_decoder->pred_obj_score_head->layers[2]->as<torch::nn::Linear>();
    last->weight.zero_();
    last->bias.fill_(scoreBias);
    saveSam2(*net, path);
    return path;
}

}  // namespace engram::test
