// Fill between slices on synthetic shapes whose interpolation is known exactly: cylinders, cones, moving
// discs, a split, a shape that ends, the label policy, the three axes and the errors.
#include <engram/annotation/SliceInterpolation.h>

#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <functional>
#include <stdexcept>
#include <string>

using namespace engram;

namespace {

LabelMap grid(Index3 size, Vec3 spacing = {1, 1, 1}) {
    ImageGeometry g;
    g.size = size;
    g.spacing = spacing;
    return LabelMap(g);
}

// Voxels of slice k (axis 2) within r mm of the in-plane point (ci, cj), given in voxels.
void disc(LabelMap& m, std::int64_t k, double ci, double cj, double r, std::uint8_t label = 1) {
    const auto& g = m.geometry();
    for (std::int64_t j = 0; j < g.size[1]; ++j)
        for (std::int64_t i = 0; i < g.size[0]; ++i) {
            const double x = (double(i) - ci) * g.spacing[0], y = (double(j) - cj) * g.spacing[1];
            if (x * x + y * y <= r * r) m.set(i, j, k, label);
        }
}

LabelMap filled(const LabelMap& m, std::uint8_t segment, int axis = 2) {
    LabelMap out = m;
    applyEdit(out, fillBetweenSlices(m, segment, axis).edit);
    return out;
}

struct SliceStats {
    std::int64_t count = 0;
    double ci = 0, cj = 0;
};

SliceStats stats(const LabelMap& m, std::int64_t k, std::uint8_t label,
                 const std::function<bool(std::int64_t, std::int64_t)>& where = {}) {
    SliceStats s;
    const auto& g = m.geometry();
    for (std::int64_t j = 0; j < g.size[1]; ++j)
        for (std::int64_t i = 0; i < g.size[0]; ++i)
            if (m.at(i, j, k) == label && (!where || where(i, j))) {
                ++s.count;
                s.ci += double(i);
                s.cj += double(j);
            }
    if (s.count) {
        s.ci /= double(s.count);
        s.cj /= double(s.count);
    }
    return s;
}

// 4-connected components of `label` on slice k.
int componentCount(const LabelMap& m, std::int64_t k, std::uint8_t label) {
    const auto& g = m.geometry();
    std::vector<std::uint8_t> seen(static_cast<std::size_t>(g.size[0] * g.size[1]), 0);
    int n = 0;
    for (std::int64_t j0 = 0; j0 < g.size[1]; ++j0)
        for (std::int64_t i0 = 0; i0 < g.size[0]; ++i0) {
            if (m.at(i0, j0, k) != label || seen[std::size_t(j0 * g.size[0] + i0)]) continue;
            ++n;
            std::vector<std::pair<std::int64_t, std::int64_t>> stack{{i0, j0}};
            seen[std::size_t(j0 * g.size[0] + i0)] = 1;
            while (!stack.empty()) {
                const auto [i, j] = stack.back();
                stack.pop_back();
                const std::int64_t ni[4] = {i - 1, i + 1, i, i}, nj[4] = {j, j, j - 1, j + 1};
                for (int d = 0; d < 4; ++d) {
                    if (ni[d] < 0 || nj[d] < 0 || ni[d] >= g.size[0] || nj[d] >= g.size[1]) continue;
                    auto& s = seen[std::size_t(nj[d] * g.size[0] + ni[d])];
                    if (s || m.at(ni[d], nj[d], k) != label) continue;
                    s = 1;
                    stack.emplace_back(ni[d], nj[d]);
                }
            }
        }
    return n;
}

void expectInvalid(const std::function<void()>& f, const std::string& part) {
    try {
        f();
        ADD_FAILURE() << "no exception thrown";
    } catch (const std::invalid_argument& e) {
        EXPECT_NE(std::string(e.what()).find(part), std::string::npos) << e.what();
    }
}

}  // namespace

