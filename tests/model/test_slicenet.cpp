// The slicenet family (SliceNet.h, SliceNetTraining.h): plane crops and sampling, the network's shapes and
// memory, model files, propagation through SlicePropagator (stopping, both directions, memory modes, the
// self-sorting bank, cancellation) with the object score forced either way, and a small training run that
// must lower its loss and resume exactly.
#include <engram/model/inference/Propagation.h>
#include <engram/model/networks/SliceNet.h>
#include <engram/model/training/SliceNetTraining.h>
#include <engram/model/weights/SafeTensors.h>

#include "../support/EllipsoidPhantom.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <filesystem>

using namespace engram::model;
namespace fs = std::filesystem;

namespace {

SliceNetConfig smallConfig() {
    SliceNetConfig c;
    c.widths = {4, 8, 16};
    c.heads = 2;
    c.cropSize = 16;
    c.recentSlices = 3;
    return c;
}

std::string out(const std::string& name) { return std::string(ENGRAM_TEST_OUT) + "/slicenet-" + name; }

// A small untrained slicenet whose object score (and mask and IoU heads) are forced by their biases.
std::string forcedModel(float objectBias, const std::string& name) {
    auto m = SliceNetModel::create(smallConfig());
    {
        torch::NoGradGuard noGrad;
        for (auto& p : m.net->named_parameters()) {
            if (p.key() == "object_out.bias") p.value().copy_(torch::tensor({objectBias, 20.f}));
            if (p.key() == "head.bias") p.value().fill_(20.f);  // every crop pixel inside
        }
    }
    const auto path = out(name + ".safetensors");
    m.save(path);
    return path;
}

struct Volume {
    LabelledVolume v = engram::test::ellipsoidPhantom(3);
    VolumeView view() const { return {v.grid.size, v.image.data(), v.grid.spacing}; }
    SlicePrompt prompt(std::int64_t k, int label = 1) const {
        return {k, SlicePlane::of(v.grid.size, 2).maskOf(v.labels.data(), v.grid.size, k, label)};
    }
};

SliceNetTrainOptions smallRun(const std::string& name, long steps) {
    SliceNetTrainOptions o;
    o.output = out(name + ".safetensors");
    o.config = smallConfig();
    o.steps = steps;
    o.batch = 2;
    o.sequence = 4;
    o.warmupSteps = 2;
    o.checkpointEvery = 5;
    o.reportEvery = 10;
    o.minTargetVoxels = 20;
    o.lr = 3e-3;
    return o;
}

}  // namespace

TEST(SliceNet, PlaneCropsMapBothWaysAndSampleThePlane) {
    PlaneCrop c;
    c.size = 16;
    c.row = 20;
    c.column = 30;
    c.pixelMm = 1.5;
    c.rowMm = 2;
    c.columnMm = 1.25;
    c.angle = 0.3;
    c.flip = true;
    const auto p = c.toPlane(3, 11);
    const auto back = c.toCrop(p[0], p[1]);
    EXPECT_NEAR(back[0], 3, 1e-9);
    EXPECT_NEAR(back[1], 11, 1e-9);
    const auto centre = c.toPlane(7.5, 7.5);  // the centre of a 16-pixel crop lies between pixels 7 and 8
    EXPECT_NEAR(centre[0], 20, 1e-9);
    EXPECT_NEAR(centre[1], 30, 1e-9);
    // One crop pixel step is pixelMm in the plane's millimetres, whatever the angle.
    const auto q = c.toPlane(4, 11);
    EXPECT_NEAR(std::hypot((q[0] - p[0]) * c.rowMm, (q[1] - p[1]) * c.columnMm), 1.5, 1e-9);

    // A linear plane function is reproduced exactly inside the plane; outside, the fill value and valid 0.
    std::vector<std::uint8_t> valid;
    const auto s = samplePlane(
        c, 40, 60, [](std::int64_t r, std::int64_t col) { return float(10 * r + col); }, -7.f, &valid);
    for (std::int64_t y = 0; y < 16; ++y)
        for (std::int64_t x = 0; x < 16; ++x) {
            const auto rc = c.toPlane(double(x), double(y));
            ASSERT_TRUE(valid[std::size_t(y * 16 + x)]);
            EXPECT_NEAR(s[std::size_t(y * 16 + x)], 10 * rc[0] + rc[1], 1e-3);
        }
    PlaneCrop edge = c;
    edge.row = 0;
    const auto e = samplePlane(
        edge, 40, 60, [](std::int64_t, std::int64_t) { return 1.f; }, -7.f, &valid);
    EXPECT_NE(std::count(valid.begin(), valid.end(), 0), 0);
    EXPECT_NE(std::find(e.begin(), e.end(), -7.f), e.end());

    // The same crop resampled onto itself is the identity; a map moves with its crop.
    std::vector<float> v(256);
    for (std::size_t i = 0; i < v.size(); ++i) v[i] = float(i % 16) + 0.5f * float(i / 16);
    const auto same = resampleCrop(c, v.data(), c);
    for (std::size_t i = 0; i < v.size(); ++i) EXPECT_NEAR(same[i], v[i], 1e-4);
    PlaneCrop moved = c;
    moved.angle = 0;
    moved.flip = false;
    moved.column += 3;
    const auto r = resampleCrop(c, v.data(), moved);
    const auto p0 = moved.toPlane(8, 8);
    const auto inC = c.toCrop(p0[0], p0[1]);
    EXPECT_NEAR(r[8 * 16 + 8], float(inC[0]) + 0.5f * float(inC[1]), 1e-3);
}

