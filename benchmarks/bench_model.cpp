// SAM-Med3D timings on this machine: the image encoder at the full vit_b_ori size (literal padded windows vs
// the exact fast path, same run), and prompt encoding + decoding per click. Weights are random: timing does
// not depend on their values. Prints the BLAS library in use and the measured matrix-multiply rate, and
// each encoder path's achieved GFLOP/s against it.
//   engram_bench_model [--device cuda] [--dtype bf16|f16|f32] [--repeats N] [--skip-literal]
#include <engram/model/networks/SamMed3D.h>

#include <ATen/autocast_mode.h>
#include <torch/csrc/autograd/grad_mode.h>
#include <torch/cuda.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

using namespace engram::model;
using Clock = std::chrono::steady_clock;

namespace {

std::string blasInUse() {
    std::ifstream maps("/proc/self/maps");
    std::string line;
    while (std::getline(maps, line))
        if (line.find("blas") != std::string::npos) return line.substr(line.find('/'));
    return "none found in /proc/self/maps";
}

void sync(const torch::Device& d) {
    if (d.is_cuda()) torch::cuda::synchronize();
}

template <typename F>
double medianSeconds(int repeats, const torch::Device& device, F&& f) {
    f();  // warm-up
    sync(device);
    std::vector<double> t;
    for (int i = 0; i < repeats; ++i) {
        const auto start = Clock::now();
        f();
        sync(device);
        t.push_back(std::chrono::duration<double>(Clock::now() - start).count());
    }
    std::sort(t.begin(), t.end());
    return t[t.size() / 2];
}

// Multiply-adds x2 of the encoder, counted layer by layer. `literal`: windowed blocks work on the padded
// window (qkv, attention, projection and relative-position terms over window^3 tokens).
double encoderGflop(const SamMed3DConfig& c, bool literal) {
    const double C = c.embedDim, G = c.gridSize(), n = G * G * G, S = c.windowSize, hd = C / c.heads;
    const double patch = double(c.patchSize) * c.patchSize * c.patchSize;
    double f = 2 * n * patch * C;  // patch embedding
    for (int i = 0; i < c.depth; ++i) {
        const bool global = std::find(c.globalAttn.begin(), c.globalAttn.end(), i) != c.globalAttn.end();
        const double side = global ? G : (literal ? S : G);
        const double t = literal && !global ? S * S * S : n;             // tokens entering attention
        f += 2 * t * C * 3 * C;                                          // qkv
        f += literal || global ? 2 * 2 * t * t * C : 2 * 2 * n * n * C;  // scores + weighted values
        f += 3 * 2 * t * side * hd * c.heads;                            // relative-position terms
        f += 2 * t * C * C;                                              // output projection
        f += 2 * 2 * n * C * c.mlpRatio * C;                             // MLP on the real tokens
    }
    f += 2 * n * C * c.promptDim + 2 * n * c.promptDim * c.promptDim * 27;  // neck
    return f / 1e9;
}

}  // namespace

int main(int argc, char** argv) {
    std::string deviceName = "cpu", dtypeName = "f32";
    int repeats = 3;
    bool skipLiteral = false;
    for (int i = 1; i < argc; ++i) {
        if (!std::strcmp(argv[i], "--device") && i + 1 < argc)
            deviceName = argv[++i];
        else if (!std::strcmp(argv[i], "--dtype") && i + 1 < argc)
            dtypeName = argv[++i];
        else if (!std::strcmp(argv[i], "--repeats") && i + 1 < argc)
            repeats = std::atoi(argv[++i]);
        else if (!std::strcmp(argv[i], "--skip-literal"))
            skipLiteral = true;
    }
    const torch::Device device(deviceName == "cuda" ? torch::kCUDA : torch::kCPU);
    const auto dtype = dtypeName == "bf16"  ? torch::kBFloat16
                       : dtypeName == "f16" ? torch::kFloat16
                                            : torch::kFloat32;
    torch::NoGradGuard noGrad;
    torch::manual_seed(0);

    std::printf("device %s, dtype %s, %d intra-op threads\n", deviceName.c_str(), dtypeName.c_str(),
                at::get_num_threads());
    std::printf("BLAS: %s\n", blasInUse().c_str());
    {
        const auto a = torch::randn({2048, 2048}, torch::TensorOptions().device(device).dtype(dtype));
        const double s = medianSeconds(5, device, [&] { (void)torch::matmul(a, a); });
        std::printf("matmul 2048^2: %.1f GFLOP/s\n", 2.0 * 2048 * 2048 * 2048 / s / 1e9);
    }

    const SamMed3DConfig config;  // vit_b_ori
    SamMed3D net(config);
    net->eval();
    net->to(device, dtype);
    const auto opts = torch::TensorOptions().device(device).dtype(dtype);
    const auto image = torch::randn({1, 1, config.imgSize, config.imgSize, config.imgSize}, opts);

    torch::Tensor embedding;
    for (auto mode : {EncoderAttentionMode::Exact, EncoderAttentionMode::Literal}) {
        const bool literal = mode == EncoderAttentionMode::Literal;
        if (literal && skipLiteral) continue;
        net->image_encoder->mode = mode;
        const double s =
            medianSeconds(repeats, device, [&] { embedding = net->image_encoder->forward(image); });
        const double gflop = encoderGflop(config, literal);
        std::printf("encoder %-8s %8.3f s  %7.1f GFLOP  %7.1f GFLOP/s\n", literal ? "literal" : "exact", s,
                    gflop, gflop / s);
    }

    const auto pe = net->prompt_encoder->densePe().to(dtype);
    for (int clicks : {1, 10}) {
        const auto coords = torch::randint(0, config.imgSize, {1, clicks, 3}, opts);
        const auto labels =
            torch::ones({1, clicks}, torch::TensorOptions().device(device).dtype(torch::kLong));
        const int low = 4 * config.gridSize();
        const auto prev = torch::randn({1, 1, low, low, low}, opts);
        const double s = medianSeconds(std::max(repeats, 10), device, [&] {
            const auto prompts = net->prompt_encoder->forward(coords, labels, prev);
            (void)net->mask_decoder->forward(embedding, pe, prompts.sparse, prompts.dense, false);
        });
        std::printf("prompt + decoder, %2d clicks + previous mask: %7.2f ms\n", clicks, s * 1e3);
    }
    return 0;
}
