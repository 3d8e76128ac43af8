// The clicknet family (ClickNet.h, ClickNetTraining.h): crop frames and sampling, input channels, the
// network's shapes and memory, model files, and a small training run that must lower its loss and resume
// exactly.
#include <engram/model/inference/SegmentationEngine.h>
#include <engram/model/networks/ClickNet.h>
#include <engram/model/training/ClickNetTraining.h>
#include <engram/model/weights/SafeTensors.h>

#include "../support/EllipsoidPhantom.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <filesystem>

using namespace engram::model;
namespace fs = std::filesystem;

namespace {

ClickNetConfig smallConfig() {
    ClickNetConfig c;
    c.widths = {4, 8, 16};
    c.heads = 2;
    c.memoryCells = 2;
    c.cropSize = 16;
    c.maxCropSize = 32;
    c.spacing = 4;
    return c;
}

}  // namespace

TEST(ClickNet, ForwardShapesAndUntrainedMemoryIsIdentity) {
    torch::manual_seed(3);
    ClickNet net(smallConfig());
    net->eval();
    torch::NoGradGuard noGrad;
    const auto input = torch::randn({2, kClickNetChannels, 16, 24, 32});
    const auto frame = CropFrame::aligned({0, 0, 0}, {32, 24, 16}, 4.0);
    const auto plain = net->forward(input, {{}, {}}, {frame, frame});
    EXPECT_EQ(plain.logits.sizes(), (std::vector<std::int64_t>{2, 1, 16, 24, 32}));
    EXPECT_EQ(plain.bottleneck.sizes(), (std::vector<std::int64_t>{2, 16, 4, 6, 8}));
    const auto memory =
        net->encodeMemory(plain.bottleneck[0], torch::sigmoid(plain.logits[0][0]), frame, {1, 2, 3}, true);
    EXPECT_EQ(memory.tokens.sizes(), (std::vector<std::int64_t>{9, 16}));
    EXPECT_EQ(memory.positions.sizes(), (std::vector<std::int64_t>{9, 3}));
    const auto withMemory = net->forward(input, {{memory, memory}, {}}, {frame, frame});
    EXPECT_TRUE(torch::allclose(withMemory.logits, plain.logits));  // zero-initialised read-out
}

namespace {

LabelledVolume phantom(unsigned seed) { return engram::test::ellipsoidPhantom(seed, true); }

}  // namespace

ClickNetTrainOptions smallRun(const std::string& name, long steps) {
    ClickNetTrainOptions o;
    o.config = smallConfig();
    o.output = std::string(ENGRAM_TEST_OUT) + "/clicknet-" + name + ".safetensors";
    fs::remove(o.output);
    fs::remove(o.output + ".ckpt");
    o.steps = steps;
    o.maxClicks = 4;
    o.longClicks = 6;
    o.warmupSteps = 5;
    o.lr = 3e-3;
    o.checkpointEvery = 5;
    o.reportEvery = 10;
    return o;
}

TEST(ClickNetTraining, LossFallsAndTheFileLoadsIntoTheEngine) {
    auto o = smallRun("loss", 60);
    std::vector<ClickNetReport> reports;
    trainClickNet({phantom(1), phantom(2)}, o, [&](const ClickNetReport& r) { reports.push_back(r); });
    ASSERT_EQ(reports.size(), 6u);
    EXPECT_LT(reports.back().loss, reports.front().loss);
    EXPECT_EQ(reports.back().step, 60);
    ASSERT_TRUE(isClickNetFile(o.output));

    // The engine runs the file: every click a step, undo restores mask and memory, a click far away keeps
    // the earlier clicks and memories (the crop grows or moves; nothing is dropped).
    const auto volume = phantom(3);
    EngineOptions eo;
    eo.weights = o.output;
    SegmentationEngine engine(eo);
    engine.setVolume(volume.grid, volume.image.data(), nullptr);
    SegmentationSession session(engine);
    const auto first = session.addClick(volume.grid.indexToWorld({14, 18, 15}), true);
    EXPECT_EQ(first.step, 1);
    EXPECT_EQ(session.memorySize(), 1);
    session.addClick(volume.grid.indexToWorld({16, 18, 15}), false);
    const auto far = session.addClick(volume.grid.indexToWorld({30, 14, 12}), true);
    EXPECT_EQ(session.clickCount(), 3);
    EXPECT_EQ(session.memorySize(), 3);
    EXPECT_EQ(far.mask.toVolume(volume.grid.size).size(), volume.labels.size());
    session.goToStep(1);
    EXPECT_EQ(session.memorySize(), 1);
    EXPECT_EQ(session.mask().toVolume(volume.grid.size), first.mask.toVolume(volume.grid.size));

    EngineOptions off = eo;
    off.memoryMode = MemoryMode::None;
    SegmentationEngine plain(off);
    plain.setVolume(volume.grid, volume.image.data(), nullptr);
    SegmentationSession noMemory(plain);
    noMemory.addClick(volume.grid.indexToWorld({14, 18, 15}), true);
    EXPECT_EQ(noMemory.memorySize(), 0);
}

