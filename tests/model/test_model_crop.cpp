#include <engram/model/inference/ModelCrop.h>

#include <gtest/gtest.h>
#include <torch/nn/functional/pooling.h>
#include <torch/nn/functional/upsampling.h>

#include <cmath>

using namespace engram::model;

namespace {

// An oblique, anisotropic source grid (rotations about z and x).
Grid oblique() {
    Grid g;
    g.size = {90, 80, 60};
    g.spacing = {0.9, 0.7, 2.5};
    g.origin = {-40, 25, -60};
    const double a = 0.4, b = 0.25;
    const double rz[9] = {std::cos(a), -std::sin(a), 0, std::sin(a), std::cos(a), 0, 0, 0, 1};
    const double rx[9] = {1, 0, 0, 0, std::cos(b), -std::sin(b), 0, std::sin(b), std::cos(b)};
    for (int r = 0; r < 3; ++r)
        for (int c = 0; c < 3; ++c) {
            g.direction[r * 3 + c] = 0;
            for (int k = 0; k < 3; ++k) g.direction[r * 3 + c] += rz[r * 3 + k] * rx[k * 3 + c];
        }
    return g;
}

std::vector<float> sphere(const Grid& g, const Point3& centre, double radius) {
    std::vector<float> v(static_cast<std::size_t>(g.size[0] * g.size[1] * g.size[2]));
    std::size_t n = 0;
    for (std::int64_t k = 0; k < g.size[2]; ++k)
        for (std::int64_t j = 0; j < g.size[1]; ++j)
            for (std::int64_t i = 0; i < g.size[0]; ++i, ++n) {
                const Point3 w = g.indexToWorld({double(i), double(j), double(k)});
                v[n] =
                    std::hypot(w[0] - centre[0], w[1] - centre[1], w[2] - centre[2]) < radius ? 1.0f : 0.0f;
            }
    return v;
}

// Calls f(mask value, truth value) for every voxel of the region.
template <typename F>
void forEachRegionVoxel(const RegionMask& m, const Grid& g, const std::vector<float>& truth, F&& f) {
    std::size_t v = 0;
    for (std::int64_t k = 0; k < m.size[2]; ++k)
        for (std::int64_t j = 0; j < m.size[1]; ++j)
            for (std::int64_t i = 0; i < m.size[0]; ++i, ++v) {
                const auto off =
                    (m.begin[0] + i) + g.size[0] * ((m.begin[1] + j) + g.size[1] * (m.begin[2] + k));
                f(m.mask[v] != 0, truth[static_cast<std::size_t>(off)] > 0.5f);
            }
}

double dice(const RegionMask& m, const Grid& g, const std::vector<float>& truth) {
    std::int64_t inter = 0, a = 0, b = 0;
    for (float t : truth) b += t > 0.5f;
    forEachRegionVoxel(m, g, truth, [&](bool in, bool ref) {
        a += in;
        inter += in && ref;
    });
    return 2.0 * double(inter) / double(a + b);
}

}  // namespace

TEST(ModelCrop, IsRasAt1p5mmCentredOnThePoint) {
    const Point3 p{12.3, -45.6, 78.9};
    const ModelCrop crop(p);
    const Point3 c = crop.worldToCrop(p);
    for (int a = 0; a < 3; ++a) EXPECT_NEAR(c[a], 64.0, 1e-9);
    // Axis 0 towards the patient's right (LPS -x), axis 1 anterior (-y), axis 2 superior (+z).
    const Point3 step = crop.cropToWorld({65, 64, 64});
    EXPECT_NEAR(step[0] - p[0], -1.5, 1e-9);
    EXPECT_NEAR(crop.cropToWorld({64, 65, 64})[1] - p[1], -1.5, 1e-9);
    EXPECT_NEAR(crop.cropToWorld({64, 64, 65})[2] - p[2], 1.5, 1e-9);
}

TEST(ModelCrop, AClickMapsBackToItsWorldPointWithinHalfAVoxel) {
    const Grid g = oblique();
    const Point3 centre = g.indexToWorld({45, 40, 30});
    const ModelCrop crop(centre);
    for (const Point3 idx : {Point3{45, 40, 30}, Point3{10, 70, 5}, Point3{80, 3, 55}}) {
        const Point3 world = g.indexToWorld(idx);
        if (!crop.containsWorld(world)) continue;
        const Point3 c = crop.worldToCrop(world);
        const Point3 voxel{std::round(c[0]), std::round(c[1]),
                           std::round(c[2])};  // what the network is given
        const Point3 back = crop.cropToWorld(voxel);
        for (int a = 0; a < 3; ++a) EXPECT_LE(std::abs(back[a] - world[a]), 0.75 + 1e-9);
    }
}

