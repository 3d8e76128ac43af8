#include <engram/model/inference/MaisModel.h>
#include <engram/model/inference/ModelCrop.h>
#include <engram/model/inference/SegmentationEngine.h>
#include <engram/model/weights/SafeTensors.h>

#include <gtest/gtest.h>
#include <torch/csrc/autograd/grad_mode.h>

#include <cmath>

using namespace engram::model;

namespace {

const std::string kParity = std::string(ENGRAM_SHARED_DIR) + "/parity/sam-med3d-tiny-seed1.safetensors";

// The parity network (random weights) plus random, non-zero memory-attention weights.
const std::string& weightsWithMemory() {
    static const std::string path = [] {
        torch::manual_seed(11);
        MemoryAttentionConfig mc;
        mc.dim = 96;
        mc.heads = 4;
        mc.width = 16;
        mc.crossWidth = 16;
        mc.sparseWidth = 32;
        MaisModel m =
            MaisModel::create(SamMed3DConfig::fromJson(SafeTensorsFile(kParity).metadata().at("config")), mc);
        MaisModel ref = MaisModel::load(kParity);
        m.sam = ref.sam;
        torch::NoGradGuard g;
        for (auto& p : m.memory->parameters()) p.normal_(0, 0.05);
        const std::string p = std::string(ENGRAM_TEST_OUT) + "/engine-weights.safetensors";
        m.save(p);
        return p;
    }();
    return path;
}

// A 1 mm phantom: a bright ellipsoid in noise, 160 x 140 x 120 voxels, LPS.
struct Phantom {
    Grid grid;
    std::shared_ptr<std::vector<float>> voxels;
    Phantom() {
        grid.size = {160, 140, 120};
        grid.spacing = {1.0, 1.0, 1.2};
        grid.origin = {-80, -70, -60};
        voxels = std::make_shared<std::vector<float>>(160 * 140 * 120);
        torch::manual_seed(7);
        const auto noise = torch::randn({120 * 140 * 160}) * 20;
        const float* n = noise.data_ptr<float>();
        std::size_t v = 0;
        for (int k = 0; k < 120; ++k)
            for (int j = 0; j < 140; ++j)
                for (int i = 0; i < 160; ++i, ++v) {
                    const double x = (i - 80) / 30.0, y = (j - 70) / 20.0, z = (k - 60) / 25.0;
                    (*voxels)[v] = (x * x + y * y + z * z < 1 ? 300.0f : 20.0f) + n[v];
                }
    }
    void attach(SegmentationEngine& e) const { e.setVolume(grid, voxels->data(), voxels); }
    Point3 at(double i, double j, double k) const { return grid.indexToWorld({i, j, k}); }
};

EngineOptions options(int capacity = 60) {
    EngineOptions o;
    o.weights = weightsWithMemory();
    o.memoryCapacity = capacity;
    return o;
}

}  // namespace

TEST(SegmentationEngine, RejectsBadRequests) {
    SegmentationEngine engine(options());
    SegmentationSession s(engine);
    EXPECT_THROW(s.addClick({0, 0, 0}, true), std::invalid_argument);  // no volume
    const Phantom p;
    p.attach(engine);
    EXPECT_THROW(s.addClick(p.at(-5, 10, 10), true), std::invalid_argument);
    EXPECT_THROW(s.addClick(p.at(10, 10, 500), true), std::invalid_argument);
    EXPECT_EQ(s.step(), 0);
    EXPECT_THROW(s.goToStep(1), std::invalid_argument);
    EngineOptions missing = options();
    missing.weights = "/nonexistent/model.safetensors";
    EXPECT_THROW(SegmentationEngine bad(missing), WeightsError);
}

TEST(SegmentationEngine, EncodesOncePerCropAndRecentresForFarClicks) {
    SegmentationEngine engine(options());
    const Phantom p;
    p.attach(engine);
    SegmentationSession s(engine);
    const auto first = s.addClick(p.at(80, 70, 60), true);
    EXPECT_TRUE(first.encoded);
    EXPECT_GT(first.mask.mask.size(), 0u);
    EXPECT_EQ(s.memorySize(), 1);
    const auto second = s.addClick(p.at(90, 75, 62), false);
    EXPECT_FALSE(second.encoded);
    EXPECT_EQ(s.memorySize(), 2);
    EXPECT_EQ(s.clickCount(), 2);
    // Another object on the same crop reuses the cached embedding.
    SegmentationSession other(engine);
    EXPECT_FALSE(other.addClick(p.at(80, 70, 60), true).encoded);
    // Far beyond the crop's inner region: new crop, new embedding, memory starts afresh.
    const auto far = s.addClick(p.at(155, 135, 115), true);  // 75 mm to the left: past the inner 72 mm
    EXPECT_TRUE(far.encoded);
    EXPECT_EQ(s.memorySize(), 1);
    EXPECT_EQ(s.clickCount(), 1);
}

