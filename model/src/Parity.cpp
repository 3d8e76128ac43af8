#include <engram/model/Parity.h>
#include <engram/model/SafeTensors.h>
#include <engram/model/SamMed3D.h>
#include <engram/model/StateDict.h>

#include <torch/csrc/autograd/grad_mode.h>

#include <cstdio>

namespace engram::model {

std::vector<ParityResult> runSamMed3DParity(const std::string& casePath, const ParityOptions& options) {
    const SafeTensorsFile file(casePath);
    const auto cfg = file.metadata().find("config");
    if (cfg == file.metadata().end())
        throw WeightsError("Parity case " + casePath + " has no 'config' metadata.");
    SamMed3DConfig config;
    try {
        config = SamMed3DConfig::fromJson(cfg->second);
    } catch (const std::invalid_argument& e) {
        throw WeightsError("Parity case " + casePath + ": " + e.what());
    }
    SamMed3D net(config);
    loadStateDict(*net, file, "model.");
    net->eval();
    const torch::Device device(options.device == "cuda" ? torch::kCUDA : torch::kCPU);
    const auto dtype = options.dtype == "bf16"  ? torch::kBFloat16
                       : options.dtype == "f16" ? torch::kFloat16
                                                : torch::kFloat32;
    net->to(device, dtype);
    net->image_encoder->mode =
        options.literalEncoder ? EncoderAttentionMode::Literal : EncoderAttentionMode::Exact;
    torch::NoGradGuard noGrad;

    std::vector<ParityResult> results;
    auto compare = [&](const std::string& name, const torch::Tensor& actual) {
        const std::string key = "expected." + name;
        if (!file.contains(key)) return;
        const auto expected = file.load(key);
        ParityResult r{name, 0, options.tolerance};
        if (expected.sizes() != actual.sizes())
            r.maxAbsDiff = std::numeric_limits<double>::infinity();
        else
            r.maxAbsDiff =
                (actual.to(torch::kFloat64) - expected.to(torch::kFloat64)).abs().max().item<double>();
        if (std::isnan(r.maxAbsDiff)) r.maxAbsDiff = std::numeric_limits<double>::infinity();
        results.push_back(r);
    };

    const auto image = file.load("input.image").to(device, dtype);
    const auto coords = file.load("input.point_coords").to(device, dtype);
    const auto labels = file.load("input.point_labels").to(device);
    const auto prev = file.load("input.prev_low_res_logits").to(device, dtype);

    const auto embedding = net->image_encoder->forward(image);
    compare("image_embedding", embedding);
    const auto pe = net->prompt_encoder->densePe();
    compare("dense_pe", pe);
    const auto prompts = net->prompt_encoder->forward(coords, labels, prev);
    compare("sparse_embeddings", prompts.sparse);
    compare("dense_embeddings", prompts.dense);
    const auto single = net->mask_decoder->forward(embedding, pe, prompts.sparse, prompts.dense, false);
    compare("low_res_logits", single.lowResLogits);
    compare("iou", single.iou);
    const auto multi = net->mask_decoder->forward(embedding, pe, prompts.sparse, prompts.dense, true);
    compare("low_res_logits_multimask", multi.lowResLogits);
    compare("iou_multimask", multi.iou);
    using torch::indexing::Slice;
    const auto first = net->prompt_encoder->forward(coords.index({Slice(), Slice(0, 1)}),
                                                    labels.index({Slice(), Slice(0, 1)}), torch::Tensor());
    const auto firstOut = net->mask_decoder->forward(embedding, pe, first.sparse, first.dense, false);
    compare("first_click_no_mask.low_res_logits", firstOut.lowResLogits);
    compare("first_click_no_mask.iou", firstOut.iou);
    return results;
}

std::string formatParityReport(const std::vector<ParityResult>& results) {
    std::string out;
    char line[160];
    int failed = 0;
    for (const auto& r : results) {
        std::snprintf(line, sizeof(line), "%-40s max abs diff %.3g  %s\n", r.name.c_str(), r.maxAbsDiff,
                      r.pass() ? "ok" : "FAIL");
        out += line;
        failed += !r.pass();
    }
    std::snprintf(line, sizeof(line), "%zu passed, %d failed\n", results.size() - failed, failed);
    return out + line;
}

}  // namespace engram::model
