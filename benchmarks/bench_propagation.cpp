// Slice propagation cost per slice (image encoder + memory attention + heads + memory encoder), for the
// released sam2.1_hiera_t structure at 512 px, the trainable "mini" structure at 128 px and the default
// slicenet (64 px crops; the shipped file with --slicenet), with SLM memory and with plain memory, over a
// synthetic volume (random weights; the object score forced "present" so every slice is segmented). Also
// the most slice memories held at once on a 300-slice run.
//   engram_bench_propagation [--device cuda] [--slices N] [--long] [--slicenet <model file>]
#include <engram/model/inference/Propagation.h>
#include <engram/model/networks/Sam2.h>
#include <engram/model/networks/SliceNet.h>

#include <torch/torch.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

using namespace engram::model;

namespace {

std::string writeModel(Sam2Config config, const std::string& name) {
    config.slm = true;
    torch::manual_seed(1);
    Sam2 net(config);
    torch::NoGradGuard noGrad;
    for (auto& p : net->parameters()) p.normal_(0, 0.02);
    auto* score = net->sam_mask_decoder->pred_obj_score_head->layers[2]->as<torch::nn::Linear>();
    score->bias.fill_(10);
    const auto path = (std::filesystem::temp_directory_path() / name).string();
    saveSam2(*net, path);
    return path;
}

std::string writeSliceNet() {
    torch::manual_seed(1);
    auto m = SliceNetModel::create(SliceNetConfig{});
    {
        torch::NoGradGuard noGrad;
        for (auto& p : m.net->named_parameters())
            if (p.key() == "object_out.bias") p.value()[0].fill_(10);
    }
    const auto path = (std::filesystem::temp_directory_path() / "engram-bench-slicenet.safetensors").string();
    m.save(path);
    return path;
}

}  // namespace

int main(int argc, char** argv) {
    std::string device = "cpu";
    std::int64_t slices = 12;
    bool longRun = false;
    std::string sliceNet;
    for (int i = 1; i < argc; ++i) {
        if (!std::strcmp(argv[i], "--device") && i + 1 < argc)
            device = argv[++i];
        else if (!std::strcmp(argv[i], "--slicenet") && i + 1 < argc)
            sliceNet = argv[++i];
        else if (!std::strcmp(argv[i], "--slices") && i + 1 < argc)
            slices = std::atoll(argv[++i]);
        else if (!std::strcmp(argv[i], "--long"))
            longRun = true;
    }
    const std::array<std::int64_t, 3> size{512, 512, longRun ? 300 : slices};
    std::vector<float> voxels(std::size_t(size[0] * size[1] * size[2]));
    for (std::size_t i = 0; i < voxels.size(); ++i) voxels[i] = float((i * 2654435761u) % 1000);
    SlicePrompt prompt{size[2] / 2, std::vector<std::uint8_t>(std::size_t(size[0] * size[1]), 0)};
    for (std::int64_t r = 200; r < 300; ++r)
        for (std::int64_t c = 180; c < 320; ++c) prompt.mask[std::size_t(r * size[0] + c)] = 1;

    Sam2Config mini = Sam2Config::fromJson(R"({"hiera_embed_dim": 32, "hiera_stages": [1, 1, 3, 1],
        "hiera_global_att_blocks": [3, 4], "memory_attention_layers": 2, "memory_attention_dim_feedforward": 512,
        "image_size": 128})");
    const std::vector<std::pair<std::string, std::optional<Sam2Config>>> models{
        {"sam2.1_hiera_t @ 512 px", Sam2Config{}},
        {"mini @ 128 px", mini},
        {"slicenet @ 64 px crops", std::nullopt}};
    std::printf("device %s, volume 512 x 512 x %lld, prompt on slice %lld, both directions\n", device.c_str(),
                static_cast<long long>(size[2]), static_cast<long long>(prompt.slice));
    std::printf("%-26s %-8s %12s %14s\n", "network", "memory", "s / slice", "peak memories");
    for (const auto& [name, config] : models) {
        const bool shipped = !config && !sliceNet.empty();
        const auto path = config    ? writeModel(*config, "engram-bench-sam2.safetensors")
                          : shipped ? sliceNet
                                    : writeSliceNet();
        SlicePropagator propagator(path, device);
        for (auto memory : {PropagationMemory::ShortLong, PropagationMemory::Plain}) {
            PropagationOptions o;
            o.memory = memory;
            o.absentSlicesToStop = 1 << 20;
            const auto r = propagator.propagate({size, voxels.data(), {0.78, 0.78, 1.0}}, {prompt}, o);
            std::printf("%-26s %-8s %12.3f %14d\n", name.c_str(),
                        memory == PropagationMemory::Plain ? "plain" : "slm",
                        r.seconds / std::max(1, r.slicesSegmented), r.peakStoredMemories);
        }
        if (!shipped) std::filesystem::remove(path);
    }
    return 0;
}
