// Slice propagation (issue 6): the memory rules, the stop where the object score says the target is absent,
// bounded memory on a long volume, both directions and several prompts, cancellation, and bad input. The
// network is the SAM 2 module parity case's (128 px, random weights) with its object-score head biased to
// say "absent" or "present" everywhere, so the propagation logic is tested through the real network.
#include "../support/Sam2TestModel.h"

#include <engram/model/inference/Propagation.h>
#include <engram/model/inference/SliceTracking.h>
#include <engram/model/networks/Sam2.h>
#include <engram/model/weights/SafeTensors.h>
#include <engram/model/weights/StateDict.h>

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <filesystem>

using namespace engram::model;

namespace {

std::string modelWithObjectScore(float scoreBias, bool slm = false) {
    return engram::test::writeSam2TestModel(scoreBias, slm,
                                            std::string(ENGRAM_TEST_OUT) + "/sam2-score" +
                                                std::to_string(int(scoreBias)) + (slm ? "-slm" : "") +
                                                ".safetensors");
}

struct Phantom {
    std::array<std::int64_t, 3> size{48, 40, 60};
    std::vector<float> voxels;
    Phantom() : voxels(std::size_t(size[0] * size[1] * size[2])) {
        // A bright ellipsoid over slices 20..40 (axial) on a darker background.
        for (std::int64_t k = 0; k < size[2]; ++k)
            for (std::int64_t j = 0; j < size[1]; ++j)
                for (std::int64_t i = 0; i < size[0]; ++i) {
                    const double x = (i - 24) / 12.0, y = (j - 20) / 10.0, z = (k - 30) / 10.0;
                    voxels[std::size_t(i + size[0] * (j + size[1] * k))] =
                        x * x + y * y + z * z <= 1 ? 200.f : float((i * 7 + j * 3 + k) % 20);
                }
    }
    VolumeView view() const { return {size, voxels.data()}; }
    SlicePrompt prompt(std::int64_t k) const {
        const auto plane = SlicePlane::of(size, 2);
        SlicePrompt p;
        p.slice = k;
        p.mask.resize(std::size_t(plane.rows * plane.columns));
        for (std::int64_t r = 0; r < plane.rows; ++r)
            for (std::int64_t c = 0; c < plane.columns; ++c)
                p.mask[std::size_t(r * plane.columns + c)] =
                    voxels[std::size_t(plane.voxelIndex(size, k, r, c))] > 100 ? 1 : 0;
        return p;
    }
};

SliceMemory memoryAt(std::int64_t slice, float iou = 0.9f, bool present = true, int seed = 0) {
    torch::manual_seed(uint64_t(seed));
    SliceMemory m;
    m.slice = slice;
    m.features = torch::randn({1, 4, 2, 2});
    m.posEnc = torch::zeros({1, 4, 2, 2});
    m.objPtr = torch::zeros({1, 8});
    m.descriptor = torch::randn({6});
    m.iou = iou;
    m.present = present;
    return m;
}

}  // namespace

TEST(SliceMemoryRules, PlainBankTakesTheSlicesJustBeforeInTheirTemporalSlots) {
    std::map<std::int64_t, SliceMemory> recent;
    for (std::int64_t s : {10, 11, 12, 14, 15}) recent[s] = memoryAt(s);
    // Going forward at slice 16 with 7 memories: slices 10..15, slot = 7 - distance; 13 is missing.
    const auto forward = chooseRecent(recent, 16, +1, 7);
    std::vector<std::pair<int, std::int64_t>> got;
    for (const auto& [slot, m] : forward) got.push_back({slot, m->slice});
    EXPECT_EQ(got, (std::vector<std::pair<int, std::int64_t>>{{1, 10}, {2, 11}, {3, 12}, {5, 14}, {6, 15}}));
    // Going backward at slice 9 the same memories lie ahead: only 10..15 within reach, in mirrored slots.
    got.clear();
    for (const auto& [slot, m] : chooseRecent(recent, 9, -1, 7)) got.push_back({slot, m->slice});
    EXPECT_EQ(got, (std::vector<std::pair<int, std::int64_t>>{{1, 15}, {2, 14}, {4, 12}, {5, 11}, {6, 10}}));
}