TEST(ClickNetTraining, RefusesVolumesWithoutAnImage) {
    auto synthetic = phantom(1);
    synthetic.synthetic = true;  // a label map alone: only the slicenet trainer synthesises images
    try {
        trainClickNet({synthetic}, smallRun("synthetic", 2));
        FAIL() << "trained on a volume without an image";
    } catch (const std::invalid_argument& e) {
        EXPECT_NE(std::string(e.what()).find("train-slicenet"), std::string::npos) << e.what();
    }
}

TEST(ClickNetTraining, ResumingFromACheckpointContinuesExactly) {
    const auto data = std::vector<LabelledVolume>{phantom(1), phantom(2)};
    auto whole = smallRun("whole", 10);
    trainClickNet(data, whole);
    auto part = smallRun("part", 10);
    part.stop = [n = 0]() mutable { return ++n > 5; };  // stops before step 5, after its checkpoint
    EXPECT_THROW(trainClickNet(data, part), TrainingStopped);
    auto rest = smallRun("rest", 10);
    rest.resume = part.output + ".ckpt";
    trainClickNet(data, rest);
    const auto a = ClickNetModel::load(whole.output), b = ClickNetModel::load(rest.output);
    const auto pa = a.net->named_parameters(), pb = b.net->named_parameters();
    ASSERT_EQ(pa.size(), pb.size());
    for (const auto& p : pa) EXPECT_TRUE(torch::equal(p.value(), pb[p.key()])) << p.key();
}

TEST(ClickNet, CropFramesMapBothWaysAndSampleTheGrid) {
    const auto f = CropFrame::aligned({10, -20, 30}, {8, 8, 8}, 2.0);
    const auto c = f.toIndex({10, -20, 30});
    EXPECT_NEAR(c[0], 4, 1e-9);
    EXPECT_NEAR(c[1], 4, 1e-9);
    EXPECT_NEAR(c[2], 4, 1e-9);
    const auto w = f.toWorld({1, 0, 0});
    EXPECT_NEAR(w[0] - f.origin[0], -2, 1e-9);  // crop axis 0 points Right (-x in LPS)
    Grid g;
    g.size = {20, 20, 20};
    g.origin = {0, -40, 20};
    g.spacing = {1, 1, 1};
    std::vector<float> ramp(8000);
    for (std::size_t o = 0; o < ramp.size(); ++o) ramp[o] = float(o % 20);  // = i
    std::vector<std::uint8_t> valid;
    const auto s = sampleCrop(
        f, g, [&](std::int64_t o) { return ramp[std::size_t(o)]; }, -1.f, &valid);
    // crop voxel (4,4,4) is world (10,-20,30): grid index (10, 20, 10) lies beyond j = 19.5: outside.
    EXPECT_EQ(valid[4 + 8 * (4 + 8 * 4)], 0);
    // crop voxel (4,6,4): world (10,-24,30), grid (10,16,10): the ramp's value 10.
    EXPECT_EQ(valid[4 + 8 * (6 + 8 * 4)], 1);
    EXPECT_NEAR(s[4 + 8 * (6 + 8 * 4)], 10, 1e-4);
}

TEST(ClickNet, CtIsRecognisedByAirAndMrScaledByPercentiles) {
    std::vector<float> ct(1000, 40.f);
    for (int i = 0; i < 100; ++i) ct[std::size_t(i)] = -1000.f;
    const auto a = IntensityScale::of(ct.data(), 1000);
    EXPECT_TRUE(a.ct);
    EXPECT_FLOAT_EQ(a.channels(-1000)[1], -1.f);
    EXPECT_FLOAT_EQ(a.channels(50)[0], 0.f);
    std::vector<float> mr(1000);
    for (int i = 0; i < 1000; ++i) mr[std::size_t(i)] = float(i);
    const auto b = IntensityScale::of(mr.data(), 1000);
    EXPECT_FALSE(b.ct);
    EXPECT_NEAR(b.low, 5, 1);
    EXPECT_NEAR(b.high, 994, 1);
}
