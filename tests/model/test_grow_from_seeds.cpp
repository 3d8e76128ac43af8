// Grow from seeds (the classical click tool): what a click grows into on phantoms with known answers, that
// negative clicks, other segments and the region's faces are background, that the warm start gives exactly
// the answer of a fresh solve, the session's undo/redo steps, bad input, and the evaluation method.
#include <engram/model/classical/ClassicalPropagation.h>
#include <engram/model/classical/GrowFromSeeds.h>
#include <engram/model/evaluation/Evaluation.h>
#include <engram/model/training/PropagationTraining.h>

#include <gtest/gtest.h>

#include <random>

using namespace engram::model;

namespace {

struct Phantom {
    Dims3 dims;
    Spacing3 spacing;
    std::vector<float> image;
    std::vector<std::uint8_t> a, b;  // the two objects
    std::size_t offset(std::int64_t i, std::int64_t j, std::int64_t k) const {
        return static_cast<std::size_t>(i + dims[0] * (j + dims[1] * k));
    }
};

// Two balls of radius `r` mm in noisy tissue (value 0, noise SD 8): `a` at value 100, `b` at `bValue`,
// centres `gap` mm apart along i; `bridge` joins them with a rod of a's value.
Phantom twoBalls(double bValue, double gap, bool bridge, Dims3 dims = {64, 48, 40},
                 Spacing3 sp = {1, 1, 1.5}) {
    Phantom p{dims, sp, {}, {}, {}};
    const auto count = static_cast<std::size_t>(dims[0] * dims[1] * dims[2]);
    p.image.assign(count, 0.f);
    p.a.assign(count, 0);
    p.b.assign(count, 0);
    std::mt19937 rng(3);
    std::normal_distribution<float> noise(0, 8);
    const double r = 9, cy = dims[1] * sp[1] / 2, cz = dims[2] * sp[2] / 2;
    const double ca = dims[0] * sp[0] / 2 - gap / 2, cb = ca + gap;
    for (std::int64_t k = 0; k < dims[2]; ++k)
        for (std::int64_t j = 0; j < dims[1]; ++j)
            for (std::int64_t i = 0; i < dims[0]; ++i) {
                const double x = i * sp[0], y = j * sp[1] - cy, z = k * sp[2] - cz;
                const auto o = p.offset(i, j, k);
                const bool inA = (x - ca) * (x - ca) + y * y + z * z <= r * r;
                const bool inB = (x - cb) * (x - cb) + y * y + z * z <= r * r;
                const bool rod = bridge && x > ca && x < cb && y * y + z * z <= 9;
                p.a[o] = inA;
                p.b[o] = inB;
                p.image[o] = (inA || rod ? 100.f : inB ? static_cast<float>(bValue) : 0.f) + noise(rng);
            }
    return p;
}

double diceOf(const std::vector<std::uint8_t>& p, const std::vector<std::uint8_t>& t) {
    return dice(p.data(), t.data(), static_cast<std::int64_t>(p.size()));
}

std::int64_t overlap(const std::vector<std::uint8_t>& p, const std::vector<std::uint8_t>& t) {
    std::int64_t n = 0;
    for (std::size_t o = 0; o < p.size(); ++o) n += p[o] && t[o];
    return n;
}

SimulatedClick centreOf(const Phantom& p, bool ofA, bool positive = true) {
    const auto& m = ofA ? p.a : p.b;
    double s[3] = {0, 0, 0};
    double n = 0;
    for (std::int64_t k = 0; k < p.dims[2]; ++k)
        for (std::int64_t j = 0; j < p.dims[1]; ++j)
            for (std::int64_t i = 0; i < p.dims[0]; ++i)
                if (m[p.offset(i, j, k)]) {
                    s[0] += double(i);
                    s[1] += double(j);
                    s[2] += double(k);
                    n += 1;
                }
    return SimulatedClick{{std::llround(s[0] / n), std::llround(s[1] / n), std::llround(s[2] / n)}, positive};
}

}  // namespace

TEST(GrowFromSeeds, OneClickGrowsTheObjectAndStopsAtItsEdge) {
    const auto p = twoBalls(200, 24, false);
    SeedGrower g(p.image.data(), p.dims, p.spacing);
    const auto r = g.grow({centreOf(p, true)});
    const auto mask = r.mask.toVolume(p.dims);
    EXPECT_GT(diceOf(mask, p.a), 0.9);
    EXPECT_EQ(overlap(mask, p.b), 0);
    EXPECT_FALSE(r.warmStart);
}

