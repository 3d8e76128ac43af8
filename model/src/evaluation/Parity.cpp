#include <engram/model/evaluation/Parity.h>
#include <engram/model/networks/Sam2.h>
#include <engram/model/networks/SamMed3D.h>
#include <engram/model/weights/SafeTensors.h>
#include <engram/model/weights/StateDict.h>

#include <torch/csrc/autograd/grad_mode.h>

#include <cstdio>

#include "JsonValues.h"

namespace engram::model {

namespace {

torch::Dtype dtypeOf(const ParityOptions& options) {
    return options.dtype == "bf16"  ? torch::kBFloat16
           : options.dtype == "f16" ? torch::kFloat16
                                    : torch::kFloat32;
}

std::string configOf(const SafeTensorsFile& file, const std::string& casePath) {
    const auto cfg = file.metadata().find("config");
    if (cfg == file.metadata().end())
        throw WeightsError("Parity case " + casePath + " has no 'config' metadata.");
    return cfg->second;
}

// Compares actual tensors with the case's `expected.<name>` ones (absent names are skipped).
struct Comparison {
    const SafeTensorsFile& file;
    double tolerance;
    std::vector<ParityResult> results;

    void operator()(const std::string& name, const torch::Tensor& actual) {
        const std::string key = "expected." + name;
        if (!file.contains(key)) return;
        const auto expected = file.load(key);
        ParityResult r{name, 0, tolerance};
        if (expected.sizes() != actual.sizes())
            r.maxAbsDiff = std::numeric_limits<double>::infinity();
        else
            r.maxAbsDiff = (actual.to(torch::kCPU, torch::kFloat64) - expected.to(torch::kFloat64))
                               .abs()
                               .max()
                               .item<double>();
        if (std::isnan(r.maxAbsDiff)) r.maxAbsDiff = std::numeric_limits<double>::infinity();
        results.push_back(r);
    }
};

// The case's network with its weights, in evaluation mode on the options' device and dtype.
template <class Net, class Config>
Net caseNetwork(const SafeTensorsFile& file, const std::string& casePath, const ParityOptions& options) {
    Config config;
    try {
        config = Config::fromJson(configOf(file, casePath));
    } catch (const std::invalid_argument& e) {
        throw WeightsError("Parity case " + casePath + ": " + e.what());
    }
    Net net(config);
    loadStateDict(*net, file, "model.");
    net->eval();
    net->to(options.device == "cuda" ? torch::Device(torch::kCUDA) : torch::Device(torch::kCPU),
            dtypeOf(options));
    return net;
}

}  // namespace

std::vector<ParityResult> runSamMed3DParity(const std::string& casePath, const ParityOptions& options) {
    const SafeTensorsFile file(casePath);
    auto net = caseNetwork<SamMed3D, SamMed3DConfig>(file, casePath, options);
    const torch::Device device(options.device == "cuda" ? torch::kCUDA : torch::kCPU);
    const auto dtype = dtypeOf(options);
    net->image_encoder->mode =
        options.literalEncoder ? EncoderAttentionMode::Literal : EncoderAttentionMode::Exact;
    torch::NoGradGuard noGrad;
    Comparison compare{file, options.tolerance, {}};

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
    return compare.results;
}

std::vector<ParityResult> runSam2Parity(const std::string& casePath, const ParityOptions& options) {
    const SafeTensorsFile file(casePath);
    auto net = caseNetwork<Sam2, Sam2Config>(file, casePath, options);
    const torch::Device device(options.device == "cuda" ? torch::kCUDA : torch::kCPU);
    const auto dtype = dtypeOf(options);
    torch::NoGradGuard noGrad;
    Comparison compare{file, options.tolerance, {}};
    auto input = [&](const std::string& name) {
        const auto t = file.load("input." + name);
        return t.is_floating_point() ? t.to(device, dtype) : t.to(device);
    };

    // Image encoder and neck.
    const auto backbone = net->image_encoder(input("image"));
    for (std::size_t i = 0; i < backbone.backboneFpn.size(); ++i) {
        compare("image_encoder.backbone_fpn." + std::to_string(i), backbone.backboneFpn[i]);
        compare("image_encoder.vision_pos_enc." + std::to_string(i), backbone.visionPosEnc[i]);
    }
    compare("image_encoder.vision_features", backbone.visionFeatures());

    // SAM heads on the frame's features with two clicks, three masks.
    const auto hr0 = net->sam_mask_decoder->conv_s0(backbone.backboneFpn[0]);
    const auto hr1 = net->sam_mask_decoder->conv_s1(backbone.backboneFpn[1]);
    const auto heads = net->samHeads(backbone.visionFeatures(), input("point_coords"), input("point_labels"),
                                     torch::Tensor(), hr0, hr1, true);
    compare("sam_heads.low_res_multimasks", heads.lowResMultimasks);
    compare("sam_heads.high_res_multimasks", heads.highResMultimasks);
    compare("sam_heads.ious", heads.ious);
    compare("sam_heads.low_res_masks", heads.lowResMasks);
    compare("sam_heads.high_res_masks", heads.highResMasks);
    compare("sam_heads.obj_ptr", heads.objPtr);
    compare("sam_heads.object_score_logits", heads.objectScoreLogits);

    // Memory of that prediction (a mask from clicks).
    const auto memory =
        net->encodeMemory(backbone.visionFeatures(), heads.highResMasks, heads.objectScoreLogits, true);
    compare("memory.maskmem_features", memory.features);
    compare("memory.maskmem_pos_enc", memory.posEnc);

    // Memory attention; the case's config says how many trailing tokens are object pointers.
    int64_t pointerTokens = 0;
    try {
        json::readIfPresent(nlohmann::json::parse(configOf(file, casePath)),
                            "memory_attention_num_obj_ptr_tokens", pointerTokens);
    } catch (const std::exception& e) {
        throw WeightsError("Parity case " + casePath + ": " + e.what());
    }
    if (file.contains("input.memory_attention.curr"))
        compare("memory_attention.output",
                net->memory_attention(input("memory_attention.curr"), input("memory_attention.curr_pos"),
                                      input("memory_attention.memory"), input("memory_attention.memory_pos"),
                                      pointerTokens));
    return compare.results;
}

std::vector<ParityResult> runParity(const std::string& casePath, const ParityOptions& options) {
    const SafeTensorsFile file(casePath);
    const auto format = file.metadata().find("format");
    if (format != file.metadata().end() && format->second.rfind("sam2-module-parity/", 0) == 0)
        return runSam2Parity(casePath, options);
    return runSamMed3DParity(casePath, options);
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
