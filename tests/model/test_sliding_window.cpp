#include <engram/model/inference/SlidingWindow.h>

#include <gtest/gtest.h>
#include <torch/nn/functional/pooling.h>

using namespace engram::model;

namespace {

// An L-shaped tube on a 1.5 mm grid: 270 mm along z, then 150 mm along x. Much larger than one 192 mm crop.
struct Phantom {
    Grid grid;
    std::vector<float> truth;
    Phantom() {
        grid.size = {140, 60, 200};
        grid.spacing = {1.5, 1.5, 1.5};
        grid.origin = {-100, -45, -150};
        truth.assign(140 * 60 * 200, 0.0f);
        auto set = [&](std::int64_t i, std::int64_t j, std::int64_t k) {
            truth[std::size_t(i + 140 * (j + 60 * k))] = 1;
        };
        for (std::int64_t k = 10; k < 190; ++k)
            for (std::int64_t j = 24; j < 36; ++j)
                for (std::int64_t i = 14; i < 26; ++i) set(i, j, k);
        for (std::int64_t i = 26; i < 126; ++i)
            for (std::int64_t j = 24; j < 36; ++j)
                for (std::int64_t k = 178; k < 190; ++k) set(i, j, k);
    }
    // A perfect model: the true mask inside the crop, at the network's 32^3 resolution.
    CropPredictor oracle() const {
        return [this](const ModelCrop& crop, const torch::Tensor&, const torch::Tensor& labels,
                      const torch::Tensor&) {
            EXPECT_GT(labels.size(1), 0);
            const auto x = crop.resample(grid, truth.data());
            return (torch::nn::functional::avg_pool3d(x, torch::nn::functional::AvgPool3dFuncOptions(4)) -
                    0.5) *
                   16;
        };
    }
    double dice(const std::vector<std::uint8_t>& m) const {
        double inter = 0, a = 0, b = 0;
        for (std::size_t v = 0; v < m.size(); ++v) {
            a += m[v];
            b += truth[v];
            inter += m[v] && truth[v] > 0;
        }
        return 2 * inter / (a + b);
    }
};

}  // namespace

TEST(SlidingWindow, FollowsAStructureLargerThanOneCrop) {
    const Phantom p;
    const std::vector<WorldClick> click{{p.grid.indexToWorld({20, 30, 100}), true}};

    SlidingWindowOptions one;
    one.maxCrops = 1;
    const auto single = segmentAcrossCrops(p.grid, click, p.oracle(), one);
    EXPECT_TRUE(single.reachedLimit);
    EXPECT_LT(p.dice(single.mask), 0.8);  // one crop cannot hold a 270 + 150 mm structure

    const auto all = segmentAcrossCrops(p.grid, click, p.oracle());
    EXPECT_FALSE(all.reachedLimit);
    EXPECT_GT(all.cropsRun, 2);
    EXPECT_LE(all.cropsRun, 12);
    // 32^3 logits (6 mm) bound the Dice of even a perfect model on this 18 mm tube at about 0.92 inside one
    // crop; across crops the result must stay at that level and cover the whole length of both arms.
    EXPECT_GT(p.dice(all.mask), 0.9) << all.cropsRun << " crops";
    auto any = [&](auto inside) {
        for (std::int64_t k = 0; k < 200; ++k)
            for (std::int64_t j = 0; j < 60; ++j)
                for (std::int64_t i = 0; i < 140; ++i)
                    if (all.mask[std::size_t(i + 140 * (j + 60 * k))] && inside(i, k)) return true;
        return false;
    };
    for (std::int64_t k = 12; k < 188; ++k)
        EXPECT_TRUE(any([&](auto i, auto kk) { return kk == k && i < 26; })) << k;
    for (std::int64_t i = 28; i < 124; ++i)
        EXPECT_TRUE(any([&](auto ii, auto k) { return ii == i && k > 170; })) << i;
}

TEST(SlidingWindow, LaterCropsArePromptedWithTheMaskSoFar) {
    const Phantom p;
    int withMask = 0, calls = 0;
    const auto base = p.oracle();
    const CropPredictor spy = [&](const ModelCrop& c, const torch::Tensor& coords,
                                  const torch::Tensor& labels, const torch::Tensor& previous) {
        ++calls;
        if (previous.defined()) {
            ++withMask;
            EXPECT_EQ(previous.sizes(), (std::vector<std::int64_t>{1, 1, 32, 32, 32}));
            EXPECT_GT(previous.gt(0).sum().item<std::int64_t>(), 0);  // overlaps the mask found so far
        }
        return base(c, coords, labels, previous);
    };
    segmentAcrossCrops(p.grid, {{p.grid.indexToWorld({20, 30, 100}), true}}, spy);
    EXPECT_EQ(withMask, calls - 1);
}