TEST(SliceInterpolation, TwoIdenticalDiscsGiveTheCylinder) {
    auto m = grid({48, 40, 12});
    disc(m, 3, 20, 18, 9.5);
    disc(m, 8, 20, 18, 9.5);
    const SliceFill fill = fillBetweenSlices(m, 1, 2);
    EXPECT_EQ(fill.drawnSlices, (std::vector<std::int64_t>{3, 8}));
    EXPECT_EQ(fill.filledSlices, (std::vector<std::int64_t>{4, 5, 6, 7}));
    const std::int64_t discVoxels = stats(m, 3, 1).count;
    EXPECT_EQ(fill.edit.added, 4 * discVoxels);
    EXPECT_EQ(fill.edit.begin, (Index3{11, 9, 4}));
    EXPECT_EQ(fill.edit.size, (Index3{19, 19, 4}));

    LabelMap out = m;
    applyEdit(out, fill.edit);
    for (std::int64_t k = 0; k < 12; ++k)
        for (std::int64_t j = 0; j < 40; ++j)
            for (std::int64_t i = 0; i < 48; ++i) {
                const std::uint8_t want = k >= 3 && k <= 8 ? m.at(i, j, 3) : 0;
                ASSERT_EQ(out.at(i, j, k), want) << i << "," << j << "," << k;
            }
    applyEdit(out, fill.edit, false);
    EXPECT_EQ(out.labels(), m.labels()) << "backward puts the labels before back";
}

TEST(SliceInterpolation, RadiusGrowsLinearlyWithAnisotropicPixels) {
    // 0.5 x 1 mm pixels: the discs are round in mm, ellipses in voxels. Radius 10 mm -> 20 mm over 5 slices.
    auto m = grid({100, 56, 6}, {0.5, 1.0, 2.0});
    disc(m, 0, 50, 28, 10);
    disc(m, 5, 50, 28, 20);
    const LabelMap out = filled(m, 1);
    for (std::int64_t k = 1; k < 5; ++k) {
        const double r = 10 + 2 * double(k);
        for (std::int64_t j = 0; j < 56; ++j)
            for (std::int64_t i = 0; i < 100; ++i) {
                const double d = std::hypot((double(i) - 50) * 0.5, double(j) - 28);
                if (d <= r - 1) {
                    ASSERT_EQ(out.at(i, j, k), 1) << "slice " << k << " hole at " << i << "," << j;
                }
                if (d >= r + 1) {
                    ASSERT_EQ(out.at(i, j, k), 0) << "slice " << k << " spill at " << i << "," << j;
                }
            }
        const double equivalent = std::sqrt(double(stats(out, k, 1).count) * 0.5 / std::acos(-1.0));
        EXPECT_NEAR(equivalent, r, 0.5) << "slice " << k;
    }
}

TEST(SliceInterpolation, NonOverlappingDiscsMoveAlongTheLineBetweenTheirCentres) {
    // Radius 5 discs 13.9 voxels apart (no overlap) on slices 0 and 5: the gap (3.9 mm) is less than the
    // 5 mm between the slices, so they are one shape moving. The disc is drawn in whole voxels, so its
    // position is too: its centroid is the line's point within half a voxel.
    auto m = grid({64, 48, 6});
    disc(m, 0, 18, 20, 5);
    disc(m, 5, 31, 25, 5);
    const LabelMap out = filled(m, 1);
    const double area = double(stats(m, 0, 1).count);
    for (std::int64_t k = 1; k < 5; ++k) {
        const SliceStats s = stats(out, k, 1);
        const double t = double(k) / 5;
        EXPECT_NEAR(s.ci, 18 + 13 * t, 0.5) << "slice " << k;
        EXPECT_NEAR(s.cj, 20 + 5 * t, 0.5) << "slice " << k;
        EXPECT_NEAR(double(s.count), area, 0.1 * area) << "slice " << k;
        EXPECT_EQ(componentCount(out, k, 1), 1) << "slice " << k;
    }
}

TEST(SliceInterpolation, OverlappingShiftedDiscsKeepTheirSizeAsTheyMove) {
    // Aligned before blending: a disc moving by 8 voxels stays a disc of the same size; blending in place
    // would pinch it to the lens where the two overlap.
    auto m = grid({56, 40, 6});
    disc(m, 0, 22, 20, 9);
    disc(m, 5, 30, 20, 9);
    const LabelMap out = filled(m, 1);
    const double area = double(stats(m, 0, 1).count);
    for (std::int64_t k = 1; k < 5; ++k) {
        const SliceStats s = stats(out, k, 1);
        EXPECT_NEAR(s.ci, 22 + 8 * double(k) / 5, 0.5) << "slice " << k;
        EXPECT_NEAR(s.cj, 20, 0.01) << "slice " << k;
        EXPECT_NEAR(double(s.count), area, 0.04 * area) << "slice " << k;
    }
}