TEST(SliceNet, CropsFollowTheMaskBox) {
    SliceNetConfig cfg;  // 64 px, context 1.5, margin 8 mm, at least 40 mm
    std::vector<std::uint8_t> mask(50 * 80, 0);
    for (int r = 10; r < 20; ++r)
        for (int c = 30; c < 60; ++c) mask[std::size_t(r * 80 + c)] = 1;
    const auto box = boxOf(mask, 80);
    EXPECT_EQ(box.row0, 10);
    EXPECT_EQ(box.row1, 19);
    EXPECT_EQ(box.column0, 30);
    EXPECT_EQ(box.column1, 59);
    const auto crop = cropAround(box, cfg, 1.0, 2.0);
    EXPECT_NEAR(crop.row, 14.5, 1e-9);
    EXPECT_NEAR(crop.column, 44.5, 1e-9);
    EXPECT_NEAR(crop.pixelMm * 64, 1.5 * 60 + 16, 1e-9);  // 30 columns of 2 mm
    std::vector<std::uint8_t> dot(100, 0);
    dot[55] = 1;
    EXPECT_NEAR(cropAround(boxOf(dot, 10), cfg, 1, 1).pixelMm * 64, 40, 1e-9);  // the smallest crop
    EXPECT_TRUE(boxOf(std::vector<std::uint8_t>(100, 0), 10).empty());
}

TEST(SliceNet, ConfigurationRoundTripsAndIsChecked) {
    auto c = smallConfig();
    c.context = 2;
    const auto back = SliceNetConfig::fromJson(c.toJson());
    EXPECT_EQ(back.widths, c.widths);
    EXPECT_EQ(back.cropSize, 16);
    EXPECT_EQ(back.context, 2);
    EXPECT_THROW(SliceNetConfig::fromJson(R"({"crop_size": 18, "widths": [4, 8, 16]})"),
                 std::invalid_argument);
    EXPECT_THROW(SliceNetConfig::fromJson("{not json"), std::invalid_argument);
}