TEST(GrowFromSeeds, ANegativeClickCutsALeakIntoTissueOfTheSameIntensity) {
    const auto p = twoBalls(100, 24, true);  // b looks like a, and a rod joins them
    SeedGrower g(p.image.data(), p.dims, p.spacing);
    std::vector<SimulatedClick> clicks{centreOf(p, true)};
    const auto leaked = g.grow(clicks).mask.toVolume(p.dims);
    ASSERT_GT(overlap(leaked, p.b), 0) << "the phantom should leak without a negative click";
    clicks.push_back(centreOf(p, false, false));
    const auto cut = g.grow(clicks).mask.toVolume(p.dims);
    EXPECT_LT(overlap(cut, p.b), overlap(leaked, p.b) / 10);
    EXPECT_GT(diceOf(cut, p.a), 0.85);
}

TEST(GrowFromSeeds, ANegativeClickBeyondTheRegionChangesNothing) {
    // The region reaches 40 mm beyond the positive clicks; a negative click 150 mm away lies outside it (it
    // used to be written outside the working grid, corrupting memory).
    const auto p = twoBalls(200, 24, false, {200, 48, 40});
    const auto positive = centreOf(p, true);
    const SimulatedClick far{{195, 10, 5}, false};
    SeedGrower warm(p.image.data(), p.dims, p.spacing);
    const auto alone = warm.grow({positive}).mask.toVolume(p.dims);
    const auto warmWithFar = warm.grow({positive, far}).mask.toVolume(p.dims);
    SeedGrower fresh(p.image.data(), p.dims, p.spacing);
    const auto freshWithFar = fresh.grow({far, positive}).mask.toVolume(p.dims);
    EXPECT_EQ(warmWithFar, alone);
    EXPECT_EQ(freshWithFar, alone);
}

TEST(GrowFromSeeds, OtherSegmentsAreBackgroundSeeds) {
    const auto p = twoBalls(100, 24, true);
    SeedGrower g(p.image.data(), p.dims, p.spacing);
    RegionMask other;
    other.size = p.dims;
    other.mask = p.b;  // b already belongs to another segment
    const auto mask = g.grow({centreOf(p, true)}, &other).mask.toVolume(p.dims);
    EXPECT_EQ(overlap(mask, p.b), 0);
    EXPECT_GT(diceOf(mask, p.a), 0.85);
}

TEST(GrowFromSeeds, WarmStartGivesExactlyTheFreshAnswer) {
    const auto p = twoBalls(100, 24, true);
    SeedGrower warm(p.image.data(), p.dims, p.spacing);
    const std::vector<SimulatedClick> sequence{centreOf(p, true), centreOf(p, false, false),
                                               SimulatedClick{{20, 24, 14}, true},
                                               SimulatedClick{{30, 20, 10}, false}};
    std::vector<SimulatedClick> clicks;
    int warmSteps = 0;
    for (const auto& c : sequence) {
        clicks.push_back(c);
        const auto incremental = warm.grow(clicks);
        warmSteps += incremental.warmStart;
        SeedGrower fresh(p.image.data(), p.dims, p.spacing);
        const auto reference = fresh.grow(clicks);
        EXPECT_EQ(incremental.mask.begin, reference.mask.begin);
        EXPECT_EQ(incremental.mask.size, reference.mask.size);
        EXPECT_EQ(incremental.mask.mask, reference.mask.mask) << "after " << clicks.size() << " clicks";
    }
    EXPECT_GE(warmSteps, 2);  // clicks inside the region propagate only their own seed
    // Going back (undo) is not a warm start, and still exact.
    clicks.pop_back();
    const auto back = warm.grow(clicks);
    EXPECT_FALSE(back.warmStart);
    SeedGrower fresh(p.image.data(), p.dims, p.spacing);
    EXPECT_EQ(back.mask.mask, fresh.grow(clicks).mask.mask);
}