TEST(ModelCrop, SphereSurvivesCropAndPasteBackExactlyOnAMatchingGrid) {
    // An LPS 1.5 mm grid whose voxel centres coincide with the crop's: the crop is a pure axis flip.
    Grid g;
    g.size = {100, 110, 120};
    g.spacing = {1.5, 1.5, 1.5};
    g.origin = {-30, 20, -50};
    const Point3 centre = g.indexToWorld({50, 55, 60});
    const auto truth = sphere(g, g.indexToWorld({47, 58, 63}), 25.0);
    const ModelCrop crop(centre);
    const auto x = crop.resample(g, truth.data());
    const RegionMask m = crop.pasteBackFull(x.reshape({128, 128, 128}) * 2 - 1, g);
    std::int64_t differ = 0, ones = 0;
    forEachRegionVoxel(m, g, truth, [&](bool in, bool ref) { differ += in != ref; });
    for (float t : truth) ones += t > 0.5f;
    EXPECT_EQ(differ, 0);
    EXPECT_EQ(m.count(), ones);
    EXPECT_FALSE(m.touchesCropBorder());
}

TEST(ModelCrop, SphereOnAnObliqueAnisotropicGridKeepsItsShape) {
    const Grid g = oblique();
    const Point3 centre = g.indexToWorld({45, 40, 30});
    const auto truth = sphere(g, centre, 20.0);
    const ModelCrop crop(centre);
    const auto x = crop.resample(g, truth.data());
    // Through the network's resolution: 32^3 logits, as the decoder produces them.
    namespace F = torch::nn::functional;
    const auto low = F::interpolate(x * 2 - 1, F::InterpolateFuncOptions()
                                                   .size(std::vector<std::int64_t>{32, 32, 32})
                                                   .mode(torch::kTrilinear)
                                                   .align_corners(false));
    const RegionMask m = crop.pasteBack(low, g);
    EXPECT_GT(dice(m, g, truth), 0.95);
}

TEST(ModelCrop, NormalisationAndClampFollowTheReference) {
    Grid g;
    g.size = {128, 128, 128};
    g.spacing = {1.5, 1.5, 1.5};
    std::vector<float> ct(128 * 128 * 128, -1024.0f);
    for (std::size_t i = 0; i < ct.size(); i += 3)
        ct[i] = 40.0f + float(i % 7) * 100.0f;  // soft tissue to bone
    const ModelCrop crop(g.indexToWorld({64, 64, 64}));
    const auto x = crop.networkInput(g, ct.data());
    const auto fg = crop.resample(g, ct.data()).gt(0);
    EXPECT_NEAR(x.masked_select(fg).mean().item<double>(), 0.0, 1e-4);
    EXPECT_NEAR(x.masked_select(fg).std().item<double>(), 1.0, 1e-4);
    // Clamping happens before the statistics are taken: values above 1000 HU no longer widen the spread.
    for (std::size_t i = 0; i < ct.size(); i += 11) ct[i] = 3000.0f;
    CropOptions clamp;
    clamp.clampCt = true;
    const ModelCrop clamped(g.indexToWorld({64, 64, 64}), clamp);
    const auto c = clamped.resample(g, ct.data()).clamp(-1000, 1000);
    const auto fgc = c.gt(0);
    const auto expected = (c - c.masked_select(fgc).mean()) / c.masked_select(fgc).std();
    EXPECT_TRUE(torch::allclose(clamped.networkInput(g, ct.data()), expected, 1e-4, 1e-5));
    EXPECT_FALSE(torch::allclose(crop.networkInput(g, ct.data()), expected, 1e-2, 1e-2));
}

TEST(ModelCrop, PredictionReachingTheFaceIsFlagged) {
    Grid g;
    g.size = {300, 60, 60};
    g.spacing = {1.5, 1.5, 1.5};
    const auto rod = sphere(g, g.indexToWorld({150, 30, 30}), 0);  // empty
    std::vector<float> longRod(rod.size(), 0.0f);
    for (std::int64_t i = 0; i < 300; ++i)
        for (std::int64_t j = 25; j < 35; ++j)
            for (std::int64_t k = 25; k < 35; ++k)
                longRod[static_cast<std::size_t>(i + 300 * (j + 60 * k))] = 1.0f;
    const ModelCrop crop(g.indexToWorld({150, 30, 30}));
    const auto x = crop.resample(g, longRod.data());
    const RegionMask m = crop.pasteBackFull(x.reshape({128, 128, 128}) * 2 - 1, g);
    EXPECT_TRUE(m.touchesCropBorder());
    // The rod runs along source i = LPS x, which is crop axis 0 (Right = -x): both axis-0 faces, no others.
    EXPECT_EQ(m.touchedFaces, (std::array<bool, 6>{true, true, false, false, false, false}));
}

