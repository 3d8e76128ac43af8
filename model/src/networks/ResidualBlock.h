#pragma once
// The residual block of the compact families' U-Nets (ClickNet: 3D, SliceNet: 2D): two 3x3(x3) convolutions
// with GroupNorm and LeakyReLU(0.1), a 1x1(x1) projection on the skip when the width changes. Internal to
// model/; the parameter names (conv1, norm1, conv2, norm2, skip) are part of the model files.

#include <torch/nn/functional/activation.h>
#include <torch/nn/module.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/normalization.h>

#include <type_traits>

namespace engram::model {

template <int Dims>
class ResidualBlockImpl : public torch::nn::Module {
    static_assert(Dims == 2 || Dims == 3);
    using Conv = std::conditional_t<Dims == 2, torch::nn::Conv2d, torch::nn::Conv3d>;
    using Options = std::conditional_t<Dims == 2, torch::nn::Conv2dOptions, torch::nn::Conv3dOptions>;

  public:
    ResidualBlockImpl(int in, int out) {
        const int groups = out % 8 == 0 ? 8 : 4;
        conv1 = register_module("conv1", Conv(Options(in, out, 3).padding(1).bias(false)));
        norm1 = register_module("norm1", torch::nn::GroupNorm(groups, out));
        conv2 = register_module("conv2", Conv(Options(out, out, 3).padding(1).bias(false)));
        norm2 = register_module("norm2", torch::nn::GroupNorm(groups, out));
        if (in != out) skip = register_module("skip", Conv(Options(in, out, 1).bias(false)));
    }
    torch::Tensor forward(const torch::Tensor& x) {
        namespace F = torch::nn::functional;
        const auto act = F::LeakyReLUFuncOptions().negative_slope(0.1);
        auto y = F::leaky_relu(norm1(conv1(x)), act);
        y = norm2(conv2(y));
        return F::leaky_relu(y + (skip ? skip(x) : x), act);
    }

  private:
    Conv conv1{nullptr}, conv2{nullptr}, skip{nullptr};
    torch::nn::GroupNorm norm1{nullptr}, norm2{nullptr};
};

template <int Dims>
using ResidualBlock = torch::nn::ModuleHolder<ResidualBlockImpl<Dims>>;

}  // namespace engram::model
