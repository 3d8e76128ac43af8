// Training, evaluation and their building blocks: mask measures, the simulated user, the region-growing
// baseline, a unit-sized training run that must lower its loss, resuming from a checkpoint, and a model
// file carrying its crop geometry into the engine.
#include <engram/model/classical/RegionGrowing.h>
#include <engram/model/evaluation/Evaluation.h>
#include <engram/model/inference/MaisModel.h>
#include <engram/model/inference/SegmentationEngine.h>
#include <engram/model/training/Training.h>
#include <engram/model/weights/SafeTensors.h>

#include "../support/EllipsoidPhantom.h"

#include <gtest/gtest.h>
#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <filesystem>

using namespace engram::model;
namespace fs = std::filesystem;

namespace {

std::vector<std::uint8_t> box(const Dims3& n, const Dims3& lo, const Dims3& hi) {
    std::vector<std::uint8_t> m(static_cast<std::size_t>(n[0] * n[1] * n[2]), 0);
    for (std::int64_t k = lo[2]; k <= hi[2]; ++k)
        for (std::int64_t j = lo[1]; j <= hi[1]; ++j)
            for (std::int64_t i = lo[0]; i <= hi[0]; ++i)
                m[static_cast<std::size_t>(i + n[0] * (j + n[1] * k))] = 1;
    return m;
}

LabelledVolume phantom(unsigned seed) { return engram::test::ellipsoidPhantom(seed); }

fs::path outDir(const std::string& name) {
    const fs::path d = fs::path(ENGRAM_TEST_OUT) / "training" / name;
    fs::remove_all(d);
    fs::create_directories(d);
    return d;
}

TrainOptions tinyOptions(const fs::path& dir) {
    TrainOptions o;
    o.architecture = "tiny";
    o.output = (dir / "tiny.safetensors").string();
    o.epochs = 6;
    o.samplesPerEpoch = 8;
    o.clicks = 3;
    o.lrDecoder = o.lrEncoder = 2e-3;
    o.lrMemory = 2e-3;
    o.milestones = {100};
    o.seed = 3;
    return o;
}

}  // namespace

TEST(MaskMetrics, DistanceTransformMatchesBruteForce) {
    const Dims3 n{9, 7, 5};
    const Spacing3 sp{1.0, 2.0, 3.5};
    std::vector<std::uint8_t> f(9 * 7 * 5, 0);
    f[3 + 9 * (2 + 7 * 1)] = f[8 + 9 * (6 + 7 * 4)] = f[0] = 1;
    const auto d = squaredDistanceToFeature(f.data(), n, sp);
    for (std::int64_t o = 0; o < 9 * 7 * 5; ++o) {
        double best = 1e30;
        for (std::int64_t q = 0; q < 9 * 7 * 5; ++q) {
            if (!f[static_cast<std::size_t>(q)]) continue;
            const double dx = double(o % 9 - q % 9) * sp[0], dy = double((o / 9) % 7 - (q / 9) % 7) * sp[1],
                         dz = double(o / 63 - q / 63) * sp[2];
            best = std::min(best, dx * dx + dy * dy + dz * dz);
        }
        EXPECT_NEAR(d[static_cast<std::size_t>(o)], best, 1e-3) << o;
    }
    std::vector<std::uint8_t> none(9 * 7 * 5, 0);
    EXPECT_TRUE(std::isinf(squaredDistanceToFeature(none.data(), n, sp)[0]));
}