// pasteBack upsamples only the neighbourhood of the positive low-resolution voxels; the result must equal
// the paste of the whole upsampled crop, face flags included.
TEST(ModelCrop, PartialUpsamplingGivesTheSameMaskAsTheFullCrop) {
    const Grid g = oblique();
    const ModelCrop crop(g.indexToWorld({45, 40, 30}));
    torch::manual_seed(9);
    for (const double bias : {-2.0, -0.5, 0.5}) {  // a few blobs .. most of the crop positive
        SCOPED_TRACE(bias);
        namespace F = torch::nn::functional;
        const auto low =
            F::avg_pool3d(torch::randn({1, 1, 64, 64, 64}), F::AvgPool3dFuncOptions(2)) * 4 + bias;
        const auto full = F::interpolate(low, F::InterpolateFuncOptions()
                                                  .size(std::vector<std::int64_t>{128, 128, 128})
                                                  .mode(torch::kTrilinear)
                                                  .align_corners(false));
        const RegionMask a = crop.pasteBack(low, g), b = crop.pasteBackFull(full.reshape({128, 128, 128}), g);
        EXPECT_EQ(a.begin, b.begin);
        EXPECT_EQ(a.size, b.size);
        EXPECT_EQ(a.mask, b.mask);
        EXPECT_EQ(a.touchedFaces, b.touchedFaces);
        EXPECT_GT(b.count(), 0);
    }
}

// The paste fills blocks whose sample points all fall in crop cells of one sign at once: the mask must be
// the one that sampling every source voxel gives (oblique source, finer than the crop along two axes).
TEST(ModelCrop, BlockwisePasteEqualsSamplingEveryVoxel) {
    const Grid g = oblique();
    const ModelCrop crop(g.indexToWorld({45, 40, 30}));
    torch::manual_seed(4);
    namespace F = torch::nn::functional;
    const auto blobs = F::avg_pool3d(torch::randn({1, 1, 64, 64, 64}), F::AvgPool3dFuncOptions(4)) * 8 - 0.5;
    const auto logits = F::interpolate(blobs, F::InterpolateFuncOptions()
                                                  .size(std::vector<std::int64_t>{128, 128, 128})
                                                  .mode(torch::kTrilinear)
                                                  .align_corners(false))
                            .reshape({128, 128, 128})
                            .contiguous();
    const float* d = logits.data_ptr<float>();  // [a][b][c], c fastest
    auto sample = [&](const Point3& c) {        // trilinear, negative beyond the border voxel centres
        std::int64_t i0[3];
        double f[3];
        for (int a = 0; a < 3; ++a) {
            if (!(c[a] >= 0 && c[a] <= 127)) return -1.0;
            i0[a] = std::min<std::int64_t>(static_cast<std::int64_t>(c[a]), 126);
            f[a] = c[a] - double(i0[a]);
        }
        double v = 0;
        for (int corner = 0; corner < 8; ++corner) {
            double w = 1;
            std::int64_t at[3];
            for (int a = 0; a < 3; ++a) {
                const bool up = corner >> a & 1;
                w *= up ? f[a] : 1 - f[a];
                at[a] = i0[a] + up;
            }
            v += w * d[at[0] * 128 * 128 + at[1] * 128 + at[2]];
        }
        return v;
    };
    const RegionMask m = crop.pasteBackFull(logits, g);
    std::int64_t differ = 0, positive = 0, negative = 0;
    std::size_t v = 0;
    for (std::int64_t k = 0; k < m.size[2]; ++k)
        for (std::int64_t j = 0; j < m.size[1]; ++j)
            for (std::int64_t i = 0; i < m.size[0]; ++i, ++v) {
                const double value = sample(crop.worldToCrop(g.indexToWorld(
                    {double(m.begin[0] + i), double(m.begin[1] + j), double(m.begin[2] + k)})));
                if (std::abs(value) < 1e-4) continue;  // rounding may decide these either way
                (value > 0 ? positive : negative) += 1;
                differ += (m.mask[v] != 0) != (value > 0);
            }
    EXPECT_EQ(differ, 0);
    EXPECT_GT(positive, 10000);
    EXPECT_GT(negative, 10000);
}