TEST(GrowFromSeeds, LargeRegionsAreSolvedOnACoarserWorkingGrid) {
    const auto p = twoBalls(200, 24, false, {128, 96, 80}, {0.5, 0.5, 0.75});
    GrowFromSeedsOptions o;
    o.maxWorkingVoxels = 50'000;
    SeedGrower g(p.image.data(), p.dims, p.spacing, o);
    const auto r = g.grow({centreOf(p, true)});
    EXPECT_GT(r.factor[0], 1);
    EXPECT_LE(r.workingSize[0] * r.workingSize[1] * r.workingSize[2], o.maxWorkingVoxels);
    const auto mask = r.mask.toVolume(p.dims);
    EXPECT_GT(diceOf(mask, p.a), 0.85);
    EXPECT_EQ(overlap(mask, p.b), 0);
}

TEST(GrowFromSeeds, AnObjectCutByTheScanEdgeGrowsToTheEdge) {
    // A slab in the first 6 slices of a volume wider than the region: the region's face on the scan's
    // border is not background, so the grown object reaches slice 0.
    Phantom p{{120, 120, 30}, {1, 1, 1}, {}, {}, {}};
    p.image.assign(120 * 120 * 30, 0.f);
    p.a.assign(p.image.size(), 0);
    for (std::int64_t k = 0; k < 6; ++k)
        for (std::int64_t j = 50; j < 70; ++j)
            for (std::int64_t i = 50; i < 70; ++i) {
                p.image[p.offset(i, j, k)] = 100;
                p.a[p.offset(i, j, k)] = 1;
            }
    SeedGrower g(p.image.data(), p.dims, p.spacing);
    const auto mask = g.grow({SimulatedClick{{60, 60, 3}, true}}).mask.toVolume(p.dims);
    EXPECT_TRUE(mask[p.offset(60, 60, 0)]);
    EXPECT_GT(diceOf(mask, p.a), 0.9);
}

TEST(GrowFromSeeds, BadInputIsRefusedAndNoPositiveClickGrowsNothing) {
    const auto p = twoBalls(200, 24, false);
    EXPECT_THROW(SeedGrower(p.image.data(), {0, 4, 4}, p.spacing), std::invalid_argument);
    EXPECT_THROW(SeedGrower(p.image.data(), p.dims, {1, 0, 1}), std::invalid_argument);
    SeedGrower g(p.image.data(), p.dims, p.spacing);
    EXPECT_THROW(g.grow({SimulatedClick{{64, 0, 0}, true}}), std::invalid_argument);
    EXPECT_THROW(g.grow({SimulatedClick{{0, -1, 0}, true}}), std::invalid_argument);
    const auto none = g.grow({centreOf(p, true, false)});
    EXPECT_EQ(none.mask.count(), 0);
}

TEST(GrowFromSeeds, SessionStepsUndoAndRedoClicks) {
    const auto p = twoBalls(100, 24, true);
    Grid grid;
    grid.size = p.dims;
    grid.spacing = {p.spacing[0], p.spacing[1], p.spacing[2]};
    grid.origin = {-10, 5, 2};
    SeedGrowingSession s(p.image.data(), grid);
    auto world = [&](const SimulatedClick& c) {
        return grid.indexToWorld({double(c.index[0]), double(c.index[1]), double(c.index[2])});
    };
    const auto a = centreOf(p, true), b = centreOf(p, false, false);
    const auto first = s.addClick(world(a), true);
    const auto second = s.addClick(world(b), false);
    EXPECT_EQ(first.step, 1);
    EXPECT_EQ(second.step, 2);
    EXPECT_LT(overlap(second.mask.toVolume(p.dims), p.b), overlap(first.mask.toVolume(p.dims), p.b));
    EXPECT_THROW(s.addClick({-1000, 0, 0}, true), std::invalid_argument);
    EXPECT_EQ(s.step(), 2);
    s.goToStep(1);  // undo the negative click
    EXPECT_EQ(s.maxStep(), 2);
    const auto again = s.addClick(world(a), true);  // a new click drops the redo step
    EXPECT_EQ(again.step, 2);
    EXPECT_EQ(s.maxStep(), 2);
    EXPECT_EQ(again.mask.mask, first.mask.mask);  // the same seed twice is the first answer
    EXPECT_THROW(s.goToStep(3), std::invalid_argument);
    s.reset();
    EXPECT_EQ(s.step(), 0);
    EXPECT_EQ(s.maxStep(), 0);
}

