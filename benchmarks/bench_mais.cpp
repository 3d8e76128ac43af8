// MAIS per-click cost at the released width (prompt dim 384, 8^3 embedding, 32^3 logits), with the image
// embedding already computed: prompt encoding + memory attention + decoding + paste-back onto a CT grid,
// for bank sizes N = 0, 10, 30, 60, 80. Also the memory held by a full bank. Random weights.
//   engram_bench_mais [--device cuda] [--repeats N]
#include <engram/model/inference/ModelCrop.h>
#include <engram/model/networks/MemoryAttention.h>

#include <c10/core/InferenceMode.h>
#include <torch/cuda.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <vector>

using namespace engram::model;
using Clock = std::chrono::steady_clock;

namespace {

template <typename F>
double medianMs(int repeats, bool cuda, F&& f) {
    f();
    if (cuda) torch::cuda::synchronize();
    std::vector<double> t;
    for (int i = 0; i < repeats; ++i) {
        const auto s = Clock::now();
        f();
        if (cuda) torch::cuda::synchronize();
        t.push_back(std::chrono::duration<double, std::milli>(Clock::now() - s).count());
    }
    std::sort(t.begin(), t.end());
    return t[t.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
    std::string deviceName = "cpu";
    int repeats = 10;
    for (int i = 1; i < argc; ++i) {
        if (!std::strcmp(argv[i], "--device") && i + 1 < argc)
            deviceName = argv[++i];
        else if (!std::strcmp(argv[i], "--repeats") && i + 1 < argc)
            repeats = std::atoi(argv[++i]);
    }
    const bool cuda = deviceName == "cuda";
    const torch::Device device(cuda ? torch::kCUDA : torch::kCPU);
    c10::InferenceMode guard;
    torch::manual_seed(0);

    {  // This machine's speed today (it drifts by a third between sessions): compare tables by it.
        const auto a = torch::randn({2048, 2048}, device);
        const double ms = medianMs(5, cuda, [&] { (void)torch::matmul(a, a); });
        std::printf("calibration: matmul 2048^2 %.1f GFLOP/s\n", 2.0 * 2048 * 2048 * 2048 / (ms / 1000) / 1e9);
    }
    const SamMed3DConfig config;  // vit_b_ori widths
    PromptEncoder prompt(config);
    MaskDecoder decoder(config);
    MemoryAttention memory(MemoryAttentionConfig{});
    for (auto& p : memory->parameters()) p.normal_(0, 0.02);  // not the identity
    prompt->to(device);
    decoder->to(device);
    memory->to(device);
    const auto E = torch::randn({1, config.promptDim, 8, 8, 8}, device);
    const auto pe = prompt->densePe();
    const auto coords = torch::randint(0, 128, {1, 5, 3}, torch::TensorOptions().device(device));
    const auto labels = torch::ones({1, 5}, torch::TensorOptions().dtype(torch::kLong).device(device));
    const auto prev = torch::randn({1, 1, 32, 32, 32}, device);

    // A CT grid of 512 x 512 x 300 at 0.78 x 0.78 x 1 mm: the crop covers about 246 x 246 x 192 of its
    // voxels.
    Grid ct;
    ct.size = {512, 512, 300};
    ct.spacing = {0.78, 0.78, 1.0};
    const ModelCrop crop(ct.indexToWorld({256, 256, 150}));
    // Logits of a 60 mm object in the crop centre.
    const auto r = torch::arange(32, torch::kFloat32) - 15.5;
    const auto d2 = r.view({32, 1, 1}).pow(2) + r.view({1, 32, 1}).pow(2) + r.view({1, 1, 32}).pow(2);
    const auto objectLogits = (25.0 - d2.sqrt() * 2.5).view({1, 1, 32, 32, 32});

    std::printf("device %s; prompt dim %d; memory attention: %s\n", deviceName.c_str(), config.promptDim,
                memory->config.toJson().c_str());
    const double paste = medianMs(repeats, false, [&] { (void)crop.pasteBack(objectLogits, ct); });
    std::printf("paste-back onto the CT grid: %.1f ms\n", paste);
    double decodeOnly = 0;
    {
        const auto dense = torch::randn({config.promptDim, 8, 8, 8}, device);
        std::printf("encoding one memory when it is pushed: %.2f ms\n",
                    medianMs(repeats, cuda, [&] { (void)memory->encodeDense(dense); }));
    }
    std::printf("%4s %12s %12s %12s %14s\n", "N", "decode ms", "memory ms", "click ms", "bank MiB");
    for (int n : {0, 10, 30, 60, 80}) {
        MemoryBank bank(80);
        for (int i = 0; i < n; ++i) {  // as the engine pushes them: with the cached dense encoding
            const auto dense = torch::randn({config.promptDim, 8, 8, 8}, device);
            bank.push(torch::randn({1, config.promptDim}, device), dense, memory->encodeDense(dense));
        }
        // Interleaved, so that drift in the machine's speed hits both alike; medians of each.
        auto decode = [&](bool useMemory) {
            const auto p = prompt->forward(coords, labels, prev);
            const auto c = useMemory ? memory->forward(E, bank) : E;
            (void)decoder->forward(c, pe, p.sparse, p.dense, false);
        };
        std::vector<double> with, without;
        for (int rep = 0; rep < repeats; ++rep) {
            with.push_back(medianMs(1, cuda, [&] { decode(true); }));
            without.push_back(medianMs(1, cuda, [&] { decode(false); }));
        }
        std::sort(with.begin(), with.end());
        std::sort(without.begin(), without.end());
        const double withMemory = with[with.size() / 2], plain = without[without.size() / 2];
        if (n == 0) decodeOnly = plain;
        double bytes = 0;
        for (int i = 0; i < bank.size(); ++i)
            bytes += double(bank.at(i).sparse.numel() + bank.at(i).dense.numel() +
                            bank.at(i).denseFeature.numel()) *
                     4;
        std::printf("%4d %12.1f %12.1f %12.1f %14.2f\n", n, plain, withMemory - plain, withMemory + paste,
                    bytes / 1048576.0);
    }
    std::printf("memory attention overhead at N=60 is reported against the decode-only time %.1f ms\n",
                decodeOnly);
    double params = 0;
    for (const auto& p : memory->parameters()) params += double(p.numel());
    std::printf("memory attention parameters: %.2f M (%.1f MiB in float32)\n", params / 1e6,
                params * 4 / 1048576.0);
    return 0;
}