TEST(SliceInterpolation, OneComponentSplitsIntoTwo) {
    auto m = grid({64, 40, 7});
    disc(m, 0, 32, 20, 12);
    disc(m, 6, 22, 20, 6);
    disc(m, 6, 42, 20, 6);
    const LabelMap out = filled(m, 1);
    EXPECT_EQ(componentCount(out, 1, 1), 1);
    EXPECT_EQ(componentCount(out, 5, 1), 2);
    std::int64_t previous = stats(m, 0, 1).count;
    for (std::int64_t k = 1; k < 6; ++k) {
        const SliceStats s = stats(out, k, 1);
        EXPECT_LT(s.count, previous) << "slice " << k << ": the area goes from one disc's to two small ones'";
        EXPECT_GT(s.count, stats(m, 6, 1).count) << "slice " << k;
        EXPECT_NEAR(s.ci, 32, 0.5) << "slice " << k << ": symmetric about the centre";
        previous = s.count;
        const SliceStats left = stats(out, k, 1, [](std::int64_t i, std::int64_t) { return i < 32; });
        const SliceStats right = stats(out, k, 1, [](std::int64_t i, std::int64_t) { return i > 32; });
        EXPECT_EQ(left.count, right.count) << "slice " << k;
    }
    EXPECT_EQ(out.at(32, 20, 5), 0) << "split before the last slice";
}

TEST(SliceInterpolation, AComponentWithoutPartnerEndsHalfWay) {
    // Slice 0: discs at i = 16 and i = 46; slice 6: only the one at 16. The one at 46 shrinks to nothing at
    // t = 0.5 (slice 3); the other is a cylinder.
    auto m = grid({64, 32, 7});
    disc(m, 0, 16, 16, 6);
    disc(m, 0, 46, 16, 6);
    disc(m, 6, 16, 16, 6);
    const LabelMap out = filled(m, 1);
    const auto nearEnd = [](std::int64_t i, std::int64_t) { return i > 31; };
    const auto nearStay = [](std::int64_t i, std::int64_t) { return i <= 31; };
    const std::int64_t area = stats(m, 6, 1).count;
    EXPECT_LT(stats(out, 1, 1, nearEnd).count, area);
    EXPECT_GT(stats(out, 1, 1, nearEnd).count, 0);
    EXPECT_LT(stats(out, 2, 1, nearEnd).count, stats(out, 1, 1, nearEnd).count);
    EXPECT_GT(stats(out, 2, 1, nearEnd).count, 0);
    EXPECT_NEAR(stats(out, 2, 1, nearEnd).ci, 46, 0.5);
    for (std::int64_t k = 3; k < 6; ++k) EXPECT_EQ(stats(out, k, 1, nearEnd).count, 0) << "slice " << k;
    for (std::int64_t k = 1; k < 6; ++k) EXPECT_EQ(stats(out, k, 1, nearStay).count, area) << "slice " << k;
}

TEST(SliceInterpolation, AnEndingShapeShrinksEvenlyInMillimetres) {
    // 0.5 x 1 mm pixels. A 12 mm disc with no partner is eroded by half its depth a quarter of the way: a
    // 6 mm disc, round in mm (an erosion in voxel units would leave an ellipse 9 mm by 6 mm).
    auto m = grid({120, 60, 5}, {0.5, 1.0, 1.0});
    disc(m, 0, 40, 30, 12);
    disc(m, 4, 110, 55, 2);
    const LabelMap out = filled(m, 1);
    for (std::int64_t j = 0; j < 60; ++j)
        for (std::int64_t i = 0; i < 80; ++i) {
            const double d = std::hypot((double(i) - 40) * 0.5, double(j) - 30);
            if (d <= 5) {
                ASSERT_EQ(out.at(i, j, 1), 1) << i << "," << j;
            }
            if (d >= 7) {
                ASSERT_EQ(out.at(i, j, 1), 0) << i << "," << j;
            }
        }
}

