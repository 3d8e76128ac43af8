#pragma once
// The small functions the SAM 2 modules share (private to model/src/networks).

#include <torch/nn/functional.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/normalization.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <string>
#include <vector>

namespace engram::model::sam2_layers {

namespace F = torch::nn::functional;

inline constexpr double kPi = 3.14159265358979323846;
inline constexpr double kNoObjectScore = -1024.0;  // logits of a mask whose object is absent

inline bool contains(const std::vector<int>& v, int x) { return std::find(v.begin(), v.end(), x) != v.end(); }

// A plain named module grouping children under a key prefix ("attn", "neck", ...).
inline std::shared_ptr<torch::nn::Module> group(torch::nn::Module& parent, const std::string& name) {
    return parent.register_module(name, std::make_shared<torch::nn::Module>());
}

inline torch::nn::Conv2d conv(int in, int out, int kernel, int stride = 1, int padding = 0, int groups = 1) {
    return torch::nn::Conv2d(
        torch::nn::Conv2dOptions(in, out, kernel).stride(stride).padding(padding).groups(groups));
}

inline torch::nn::LayerNorm layerNorm(int dim, double eps = 1e-5) {
    return torch::nn::LayerNorm(torch::nn::LayerNormOptions({dim}).eps(eps));
}

inline torch::Tensor attention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v) {
    // [B, heads, N, d]
    return torch::matmul((torch::matmul(q, k.transpose(-2, -1)) / std::sqrt(double(q.size(-1)))).softmax(-1),
                         v);
}

inline torch::Tensor maxPool2x2(const torch::Tensor& bhwc) {
    return F::max_pool2d(bhwc.permute({0, 3, 1, 2}), F::MaxPool2dFuncOptions(2).stride(2))
        .permute({0, 2, 3, 1});
}

// [B, H, W, C] -> windows [B * nW, w, w, C], zero-padding H and W up to multiples of w.
inline torch::Tensor windowPartition(torch::Tensor x, int64_t w, int64_t& paddedH, int64_t& paddedW) {
    const auto B = x.size(0), H = x.size(1), W = x.size(2), C = x.size(3);
    const auto ph = (w - H % w) % w, pw = (w - W % w) % w;
    if (ph > 0 || pw > 0) x = F::pad(x, F::PadFuncOptions({0, 0, 0, pw, 0, ph}));
    paddedH = H + ph;
    paddedW = W + pw;
    return x.view({B, paddedH / w, w, paddedW / w, w, C}).permute({0, 1, 3, 2, 4, 5}).reshape({-1, w, w, C});
}

inline torch::Tensor windowUnpartition(const torch::Tensor& windows, int64_t w, int64_t paddedH,
                                       int64_t paddedW, int64_t H, int64_t W) {
    const auto B = windows.size(0) / (paddedH * paddedW / w / w);
    auto x = windows.reshape({B, paddedH / w, paddedW / w, w, w, -1})
                 .permute({0, 1, 3, 2, 4, 5})
                 .reshape({B, paddedH, paddedW, -1});
    if (paddedH > H || paddedW > W)
        x = x.index({torch::indexing::Slice(), torch::indexing::Slice(0, H), torch::indexing::Slice(0, W)});
    return x;
}

}  // namespace engram::model::sam2_layers