TEST(MaskMetrics, DiceSurfaceDistanceAndNsdOfShiftedBoxes) {
    const Dims3 n{20, 20, 20};
    const auto a = box(n, {5, 5, 5}, {12, 12, 12}),
               b = box(n, {6, 5, 5}, {13, 12, 12});  // shifted 1 voxel in i
    const auto same = compareMasks(a.data(), a.data(), n, {2, 2, 2});
    EXPECT_DOUBLE_EQ(same.dice, 1.0);
    EXPECT_DOUBLE_EQ(same.assd, 0.0);
    EXPECT_DOUBLE_EQ(same.nsd, 1.0);
    const auto c = compareMasks(a.data(), b.data(), n, {2, 2, 2}, 1.0);
    EXPECT_NEAR(c.dice, 2.0 * 7 * 64 / (2 * 512.0), 1e-12);
    // Per box, 296 surface voxels; 2 mm from the other surface: the 64 of the face the other box left behind
    // and the 36 inner voxels of the opposite face (its rim lies on the other box's side faces). The rest
    // lie on the other surface.
    const double surface = 8.0 * 8 * 8 - 6.0 * 6 * 6, off = 64 + 36;
    EXPECT_NEAR(c.assd, (2 * off * 2.0) / (2 * surface), 1e-9);
    EXPECT_NEAR(c.nsd, 1.0 - (2 * off) / (2 * surface), 1e-9);
    std::vector<std::uint8_t> empty(a.size(), 0);
    const auto e = compareMasks(empty.data(), a.data(), n, {1, 1, 1});
    EXPECT_EQ(e.dice, 0.0);
    EXPECT_TRUE(std::isnan(e.assd));
    EXPECT_EQ(e.nsd, 0.0);
}

TEST(SimulatedClicks, FirstClickInTargetAndCorrectionsInTheError) {
    const Dims3 n{16, 16, 16};
    const auto truth = box(n, {2, 2, 2}, {9, 9, 9});
    std::vector<std::uint8_t> empty(truth.size(), 0);
    std::mt19937 rng(1);
    for (auto rule : {ClickRule::RandomError, ClickRule::LargestErrorCentre}) {
        const auto first = nextClick(empty.data(), truth.data(), n, {1, 1, 1}, rule, rng);
        ASSERT_TRUE(first);
        EXPECT_TRUE(first->positive);
        const auto& i = first->index;
        EXPECT_TRUE(truth[static_cast<std::size_t>(i[0] + 16 * (i[1] + 16 * i[2]))]);
        // Over-segmentation only: the click is negative and outside the target.
        const auto over = box(n, {2, 2, 2}, {13, 13, 13});
        const auto neg = nextClick(over.data(), truth.data(), n, {1, 1, 1}, rule, rng);
        ASSERT_TRUE(neg);
        EXPECT_FALSE(neg->positive);
        EXPECT_FALSE(
            truth[static_cast<std::size_t>(neg->index[0] + 16 * (neg->index[1] + 16 * neg->index[2]))]);
        EXPECT_FALSE(nextClick(truth.data(), truth.data(), n, {1, 1, 1}, rule, rng));
    }
    // The centre rule: deepest voxel of the largest error component (a 7^3 cube beats two stray voxels).
    auto target = box(n, {4, 4, 4}, {10, 10, 10});
    target[0] = target[15] = 1;
    const auto c = nextClick(empty.data(), target.data(), n, {1, 1, 1}, ClickRule::LargestErrorCentre, rng);
    ASSERT_TRUE(c);
    EXPECT_EQ(c->index, (std::array<std::int64_t, 3>{7, 7, 7}));
    EXPECT_THROW(parseClickRule("middle"), std::invalid_argument);
}

TEST(RegionGrowing, GrowsTheClickedStructureAndStopsAtNegativeClicks) {
    const auto v = phantom(5);
    const Dims3 n{40, 36, 30};
    std::vector<std::uint8_t> truth(v.labels.size());
    for (std::size_t o = 0; o < truth.size(); ++o) truth[o] = v.labels[o] == 1;
    const auto grown = growRegion(v.image.data(), n, {4, 4, 4}, {{{14, 18, 15}, true}});
    EXPECT_GT(dice(grown.data(), truth.data(), std::int64_t(truth.size())), 0.9);
    // A negative click inside the brighter structure blocks the voxels around it.
    const auto wide = growRegion(v.image.data(), n, {4, 4, 4}, {{{14, 18, 15}, true}, {{30, 14, 12}, true}});
    const auto narrowed = growRegion(v.image.data(), n, {4, 4, 4},
                                     {{{14, 18, 15}, true}, {{30, 14, 12}, true}, {{32, 14, 12}, false}});
    auto count = [](const std::vector<std::uint8_t>& m) { return std::count(m.begin(), m.end(), 1); };
    EXPECT_LT(count(narrowed), count(wide));
    EXPECT_EQ(count(growRegion(v.image.data(), n, {4, 4, 4}, {{{14, 18, 15}, false}})), 0);
}

