#include "Sam2TestModel.h"

#include <engram/model/SafeTensors.h>
#include <engram/model/Sam2.h>
#include <engram/model/StateDict.h>

#include <torch/torch.h>

namespace engram::test {

std::string writeSam2TestModel(float scoreBias, bool shortTermMemory, const std::string& path) {
    using namespace engram::model;
    const SafeTensorsFile file(std::string(ENGRAM_SHARED_DIR) + "/parity/sam2-mini-128-seed1.safetensors");
    auto config = Sam2Config::fromJson(file.metadata().at("config"));
    Sam2 plain(config);
    loadStateDict(*plain, file, "model.");
    config.slm = shortTermMemory;
    Sam2 net(config);
    torch::NoGradGuard noGrad;
    const auto parameters = plain->named_parameters();
    for (auto& p : net->named_parameters())
        if (parameters.contains(p.key())) p.value().copy_(parameters[p.key()]);
    const auto buffers = plain->named_buffers();
    for (auto& b : net->named_buffers()) b.value().copy_(buffers[b.key()]);
    auto* last = net->sam_mask_decoder->pred_obj_score_head->layers[2]->as<torch::nn::Linear>();
    last->weight.zero_();
    last->bias.fill_(scoreBias);
    saveSam2(*net, path);
    return path;
}

}  // namespace engram::test