TEST(SliceNet, ForwardShapesAndUntrainedMemoryIsIdentity) {
    torch::manual_seed(1);
    SliceNet net(smallConfig());
    net->eval();
    torch::NoGradGuard noGrad;
    const auto input = torch::randn({2, kSliceNetChannels, 16, 16});
    PlaneCrop crop;
    crop.size = 16;
    const std::vector<SliceNetReads> none(2, SliceNetReads{{}, {}, crop, 5});
    const auto plain = net->forward(input, none);
    EXPECT_EQ(plain.logits.sizes(), (std::vector<std::int64_t>{2, 1, 16, 16}));
    EXPECT_EQ(plain.bottleneck.sizes(), (std::vector<std::int64_t>{2, 16, 4, 4}));
    EXPECT_EQ(plain.object.sizes(), (std::vector<std::int64_t>{2}));
    EXPECT_EQ(plain.iou.sizes(), (std::vector<std::int64_t>{2}));
    const auto memory = net->encodeMemory(plain.bottleneck[0], torch::rand({16, 16}), crop, 4);
    EXPECT_EQ(memory.tokens.sizes(), (std::vector<std::int64_t>{16, 16}));
    EXPECT_EQ(memory.positions.sizes(), (std::vector<std::int64_t>{16, 2}));
    std::vector<SliceNetReads> reads(2, SliceNetReads{{&memory}, {&memory}, crop, 5});
    EXPECT_TRUE(torch::allclose(net->forward(input, reads).logits, plain.logits));  // zero read-outs

    // Once the read-outs are not zero, the memory changes the answer.
    for (auto& p : net->named_parameters())
        if (p.key().find(".out.weight") != std::string::npos) p.value().normal_();
    EXPECT_FALSE(torch::allclose(net->forward(input, reads).logits, plain.logits));

    // A slice's memory is read with its distance; a prompt's is not (SAM 2's conditioning frames), so the
    // distance from the prompt cannot stand in for the end of the structure.
    auto near = memory, far = memory;
    far.slice = 40;
    const auto readNear =
        net->forward(input, std::vector<SliceNetReads>(2, SliceNetReads{{&near}, {}, crop, 5})).logits;
    const auto readFar =
        net->forward(input, std::vector<SliceNetReads>(2, SliceNetReads{{&far}, {}, crop, 5})).logits;
    EXPECT_FALSE(torch::allclose(readNear, readFar));
    near.prompt = far.prompt = true;
    EXPECT_TRUE(torch::equal(
        net->forward(input, std::vector<SliceNetReads>(2, SliceNetReads{{&near}, {}, crop, 5})).logits,
        net->forward(input, std::vector<SliceNetReads>(2, SliceNetReads{{&far}, {}, crop, 5})).logits));
}

TEST(SliceNet, ModelFilesRoundTripAndNameTheirFamily) {
    const auto path = forcedModel(20, "file");
    EXPECT_TRUE(isSliceNetFile(path));
    const auto m = SliceNetModel::load(path);
    EXPECT_EQ(m.config.cropSize, 16);
    EXPECT_EQ(m.config.recentSlices, 3);
    EXPECT_THROW(SliceNetModel::load(std::string(ENGRAM_TEST_OUT) + "/missing.safetensors"), WeightsError);
    // A file of another family is refused by name.
    writeSafeTensors(out("other.safetensors"), {{"x", torch::zeros({1})}}, {{"family", "clicknet"}});
    EXPECT_FALSE(isSliceNetFile(out("other.safetensors")));
    EXPECT_THROW(SliceNetModel::load(out("other.safetensors")), WeightsError);
}

TEST(SliceNetPropagation, StopsWhereTheObjectScoreSaysAbsent) {
    const Volume vol;
    SlicePropagator propagator(forcedModel(-20, "absent"));
    EXPECT_TRUE(propagator.hasShortTermMemory());
    EXPECT_EQ(propagator.imageSize(), 16);
    PropagationOptions o;
    const auto r = propagator.propagate(vol.view(), {vol.prompt(15)}, o);
    EXPECT_EQ(r.slicesSegmented, 2 * o.absentSlicesToStop);
    EXPECT_EQ(r.first, 15);
    EXPECT_EQ(r.last, 15);  // only the prompt
    EXPECT_EQ(r.objectProbability[15], 1.f);
    EXPECT_LT(r.objectProbability[16], 0.5f);
    EXPECT_EQ(r.objectProbability[20], -1.f);  // never visited
}