TEST(Training, UnitSizedRunLowersTheLossAndWritesALoadableModel) {
    torch::set_num_threads(1);
    const auto dir = outDir("unit");
    const std::vector<LabelledVolume> data{phantom(1), phantom(2)};
    auto o = tinyOptions(dir);
    std::vector<TrainProgress> epochs;
    const auto summary = trainMais(data, o, [&](const TrainProgress& p) { epochs.push_back(p); });
    ASSERT_EQ(epochs.size(), 6u);
    EXPECT_EQ(summary.targets, 4);
    const double early = (epochs[0].loss + epochs[1].loss) / 2, late = (epochs[4].loss + epochs[5].loss) / 2;
    EXPECT_LT(late, 0.85 * early) << "loss " << early << " -> " << late;

    const auto m = MaisModel::load(o.output);
    ASSERT_TRUE(m.memory);
    EXPECT_EQ(m.crop.size, 32);
    EXPECT_DOUBLE_EQ(m.crop.spacing, 6.0);
    EXPECT_EQ(m.config.promptDim, 24);
    const SafeTensorsFile file(o.output);
    EXPECT_TRUE(file.metadata().count("trained"));
    for (const auto& [name, entry] : file.entries()) EXPECT_NE(name.rfind("optimizer.", 0), 0u) << name;
    EXPECT_TRUE(
        SafeTensorsFile(o.output + ".ckpt").contains("optimizer.mask_decoder.iou_token.weight.exp_avg"));
}

TEST(Training, ResumingFromACheckpointEqualsAnUninterruptedRun) {
    torch::set_num_threads(1);
    const std::vector<LabelledVolume> data{phantom(1)};
    auto whole = tinyOptions(outDir("whole"));
    whole.epochs = 3;
    whole.samplesPerEpoch = 3;
    trainMais(data, whole);

    auto part = tinyOptions(outDir("part"));
    part.epochs = 2;
    part.samplesPerEpoch = 3;
    trainMais(data, part);
    auto rest = part;
    rest.epochs = 3;
    rest.resume = part.output + ".ckpt";
    const auto summary = trainMais(data, rest);
    EXPECT_EQ(summary.history.size(), 3u);

    const SafeTensorsFile a(whole.output), b(rest.output);
    for (const auto& [name, entry] : a.entries())
        EXPECT_TRUE(torch::allclose(a.load(name), b.load(name), 1e-5, 1e-6)) << name;
}

TEST(Training, RejectsDataWithoutUsableTargets) {
    auto v = phantom(1);
    std::fill(v.labels.begin(), v.labels.end(), 0);
    auto o = tinyOptions(outDir("empty"));
    EXPECT_THROW(trainMais({v}, o), std::invalid_argument);
    auto p = phantom(1);
    p.labels.pop_back();
    EXPECT_THROW(trainMais({p}, o), std::invalid_argument);
}