TEST(SliceInterpolation, DistantComponentsAreNotPairedAndBothEnd) {
    // 44 voxels apart, radius 4, 4 mm between the slices: too far to be one shape moving.
    auto m = grid({64, 16, 5});
    disc(m, 0, 10, 8, 4);
    disc(m, 4, 54, 8, 4);
    const SliceFill fill = fillBetweenSlices(m, 1, 2);
    EXPECT_EQ(fill.filledSlices, (std::vector<std::int64_t>{1, 3}));
    const LabelMap out = filled(m, 1);
    EXPECT_NEAR(stats(out, 1, 1).ci, 10, 0.01);
    EXPECT_NEAR(stats(out, 3, 1).ci, 54, 0.01);
    EXPECT_EQ(stats(out, 2, 1).count, 0);
}

TEST(SliceInterpolation, OtherSegmentsAndDrawnSlicesAreNeverChanged) {
    auto m = grid({40, 40, 8});
    disc(m, 6, 20, 20, 8);
    for (std::int64_t j = 0; j < 40; ++j)
        for (std::int64_t i = 0; i < 40; ++i) {
            const double d = std::hypot(double(i) - 20, double(j) - 20);
            if (d <= 8) m.set(i, j, 1, 1);
            if (d > 8 && d <= 12) m.set(i, j, 1, 3);  // a ring of another segment on a drawn slice
        }
    for (std::int64_t k = 3; k <= 4; ++k)
        for (std::int64_t j = 10; j < 30; ++j)
            for (std::int64_t i = 20; i < 30; ++i) m.set(i, j, k, 2);  // another segment across the disc
    const SliceFill fill = fillBetweenSlices(m, 1, 2);
    const LabelMap out = filled(m, 1);
    std::int64_t kept = 0;
    for (std::int64_t k = 0; k < 8; ++k)
        for (std::int64_t j = 0; j < 40; ++j)
            for (std::int64_t i = 0; i < 40; ++i) {
                const auto before = m.at(i, j, k), after = out.at(i, j, k);
                if (before != 0 || k <= 1 || k >= 6) {
                    ASSERT_EQ(after, before) << i << "," << j << "," << k;
                }
                kept += before == 2 && std::hypot(double(i) - 20, double(j) - 20) <= 8;
                if (k > 1 && k < 6 && std::hypot(double(i) - 20, double(j) - 20) <= 7) {
                    ASSERT_EQ(after, before == 2 ? 2 : 1) << i << "," << j << "," << k;
                }
            }
    EXPECT_GT(kept, 100) << "the other segment did cross the disc";
    for (std::size_t n = 0; n < fill.edit.before.size(); ++n)
        if (fill.edit.before[n] != fill.edit.after[n]) {
            ASSERT_EQ(fill.edit.before[n], 0);
            ASSERT_EQ(fill.edit.after[n], 1);
        }
}

TEST(SliceInterpolation, EveryAxisGivesTheTransposedResult) {
    const Index3 n{36, 30, 9};
    const Vec3 sp{0.8, 1.1, 2.5};
    auto m = grid(n, sp);
    disc(m, 1, 12, 14, 6);
    disc(m, 1, 26, 16, 3);
    disc(m, 5, 14, 15, 8);
    disc(m, 8, 22, 12, 4);
    disc(m, 1, 4, 26, 2);  // these two overlap nothing: one shape moving, aligned
    disc(m, 5, 10, 27, 2);
    const LabelMap ref = filled(m, 1, 2);
    EXPECT_GT(fillBetweenSlices(m, 1, 2).edit.added, 500);
    // Axis 0 sees in-plane axes (1, 2), axis 1 sees (0, 2): put the reference's (i, j) there, k on the axis.
    for (int axis : {0, 1}) {
        const Index3 size = axis == 0 ? Index3{n[2], n[0], n[1]} : Index3{n[0], n[2], n[1]};
        const Vec3 spacing = axis == 0 ? Vec3{sp[2], sp[0], sp[1]} : Vec3{sp[0], sp[2], sp[1]};
        auto t = grid(size, spacing);
        auto place = [&](std::int64_t i, std::int64_t j, std::int64_t k) {
            return axis == 0 ? Index3{k, i, j} : Index3{i, k, j};
        };
        for (std::int64_t k = 0; k < n[2]; ++k)
            for (std::int64_t j = 0; j < n[1]; ++j)
                for (std::int64_t i = 0; i < n[0]; ++i) {
                    const Index3 p = place(i, j, k);
                    t.set(p[0], p[1], p[2], m.at(i, j, k));
                }
        const SliceFill fill = fillBetweenSlices(t, 1, axis);
        EXPECT_EQ(fill.drawnSlices, (std::vector<std::int64_t>{1, 5, 8}));
        LabelMap out = t;
        applyEdit(out, fill.edit);
        for (std::int64_t k = 0; k < n[2]; ++k)
            for (std::int64_t j = 0; j < n[1]; ++j)
                for (std::int64_t i = 0; i < n[0]; ++i) {
                    const Index3 p = place(i, j, k);
                    ASSERT_EQ(out.at(p[0], p[1], p[2]), ref.at(i, j, k))
                        << "axis " << axis << " at " << i << "," << j << "," << k;
                }
    }
}