TEST(SliceNetPropagation, RunsToTheEndsInEveryMemoryModeWithBoundedMemory) {
    const Volume vol;
    SlicePropagator propagator(forcedModel(20, "present"));
    const auto slices = vol.v.grid.size[2];
    for (const auto memory : {PropagationMemory::Plain, PropagationMemory::ShortLong})
        for (const bool sorting : {false, true}) {
            PropagationOptions o;
            o.memory = memory;
            o.selfSorting = sorting;
            o.capacity = 4;
            int calls = 0;
            o.progress = [&](int, int) { ++calls; };
            const auto r = propagator.propagate(vol.view(), {vol.prompt(15)}, o);
            EXPECT_EQ(r.slicesSegmented, slices - 1);
            EXPECT_EQ(r.first, 0);
            EXPECT_EQ(r.last, slices - 1);
            EXPECT_EQ(calls, int(slices) + 1);  // the prompt slice is passed by both directions
            EXPECT_LE(r.peakStoredMemories, 3 + 1 + (sorting ? 4 : 0));
            EXPECT_EQ(r.mask.size(), vol.v.labels.size());
        }
    // Two prompts: every slice is visited once per direction that reaches it, the prompts are kept as drawn.
    PropagationOptions o;
    const auto r = propagator.propagate(vol.view(), {vol.prompt(10), vol.prompt(20)}, o);
    EXPECT_EQ(r.slicesSegmented, int(slices - 10 - 2) + int(20 + 1 - 2));
    const auto plane = SlicePlane::of(vol.v.grid.size, 2);
    const auto p10 = vol.prompt(10);
    for (std::int64_t row = 0; row < plane.rows; ++row)
        for (std::int64_t c = 0; c < plane.columns; ++c)
            ASSERT_EQ(r.mask[std::size_t(plane.voxelIndex(vol.v.grid.size, 10, row, c))],
                      p10.mask[std::size_t(row * plane.columns + c)]);

    PropagationOptions cancelled;
    cancelled.cancelFlag = std::make_shared<std::atomic<bool>>(true);
    EXPECT_THROW(propagator.propagate(vol.view(), {vol.prompt(15)}, cancelled), Cancelled);
}

TEST(SliceNetTraining, LossFallsAndThePropagatorRunsTheFile) {
    auto o = smallRun("loss", 40);
    std::vector<SliceNetReport> reports;
    auto synthetic = engram::test::ellipsoidPhantom(2);  // its labels only: images drawn from them
    std::fill(synthetic.image.begin(), synthetic.image.end(), 0.f);
    synthetic.synthetic = true;
    trainSliceNet({engram::test::ellipsoidPhantom(1), synthetic}, o,
                  [&](const SliceNetReport& r) { reports.push_back(r); });
    ASSERT_EQ(reports.size(), 4u);
    EXPECT_LT(reports.back().loss, reports.front().loss);
    EXPECT_EQ(reports.back().step, 40);
    ASSERT_TRUE(isSliceNetFile(o.output));
    const Volume vol;
    SlicePropagator propagator(o.output);
    const auto r = propagator.propagate(vol.view(), {vol.prompt(15)}, {});
    EXPECT_GT(r.slicesSegmented, 0);
    EXPECT_LE(r.first, 15);
    EXPECT_GE(r.last, 15);
}

TEST(SliceNetTraining, ResumingFromACheckpointContinuesExactly) {
    const auto data = std::vector<LabelledVolume>{engram::test::ellipsoidPhantom(1)};
    auto whole = smallRun("whole", 10);
    trainSliceNet(data, whole);
    auto part = smallRun("part", 10);
    part.stop = [n = 0]() mutable { return ++n > 5; };  // stops before step 5, after its checkpoint
    EXPECT_THROW(trainSliceNet(data, part), TrainingStopped);
    auto rest = smallRun("rest", 10);
    rest.resume = part.output + ".ckpt";
    trainSliceNet(data, rest);
    const auto a = SliceNetModel::load(whole.output), b = SliceNetModel::load(rest.output);
    const auto pa = a.net->named_parameters(), pb = b.net->named_parameters();
    ASSERT_EQ(pa.size(), pb.size());
    for (const auto& p : pa) EXPECT_TRUE(torch::equal(p.value(), pb[p.key()])) << p.key();
}