TEST(GrowFromSeeds, IsAnEvaluationMethodThatNeedsNoModel) {
    const auto m = parseEvalMethod("grow-from-seeds");
    EXPECT_EQ(m.kind, EvalKind::GrowFromSeeds);
    EXPECT_FALSE(m.needsModel());
    EXPECT_TRUE(parseEvalMethod("mais").needsModel());
    EXPECT_FALSE(parseEvalMethod("region-growing").needsModel());

    const auto p = twoBalls(200, 24, false);
    LabelledVolume v;
    v.name = "balls";
    v.grid.size = p.dims;
    v.grid.spacing = {p.spacing[0], p.spacing[1], p.spacing[2]};
    v.image = p.image;
    v.labels.resize(p.a.size());
    for (std::size_t o = 0; o < p.a.size(); ++o) v.labels[o] = p.a[o] ? 1 : p.b[o] ? 2 : 0;
    EvalOptions o;  // no weights
    o.methods = {m, parseEvalMethod("region-growing")};
    o.clicks = 3;
    o.rule = ClickRule::LargestErrorCentre;
    const auto curves = meanDiceCurves(evaluateInteractive({v}, o));
    ASSERT_EQ(curves.at("grow-from-seeds").size(), 3u);
    EXPECT_GT(curves.at("grow-from-seeds").back(), 0.85);
}

TEST(ClassicalPropagation, GrowFromSeedsTracksATiltedTubeAndStopsAtItsEnds) {
    // A tube of value 100 in noisy 0, slices 5..34, drifting 0.3 voxel per slice along i.
    const Dims3 d{60, 50, 40};
    std::vector<float> image(60 * 50 * 40);
    std::vector<std::uint8_t> truth(image.size());
    std::mt19937 rng(1);
    std::normal_distribution<float> noise(0, 5);
    for (std::int64_t k = 0; k < 40; ++k)
        for (std::int64_t j = 0; j < 50; ++j)
            for (std::int64_t i = 0; i < 60; ++i) {
                const double cx = 25 + 0.3 * double(k);
                const bool in = (i - cx) * (i - cx) + (j - 25.0) * (j - 25.0) < 64 && k >= 5 && k < 35;
                const auto o = static_cast<std::size_t>(i + 60 * (j + 50 * k));
                truth[o] = in;
                image[o] = (in ? 100.f : 0.f) + noise(rng);
            }
    const auto plane = SlicePlane::of(d, 2);
    const SlicePrompt prompt{20, plane.maskOf(truth.data(), d, 20, 1)};
    const auto grown =
        propagateClassically(image.data(), d, {1, 1, 1}, prompt, ClassicalPropagation::GrowFromSeeds);
    EXPECT_GT(dice(grown.mask.data(), truth.data(), std::int64_t(truth.size())), 0.95);
    EXPECT_EQ(grown.slicesSegmented, 29);  // slices 5..34 but the prompt's: nothing past the ends
    const auto copied = propagateClassically(image.data(), d, {1, 1, 1}, prompt, ClassicalPropagation::Copy);
    EXPECT_EQ(copied.slicesSegmented, 39);  // every slice
    EXPECT_LT(dice(copied.mask.data(), truth.data(), std::int64_t(truth.size())), 0.8);
    EXPECT_THROW(propagateClassically(image.data(), d, {1, 1, 1}, SlicePrompt{40, prompt.mask},
                                      ClassicalPropagation::Copy),
                 std::invalid_argument);
    EXPECT_THROW(
        propagateClassically(image.data(), d, {1, 1, 1}, SlicePrompt{3, {1, 0}}, ClassicalPropagation::Copy),
        std::invalid_argument);

    // The same baselines through evaluate-propagation, with no model file.
    LabelledVolume v;
    v.name = "tube";
    v.grid.size = d;
    v.image = image;
    v.labels = truth;
    PropagationEvalOptions o;
    o.methods = {"copy", "grow-from-seeds"};
    const auto rows = evaluatePropagation({v}, o);
    ASSERT_EQ(rows.size(), 2u);
    EXPECT_GT(rows[1].dice, rows[0].dice);
    EXPECT_GT(rows[1].absentSliceClean, 0.99);
    EXPECT_LT(rows[0].absentSliceClean, 0.01);
}