TEST(SliceMemoryRules, SelfSortingBankAdmitsConfidentSlicesAndReplacesTheMostRedundant) {
    SelfSortingBank bank(3, 0.8);
    EXPECT_FALSE(bank.offer(memoryAt(1, 0.5f)));          // not confident enough
    EXPECT_FALSE(bank.offer(memoryAt(2, 0.95f, false)));  // target absent
    EXPECT_TRUE(bank.offer(memoryAt(3, 0.9f, true, 3)));
    EXPECT_TRUE(bank.offer(memoryAt(4, 0.9f, true, 4)));
    EXPECT_TRUE(bank.offer(memoryAt(5, 0.9f, true, 5)));
    EXPECT_EQ(bank.entries().size(), 3u);
    // A copy of slice 4's memory features replaces slice 4 (its most similar entry), not the others.
    auto twin = memoryAt(9, 0.9f, true, 9);
    twin.features = bank.entries()[1].features.clone();
    EXPECT_TRUE(bank.offer(twin));
    ASSERT_EQ(bank.entries().size(), 3u);
    std::vector<std::int64_t> slices;
    for (const auto& m : bank.entries()) slices.push_back(m.slice);
    EXPECT_EQ(slices, (std::vector<std::int64_t>{3, 9, 5}));
    // Choosing: the entries most similar to the current slice's descriptor come first.
    const auto chosen = bank.choose(bank.entries()[2].descriptor, 7, 7);
    ASSERT_EQ(chosen.size(), 3u);
    EXPECT_EQ(chosen[0].second->slice, 5);
    EXPECT_EQ(chosen[0].first, 5);  // two slices away: slot 7 - 2
    const auto few = bank.choose(bank.entries()[0].descriptor, 7, 2);
    EXPECT_EQ(few.size(), 1u);  // numMaskmem - 1 entries at most
    EXPECT_EQ(few[0].second->slice, 3);
}

TEST(Propagation, StopsWhereTheObjectScoreSaysTheTargetIsAbsent) {
    SlicePropagator propagator(modelWithObjectScore(-50));
    Phantom phantom;
    PropagationOptions o;
    o.absentSlicesToStop = 2;
    const auto r = propagator.propagate(phantom.view(), {phantom.prompt(30)}, o);
    // Two absent slices each way, then stop: nothing beyond them is visited or labelled.
    EXPECT_EQ(r.slicesSegmented, 4);
    EXPECT_EQ(r.first, 30);
    EXPECT_EQ(r.last, 30);
    for (std::int64_t s : {28, 29, 31, 32}) EXPECT_GE(r.objectProbability[std::size_t(s)], 0) << s;
    for (std::int64_t s : {27, 33, 0, 59}) EXPECT_EQ(r.objectProbability[std::size_t(s)], -1) << s;
    // The prompt slice keeps the user's mask exactly.
    const auto prompt = phantom.prompt(30);
    const auto plane = SlicePlane::of(phantom.size, 2);
    std::int64_t differing = 0;
    for (std::int64_t rr = 0; rr < plane.rows; ++rr)
        for (std::int64_t c = 0; c < plane.columns; ++c)
            differing += (r.mask[std::size_t(plane.voxelIndex(phantom.size, 30, rr, c))] != 0) !=
                         (prompt.mask[std::size_t(rr * plane.columns + c)] != 0);
    EXPECT_EQ(differing, 0);
}