TEST(Training, KeepsTheBestEpochAndSkipsTargetsBelowTheMinimumSize) {
    torch::set_num_threads(1);
    const auto dir = outDir("best");
    auto o = tinyOptions(dir);
    o.epochs = 4;
    o.samplesPerEpoch = 3;
    o.keepBest = true;
    o.minTargetMillilitres = 60;  // label 1 is ~135 mL, label 2 ~40 mL
    const auto summary = trainMais({phantom(1)}, o);
    EXPECT_EQ(summary.targets, 1);
    ASSERT_EQ(summary.history.size(), 4u);
    const auto best = std::max_element(summary.history.begin(), summary.history.end(),
                                       [](const auto& a, const auto& b) { return a.dice < b.dice; });
    EXPECT_EQ(summary.keptEpoch, best->epoch);
    const auto trained = nlohmann::json::parse(SafeTensorsFile(o.output).metadata().at("trained"));
    EXPECT_EQ(trained.at("epoch").get<int>(), best->epoch);

    o.minTargetMillilitres = 500;
    EXPECT_THROW(trainMais({phantom(1)}, o), std::invalid_argument);
}

TEST(Evaluation, EveryMethodFollowsTheProtocolFromTheSameFirstClick) {
    torch::set_num_threads(1);
    const auto dir = outDir("eval");
    auto o = tinyOptions(dir);
    o.epochs = 1;
    o.samplesPerEpoch = 2;
    trainMais({phantom(1)}, o);

    auto v = phantom(9);
    v.labelNames = {{1, "big"}};
    EvalOptions e;
    e.weights = o.output;
    e.clicks = 4;
    e.rule = ClickRule::LargestErrorCentre;
    for (const char* m : {"mais", "none", "mais@10", "region-growing"})
        e.methods.push_back(parseEvalMethod(m));
    const auto rows = evaluateInteractive({v}, e);
    ASSERT_EQ(rows.size(), 2u * 4 * 4);  // targets x methods x clicks
    for (const auto& r : rows) {
        EXPECT_GE(r.dice, 0.0);
        EXPECT_LE(r.dice, 1.0);
    }
    EXPECT_EQ(rows[0].target, "big");
    EXPECT_EQ(rows[4].target, "label 2");
    const auto curves = meanDiceCurves(rows);
    EXPECT_EQ(curves.size(), 4u);
    EXPECT_GT(curves.at("region-growing").back(), 0.8);  // bright, well-separated phantoms
    const auto table = formatEvaluationTable(rows, {1, 4});
    EXPECT_NE(table.find("Dice@4"), std::string::npos);
    EXPECT_NE(table.find("mais@10"), std::string::npos);
    EXPECT_EQ(toCsv(rows).substr(0, 40), "scan,label,target,method,click,dice,nsd,");
    EXPECT_THROW(parseEvalMethod("mais@90"), std::invalid_argument);
    EXPECT_THROW(parseEvalMethod("magic"), std::invalid_argument);
}

TEST(Training, ModelFileCarriesItsCropGeometryIntoTheEngine) {
    const auto dir = outDir("crop");
    SamMed3DConfig c;
    c.embedDim = 32, c.depth = 1, c.heads = 2, c.globalAttn = {0}, c.promptDim = 24, c.imgSize = 32;
    c.patchSize = 8, c.windowSize = 0, c.decoderDepth = 1, c.decoderHeads = 2, c.decoderMlpDim = 32;
    MemoryAttentionConfig mc;
    mc.dim = 24, mc.width = 8, mc.sparseWidth = 16, mc.heads = 2, mc.crossWidth = 8;
    auto m = MaisModel::create(c, mc);
    m.crop.size = 32;
    m.crop.spacing = 5.0;
    const auto path = (dir / "m.safetensors").string();
    m.save(path, {}, {}, true);
    const SafeTensorsFile f(path);
    EXPECT_EQ(f.entries().at("mask_decoder.iou_token.weight").dtype, "F16");
    const auto back = MaisModel::load(path);
    EXPECT_DOUBLE_EQ(back.crop.spacing, 5.0);

    EngineOptions eo;
    eo.weights = path;
    SegmentationEngine engine(eo);  // uses the file's 32^3 crops at 5 mm
    eo.crop = CropOptions{};        // 128^3 override: does not fit this network
    EXPECT_THROW(SegmentationEngine bad(eo), WeightsError);

    m.crop.size = 64;  // inconsistent with the network
    m.save(path);
    EXPECT_THROW(MaisModel::load(path), WeightsError);
}