TEST(SliceInterpolation, AdjacentDrawnSlicesLeaveNothingToFill) {
    auto m = grid({20, 20, 4});
    disc(m, 1, 10, 10, 4);
    disc(m, 2, 10, 10, 5);
    const SliceFill fill = fillBetweenSlices(m, 1, 2);
    EXPECT_TRUE(fill.edit.empty());
    EXPECT_TRUE(fill.filledSlices.empty());
    EXPECT_EQ(fill.edit.size, (Index3{0, 0, 0}));
    LabelMap out = m;
    applyEdit(out, fill.edit);
    EXPECT_EQ(out.labels(), m.labels());
}

TEST(SliceInterpolation, ErrorsSayWhatIsMissingAndChangeNothing) {
    auto m = grid({20, 20, 6});
    disc(m, 2, 10, 10, 4, 4);
    const auto before = m.labels();
    expectInvalid([&] { fillBetweenSlices(m, 4, 3); }, "axis must be 0, 1 or 2");
    expectInvalid([&] { fillBetweenSlices(m, 4, -1); }, "axis must be 0, 1 or 2");
    expectInvalid([&] { fillBetweenSlices(m, 0, 2); }, "background");
    expectInvalid([&] { fillBetweenSlices(m, 7, 2); }, "segment 7 has no voxels");
    expectInvalid([&] { fillBetweenSlices(m, 4, 2); }, "drawn on one slice only (slice 2 of axis 2)");
    expectInvalid([&] { fillBetweenSlices(LabelMap{}, 1, 2); }, "has no voxels");
    EXPECT_NO_THROW(fillBetweenSlices(m, 4, 0)) << "along axis 0 the disc spans several slices";
    EXPECT_EQ(m.labels(), before);

    SliceFill wrong;
    wrong.edit.begin = {15, 0, 0};
    wrong.edit.size = {10, 1, 1};
    wrong.edit.after.assign(10, 1);
    wrong.edit.before.assign(10, 0);
    wrong.edit.added = 1;
    expectInvalid([&] { applyEdit(m, wrong.edit); }, "does not lie inside");
    EXPECT_EQ(m.labels(), before);
}

// Full-size slices with shapes that appear, vanish and overlap; its time is printed (docs/PERFORMANCE.md),
// not asserted.
TEST(SliceInterpolation, A512SlicePairWithFourSlicesBetween) {
    auto m = grid({512, 512, 6}, {0.7, 0.7, 5});
    disc(m, 0, 250, 260, 120);
    disc(m, 0, 420, 100, 30);
    disc(m, 5, 270, 250, 150);
    disc(m, 5, 80, 430, 25);
    const auto start = std::chrono::steady_clock::now();
    const SliceFill fill = fillBetweenSlices(m, 1, 2);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    EXPECT_EQ(fill.filledSlices, (std::vector<std::int64_t>{1, 2, 3, 4}));
    EXPECT_GT(fill.edit.added, 0);
    std::printf("[ timing ] 512 x 512, 4 slices filled: %.3f s\n", seconds);
}