TEST(Propagation, RunsThroughALongVolumeWithBoundedMemoryBothWaysAndBetweenPrompts) {
    SlicePropagator propagator(modelWithObjectScore(50, true));
    ASSERT_TRUE(propagator.hasShortTermMemory());
    Phantom phantom;
    std::vector<std::pair<int, int>> progress;
    PropagationOptions o;
    o.progress = [&](int done, int total) { progress.push_back({done, total}); };
    const auto r = propagator.propagate(phantom.view(), {phantom.prompt(25), phantom.prompt(35)}, o);
    // Forward 25..59 and backward 35..0: slices 26..34 are segmented twice, the prompts never.
    EXPECT_EQ(r.slicesSegmented, (59 - 25 - 1) + (35 - 1));
    for (std::int64_t s = 0; s < 60; ++s) EXPECT_GE(r.objectProbability[std::size_t(s)], 0) << s;
    ASSERT_FALSE(progress.empty());
    EXPECT_EQ(progress.back().first, progress.back().second);
    // Memory: the prompts plus what the object pointers (16 slices) can reach, never the whole volume.
    EXPECT_LE(r.peakStoredMemories, 16 + 2);
    EXPECT_TRUE(r.notice.empty());
}

TEST(Propagation, PlainMemoryOnAModelWithoutShortTermSaysSoAndSelfSortingRuns) {
    SlicePropagator propagator(modelWithObjectScore(50));
    EXPECT_FALSE(propagator.hasShortTermMemory());
    Phantom phantom;
    PropagationOptions o;
    o.forward = true;
    o.backward = false;
    o.selfSorting = true;
    o.capacity = 4;
    o.admissionIou = 0;
    const auto r = propagator.propagate(phantom.view(), {phantom.prompt(38)}, o);
    EXPECT_EQ(r.slicesSegmented, 21);  // 39..59
    EXPECT_FALSE(r.notice.empty());
    EXPECT_LE(r.peakStoredMemories, 16 + 4 + 1);
    EXPECT_EQ(r.objectProbability[37], -1);  // backward was off
}

TEST(Propagation, CancelStopsAfterTheCurrentSlice) {
    SlicePropagator propagator(modelWithObjectScore(50));
    Phantom phantom;
    PropagationOptions o;
    o.cancelFlag = std::make_shared<std::atomic<bool>>(false);
    int seen = 0;
    o.progress = [&](int done, int) {
        seen = done;
        if (done == 3) *o.cancelFlag = true;
    };
    EXPECT_THROW(propagator.propagate(phantom.view(), {phantom.prompt(30)}, o), Cancelled);
    EXPECT_EQ(seen, 3);
}

TEST(Propagation, BadInputIsRejectedWithAReason) {
    SlicePropagator propagator(modelWithObjectScore(50));
    Phantom phantom;
    const PropagationOptions o;
    auto message = [&](const std::vector<SlicePrompt>& prompts, VolumeView v) {
        try {
            propagator.propagate(v, prompts, o);
        } catch (const std::invalid_argument& e) {
            return std::string(e.what());
        }
        return std::string("accepted");
    };
    auto empty = phantom.prompt(5);  // slice 5 lies outside the ellipsoid: an empty mask
    EXPECT_NE(message({empty}, phantom.view()).find("empty"), std::string::npos);
    EXPECT_NE(message({phantom.prompt(30)}, VolumeView{}).find("No volume"), std::string::npos);
    EXPECT_NE(message({}, phantom.view()).find("at least one slice"), std::string::npos);
    auto outside = phantom.prompt(30);
    outside.slice = 60;
    EXPECT_NE(message({outside}, phantom.view()).find("outside the volume"), std::string::npos);
    auto wrongSize = phantom.prompt(30);
    wrongSize.mask.pop_back();
    EXPECT_NE(message({wrongSize}, phantom.view()).find("does not match"), std::string::npos);
    PropagationOptions badAxis;
    badAxis.axis = 3;
    EXPECT_THROW(propagator.propagate(phantom.view(), {phantom.prompt(30)}, badAxis), std::invalid_argument);
    EXPECT_THROW(SlicePropagator(std::string(ENGRAM_TEST_OUT) + "/no-such-model.safetensors"), WeightsError);
}