TEST(SegmentationEngine, MemoryIsBoundedByTheCapacity) {
    SegmentationEngine engine(options(3));
    const Phantom p;
    p.attach(engine);
    SegmentationSession s(engine);
    for (int i = 0; i < 5; ++i) s.addClick(p.at(75 + i, 70, 60), i % 2 == 0);
    EXPECT_EQ(s.memorySize(), 3);
}

TEST(SegmentationEngine, UndoRestoresTheMaskAndTheMemoryExactly) {
    SegmentationEngine engine(options());
    const Phantom p;
    p.attach(engine);
    SegmentationSession s(engine);
    const std::vector<std::pair<Point3, bool>> clicks = {{p.at(80, 70, 60), true},
                                                         {p.at(100, 70, 60), true},
                                                         {p.at(60, 80, 55), false},
                                                         {p.at(85, 60, 70), true}};
    std::vector<ClickOutcome> outcomes;
    for (const auto& [w, pos] : clicks) outcomes.push_back(s.addClick(w, pos));

    s.goToStep(2);
    EXPECT_EQ(s.mask().mask, outcomes[1].mask.mask);
    EXPECT_EQ(s.memorySize(), 2);
    EXPECT_EQ(s.maxStep(), 4);
    // Redo.
    s.goToStep(4);
    EXPECT_EQ(s.mask().mask, outcomes[3].mask.mask);
    // From step 2, the same third click gives the same result: clicks, logits and memory were restored.
    s.goToStep(2);
    const auto again = s.addClick(clicks[2].first, clicks[2].second);
    EXPECT_EQ(again.mask.mask, outcomes[2].mask.mask);
    EXPECT_FLOAT_EQ(again.confidence, outcomes[2].confidence);
    EXPECT_EQ(s.maxStep(), 3);  // the old future was dropped
    s.goToStep(0);
    EXPECT_TRUE(s.mask().mask.empty());
    EXPECT_EQ(s.memorySize(), 0);
}

TEST(SegmentationEngine, MemoryChangesLaterClicksButNotTheFirst) {
    const Phantom p;
    EngineOptions withMemory = options();
    EngineOptions without = options();
    without.memoryMode = MemoryMode::None;
    SegmentationEngine a(withMemory), b(without);
    p.attach(a);
    p.attach(b);
    SegmentationSession sa(a), sb(b);
    // First click: empty bank, so identical to plain SAM-Med3D.
    const auto a1 = sa.addClick(p.at(80, 70, 60), true);
    const auto b1 = sb.addClick(p.at(80, 70, 60), true);
    EXPECT_EQ(a1.mask.mask, b1.mask.mask);
    EXPECT_FLOAT_EQ(a1.confidence, b1.confidence);
    EXPECT_EQ(sb.memorySize(), 0);
    const auto a2 = sa.addClick(p.at(95, 72, 61), false);
    const auto b2 = sb.addClick(p.at(95, 72, 61), false);
    EXPECT_NE(a2.confidence, b2.confidence);
}

TEST(SegmentationEngine, CancelledEncodingLeavesTheSessionAsItWas) {
    SegmentationEngine engine(options());
    const Phantom p;
    p.attach(engine);
    SegmentationSession s(engine);
    engine.cancel();
    EXPECT_THROW(s.addClick(p.at(80, 70, 60), true), Cancelled);
    EXPECT_EQ(s.step(), 0);
    EXPECT_TRUE(s.addClick(p.at(80, 70, 60), true).encoded);
    EXPECT_EQ(s.step(), 1);
}

TEST(SegmentationEngine, FirstClickMatchesThePlainNetworkPipeline) {
    const Phantom p;
    EngineOptions o = options();
    SegmentationEngine engine(o);
    p.attach(engine);
    SegmentationSession s(engine);
    const Point3 click = p.at(80, 70, 60);
    const auto outcome = s.addClick(click, true);

    MaisModel m = MaisModel::load(o.weights);
    torch::NoGradGuard g;
    const ModelCrop crop(click, o.crop.value_or(CropOptions{}));
    const auto E = m.sam->image_encoder->forward(crop.networkInput(p.grid, p.voxels->data()));
    const auto prompts = m.sam->prompt_encoder->forward(torch::full({1, 1, 3}, 64.0f),
                                                        torch::ones({1, 1}, torch::kLong), torch::Tensor());
    const auto out = m.sam->mask_decoder->forward(E, m.sam->prompt_encoder->densePe(), prompts.sparse,
                                                  prompts.dense, false);
    EXPECT_EQ(crop.pasteBack(out.lowResLogits, p.grid).mask, outcome.mask.mask);
}
