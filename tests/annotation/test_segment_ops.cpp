// Segment operations (islands, holes, smoothing, margins, logical operators) and segment statistics on small
// hand-made grids with anisotropic spacing: exact results, the label policy, slice scopes, bad input.
#include <engram/annotation/SegmentOps.h>
#include <engram/annotation/SegmentStatistics.h>

#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <locale>
#include <sstream>
#include <string>

using namespace engram;

namespace {

ImageGeometry grid(const Index3& size, const Vec3& spacing) {
    ImageGeometry g;
    g.size = size;
    g.spacing = spacing;
    return g;
}

template <typename F>
void forEachVoxel(const ImageGeometry& g, F f) {
    for (std::int64_t k = 0; k < g.size[2]; ++k)
        for (std::int64_t j = 0; j < g.size[1]; ++j)
            for (std::int64_t i = 0; i < g.size[0]; ++i) f(Index3{i, j, k});
}

void fill(LabelMap& m, const Index3& lo, const Index3& hi, std::uint8_t v) {
    for (std::int64_t k = lo[2]; k <= hi[2]; ++k)
        for (std::int64_t j = lo[1]; j <= hi[1]; ++j)
            for (std::int64_t i = lo[0]; i <= hi[0]; ++i) m.set(i, j, k, v);
}

std::uint8_t at(const LabelMap& m, const Index3& p) { return m.at(p[0], p[1], p[2]); }

double distance2(const ImageGeometry& g, const Index3& a, const Index3& b) {
    double d = 0;
    for (int x = 0; x < 3; ++x) d += std::pow(double(a[x] - b[x]) * g.spacing[x], 2);
    return d;
}

// Voxels within `r` mm of the centre voxel c.
LabelMap ball(const ImageGeometry& g, const Index3& c, double r, std::uint8_t v) {
    LabelMap m(g);
    forEachVoxel(g, [&](const Index3& p) {
        if (distance2(g, p, c) <= r * r + 1e-9) m.set(p[0], p[1], p[2], v);
    });
    return m;
}

std::int64_t count(const LabelMap& m, std::uint8_t v) {
    std::int64_t n = 0;
    for (auto x : m.labels()) n += x == v;
    return n;
}

LabelMap applied(LabelMap m, const SegmentEdit& e) {
    applyEdit(m, e);
    return m;
}

// The edit's labels before are the map's, and every side of its box holds a changed voxel.
void expectCompact(const LabelMap& m, const SegmentEdit& e) {
    ASSERT_FALSE(e.empty());
    std::int64_t changed = 0;
    std::array<bool, 6> side{};
    std::size_t v = 0;
    for (std::int64_t k = 0; k < e.size[2]; ++k)
        for (std::int64_t j = 0; j < e.size[1]; ++j)
            for (std::int64_t i = 0; i < e.size[0]; ++i, ++v) {
                ASSERT_EQ(e.before[v], m.at(e.begin[0] + i, e.begin[1] + j, e.begin[2] + k));
                if (e.before[v] == e.after[v]) continue;
                ++changed;
                const Index3 p{i, j, k};
                for (int a = 0; a < 3; ++a) {
                    side[std::size_t(2 * a)] = side[std::size_t(2 * a)] || p[a] == 0;
                    side[std::size_t(2 * a + 1)] = side[std::size_t(2 * a + 1)] || p[a] == e.size[a] - 1;
                }
            }
    EXPECT_EQ(changed, e.changed());
    for (bool s : side) EXPECT_TRUE(s) << "the edit's box is larger than its changes";
}

// Grow by brute force: background voxels within r mm of a voxel of `label`, in the whole grid or (axis >= 0)
// among voxels of the same slice.
LabelMap grownByBruteForce(const LabelMap& m, std::uint8_t label, double r, int axis = -1) {
    const ImageGeometry& g = m.geometry();
    std::vector<Index3> seg;
    forEachVoxel(g, [&](const Index3& p) {
        if (at(m, p) == label) seg.push_back(p);
    });
    LabelMap out = m;
    forEachVoxel(g, [&](const Index3& p) {
        if (at(m, p) != 0) return;
        for (const Index3& q : seg)
            if ((axis < 0 || q[std::size_t(axis)] == p[std::size_t(axis)]) &&
                distance2(g, p, q) <= r * r + 1e-9) {
                out.set(p[0], p[1], p[2], label);
                return;
            }
    });
    return out;
}

// Shrink by brute force: voxels of `label` within r mm of a voxel of the grid that is not `label`.
LabelMap shrunkByBruteForce(const LabelMap& m, std::uint8_t label, double r) {
    const ImageGeometry& g = m.geometry();
    std::vector<Index3> rest;
    forEachVoxel(g, [&](const Index3& p) {
        if (at(m, p) != label) rest.push_back(p);
    });
    LabelMap out = m;
    forEachVoxel(g, [&](const Index3& p) {
        if (at(m, p) != label) return;
        for (const Index3& q : rest)
            if (distance2(g, p, q) <= r * r + 1e-9) {
                out.set(p[0], p[1], p[2], 0);
                return;
            }
    });
    return out;
}

void expectInvalid(const std::function<void()>& f, const std::string& part) {
    try {
        f();
        ADD_FAILURE() << "no exception for: " << part;
    } catch (const std::invalid_argument& e) {
        EXPECT_NE(std::string(e.what()).find(part), std::string::npos) << "message: " << e.what();
    }
}

// 12 x 10 x 6 voxels of 0.5 x 1 x 2.5 mm (1.25 mm^3): island A (3 x 3 x 2 = 18 voxels), island B (2 x 2 x 2
// = 8 voxels), voxel C touching A only along an edge (its own island under 6-connectivity), and voxels of
// segment 2 beside A.
LabelMap islands() {
    LabelMap m(grid({12, 10, 6}, {0.5, 1.0, 2.5}));
    fill(m, {1, 1, 1}, {3, 3, 2}, 1);
    fill(m, {8, 6, 3}, {9, 7, 4}, 1);
    m.set(4, 4, 1, 1);
    fill(m, {1, 4, 1}, {3, 4, 2}, 2);
    return m;
}

}  // namespace

TEST(SegmentOps, KeepLargestIslandRemovesTheOthersOnly) {
    const LabelMap m = islands();
    const SegmentEdit e = keepLargestIsland(m, 1);
    EXPECT_EQ(e.added, 0);
    EXPECT_EQ(e.removed, 9);
    EXPECT_EQ(e.begin, (Index3{4, 4, 1}));  // from voxel C to island B
    EXPECT_EQ(e.size, (Index3{6, 4, 4}));
    expectCompact(m, e);
    LabelMap expected = m;
    fill(expected, {8, 6, 3}, {9, 7, 4}, 0);
    expected.set(4, 4, 1, 0);
    EXPECT_EQ(applied(m, e).labels(), expected.labels());
    EXPECT_TRUE(keepLargestIsland(expected, 1).empty());
    EXPECT_TRUE(keepLargestIsland(m, 2).empty());  // one island
}

TEST(SegmentOps, KeepLargestIslandKeepsTheFirstOfEqualIslands) {
    LabelMap m(grid({6, 3, 3}, {1, 1, 1}));
    m.set(4, 0, 0, 1);
    m.set(1, 2, 2, 1);
    const LabelMap kept = applied(m, keepLargestIsland(m, 1));
    EXPECT_EQ(kept.at(4, 0, 0), 1);
    EXPECT_EQ(kept.at(1, 2, 2), 0);
}

TEST(SegmentOps, RemoveSmallIslandsBySizeInMillilitres) {
    const LabelMap m = islands();  // A 0.0225 mL, B 0.01 mL, C 0.00125 mL
    const LabelMap cut = applied(m, removeSmallIslands(m, 1, 0.01));
    EXPECT_EQ(count(cut, 1), 26) << "B is exactly 0.01 mL and stays";
    EXPECT_EQ(cut.at(4, 4, 1), 0);
    const SegmentEdit e = removeSmallIslands(m, 1, 0.0101);
    EXPECT_EQ(e.removed, 9);
    EXPECT_EQ(count(applied(m, e), 1), 18);
    EXPECT_TRUE(removeSmallIslands(m, 1, 0).empty());
    const SegmentEdit all = removeSmallIslands(m, 1, 1.0);
    EXPECT_EQ(all.removed, 27);
    EXPECT_EQ(count(applied(m, all), 1), 0);
    EXPECT_EQ(count(applied(m, all), 2), 6);
}

TEST(SegmentOps, IslandsOnASliceAre4Connected) {
    LabelMap m(grid({8, 8, 3}, {0.7, 0.7, 3}));
    fill(m, {1, 1, 1}, {3, 3, 1}, 1);  // 9 voxels on slice k = 1
    m.set(4, 4, 1, 1);                 // diagonal neighbour: its own island in 2D
    fill(m, {5, 5, 0}, {7, 7, 0}, 1);  // larger, on slice 0
    fill(m, {5, 5, 2}, {7, 7, 2}, 1);
    const SegmentEdit e = keepLargestIsland(m, 1, SegmentScope::sliceOf(2, 1));
    EXPECT_EQ(e.removed, 1);
    EXPECT_EQ(e.begin, (Index3{4, 4, 1}));
    EXPECT_EQ(e.size, (Index3{1, 1, 1}));
    // In 3D there are three islands of 9 (the plates are not connected): the first, slice 0's, stays.
    const LabelMap kept = applied(m, keepLargestIsland(m, 1));
    EXPECT_EQ(count(kept, 1), 9);
    EXPECT_EQ(kept.at(6, 6, 0), 1);
}

TEST(SegmentOps, FillHolesOfAHollowBall) {
    const ImageGeometry g = grid({17, 17, 9}, {1, 1, 2});
    const Index3 c{8, 8, 4};
    LabelMap m = ball(g, c, 6.0, 1);
    std::int64_t inner = 0;
    forEachVoxel(g, [&](const Index3& p) {
        if (distance2(g, p, c) < 9) {
            m.set(p[0], p[1], p[2], 0);
            ++inner;
        }
    });
    m.set(8, 8, 4, 3);  // another segment inside the cavity
    const SegmentEdit e = fillHoles(m, 1);
    EXPECT_EQ(e.added, inner - 1);
    EXPECT_EQ(e.removed, 0);
    expectCompact(m, e);
    LabelMap expected = ball(g, c, 6.0, 1);
    expected.set(8, 8, 4, 3);
    EXPECT_EQ(applied(m, e).labels(), expected.labels());

    // A channel from the cavity to the outside opens it: nothing to fill.
    for (std::int64_t i = 8; i < 17; ++i)
        if (m.at(i, 8, 4) == 1) m.set(i, 8, 4, 0);
    EXPECT_TRUE(fillHoles(m, 1).empty());
}

TEST(SegmentOps, FillHolesInAPlaneOnlyOnItsSlice) {
    LabelMap m(grid({9, 9, 5}, {0.8, 0.8, 3}));
    fill(m, {2, 2, 2}, {6, 6, 2}, 1);
    fill(m, {3, 3, 2}, {5, 5, 2}, 0);  // a 3 x 3 hole in a ring on slice 2
    EXPECT_TRUE(fillHoles(m, 1).empty()) << "in 3D the hole is open above and below";
    const SegmentEdit e = fillHoles(m, 1, SegmentScope::sliceOf(2, 2));
    EXPECT_EQ(e.added, 9);
    EXPECT_EQ(e.begin, (Index3{3, 3, 2}));
    EXPECT_EQ(e.size, (Index3{3, 3, 1}));
    // A ring closed against the slice's edge does not enclose what lies at the edge.
    LabelMap edge(grid({6, 6, 1}, {1, 1, 1}));
    fill(edge, {0, 0, 0}, {3, 3, 0}, 1);
    edge.set(0, 1, 0, 0);
    edge.set(1, 1, 0, 0);
    edge.set(2, 2, 0, 0);
    const LabelMap filled = applied(edge, fillHoles(edge, 1));
    EXPECT_EQ(filled.at(2, 2, 0), 1);
    EXPECT_EQ(filled.at(0, 1, 0), 0);
    EXPECT_EQ(filled.at(1, 1, 0), 0);
}

TEST(SegmentOps, GrowOneVoxelByThreeMillimetres) {
    // Offsets d with d0^2 + (1.5 d1)^2 + (2.5 d2)^2 <= 9: 19 on the centre slice (7 + 5 + 5 + 1 + 1), 5 on
    // each neighbouring slice (3 + 1 + 1).
    LabelMap m(grid({11, 9, 7}, {1.0, 1.5, 2.5}));
    m.set(5, 4, 3, 1);
    const SegmentEdit e = growSegment(m, 1, 3.0);
    EXPECT_EQ(e.added, 28);
    EXPECT_EQ(e.removed, 0);
    EXPECT_EQ(e.begin, (Index3{2, 2, 2}));
    EXPECT_EQ(e.size, (Index3{7, 5, 3}));
    const LabelMap g = applied(m, e);
    EXPECT_EQ(count(g, 1), 29);
    EXPECT_EQ(g.at(8, 4, 3), 1);  // 3 mm
    EXPECT_EQ(g.at(9, 4, 3), 0);
    EXPECT_EQ(g.at(5, 6, 3), 1);  // 3 mm
    EXPECT_EQ(g.at(7, 5, 3), 1);  // 2.5 mm
    EXPECT_EQ(g.at(7, 6, 3), 0);  // 3.6 mm
    EXPECT_EQ(g.at(6, 4, 4), 1);  // 2.69 mm
    EXPECT_EQ(g.at(6, 5, 4), 0);  // 3.08 mm
    EXPECT_EQ(g.at(5, 4, 5), 0);  // 5 mm
    EXPECT_TRUE(growSegment(m, 1, 0.99).empty());
}

TEST(SegmentOps, GrowBallByThreeMillimetresAgainstTheAnalyticBall) {
    const ImageGeometry g = grid({31, 27, 15}, {0.8, 1.0, 2.0});
    const Index3 c{15, 13, 7};
    const LabelMap m = ball(g, c, 4.0, 1);
    const SegmentEdit e = growSegment(m, 1, 3.0);
    expectCompact(m, e);
    const LabelMap out = applied(m, e);
    EXPECT_EQ(out.labels(), grownByBruteForce(m, 1, 3.0).labels());
    // Between the balls of 7 mm and of 7 mm less twice the voxels' half diagonal.
    const double slack = std::sqrt(0.64 + 1 + 4);
    std::int64_t outside = 0, missing = 0;
    forEachVoxel(g, [&](const Index3& p) {
        const double d = std::sqrt(distance2(g, p, c));
        if (at(out, p) == 1 && d > 7 + 1e-9) ++outside;
        if (at(out, p) != 1 && d <= 7 - slack) ++missing;
    });
    EXPECT_EQ(outside, 0);
    EXPECT_EQ(missing, 0);
    EXPECT_EQ(e.added, count(out, 1) - count(m, 1));
}

TEST(SegmentOps, GrowOfAnIrregularShapeMatchesBruteForce) {
    const ImageGeometry g = grid({20, 16, 9}, {0.7, 1.3, 2.9});
    LabelMap m(g);
    forEachVoxel(g, [&](const Index3& p) {
        if ((p[0] * 7 + p[1] * 3 + p[2] * 5) % 23 == 0 && p[0] > 3 && p[0] < 16) m.set(p[0], p[1], p[2], 1);
    });
    fill(m, {0, 0, 0}, {19, 2, 8}, 2);
    for (double r : {1.0, 2.6, 4.5})
        EXPECT_EQ(applied(m, growSegment(m, 1, r)).labels(), grownByBruteForce(m, 1, r).labels()) << r;
    for (double r : {0.7, 1.5, 3.0})
        EXPECT_EQ(applied(m, shrinkSegment(m, 2, r)).labels(), shrunkByBruteForce(m, 2, r).labels()) << r;
}

TEST(SegmentOps, GrowLeavesOtherSegmentsAlone) {
    LabelMap m(grid({12, 6, 3}, {1, 1, 1}));
    fill(m, {2, 2, 1}, {3, 3, 1}, 1);
    fill(m, {5, 0, 0}, {5, 5, 2}, 4);  // a wall of segment 4
    const SegmentEdit e = growSegment(m, 1, 3.0);
    const LabelMap out = applied(m, e);
    EXPECT_EQ(count(out, 4), 18);
    EXPECT_EQ(out.at(6, 2, 1), 1) << "the margin is Euclidean: it reaches past the wall";
    EXPECT_EQ(out.labels(), grownByBruteForce(m, 1, 3.0).labels());
}

TEST(SegmentOps, ShrinkABoxAndTheVolumeBorder) {
    LabelMap m(grid({14, 14, 10}, {1, 1, 2}));
    fill(m, {2, 2, 2}, {11, 11, 7}, 1);
    const SegmentEdit e = shrinkSegment(m, 1, 2.0);
    EXPECT_EQ(e.removed, 600 - 144);
    LabelMap expected(m.geometry());
    fill(expected, {4, 4, 3}, {9, 9, 6}, 1);
    EXPECT_EQ(applied(m, e).labels(), expected.labels());

    // The volume's border does not erode; another segment does, and stays.
    LabelMap b(grid({8, 4, 1}, {1, 1, 1}));
    fill(b, {0, 0, 0}, {5, 3, 0}, 1);
    fill(b, {6, 0, 0}, {7, 3, 0}, 2);
    const LabelMap s = applied(b, shrinkSegment(b, 1, 1.0));
    LabelMap sx(b.geometry());
    fill(sx, {0, 0, 0}, {4, 3, 0}, 1);
    fill(sx, {6, 0, 0}, {7, 3, 0}, 2);
    EXPECT_EQ(s.labels(), sx.labels());
    EXPECT_EQ(count(applied(b, shrinkSegment(b, 1, 10.0)), 1), 0);
}

TEST(SegmentOps, SliceScopeLeavesOtherSlicesUntouched) {
    const ImageGeometry g = grid({21, 19, 11}, {0.9, 1.1, 2.0});
    LabelMap m = ball(g, {10, 9, 5}, 5.0, 1);
    fill(m, {0, 0, 5}, {2, 18, 5}, 2);
    m.set(18, 16, 5, 1);  // specks on slices 5 and 6
    m.set(18, 16, 6, 1);
    for (int axis = 0; axis < 3; ++axis) {
        const std::int64_t slice = axis == 2 ? 5 : axis == 1 ? 8 : 11;
        const SegmentEdit e = growSegment(m, 1, 2.5, SegmentScope::sliceOf(axis, slice));
        EXPECT_EQ(e.begin[std::size_t(axis)], slice);
        EXPECT_EQ(e.size[std::size_t(axis)], 1);
        const LabelMap out = applied(m, e);
        const LabelMap brute = grownByBruteForce(m, 1, 2.5, axis);
        forEachVoxel(g, [&](const Index3& p) {
            const std::uint8_t want = p[std::size_t(axis)] == slice ? at(brute, p) : at(m, p);
            ASSERT_EQ(at(out, p), want) << axis << ": " << p[0] << "," << p[1] << "," << p[2];
        });
    }
    const SegmentEdit shrink = shrinkSegment(m, 1, 1.0, SegmentScope::sliceOf(2, 3));
    EXPECT_EQ(shrink.begin[2], 3);
    EXPECT_EQ(shrink.size[2], 1);
    const SegmentEdit median = smoothSegment(m, 1, Smoothing::Median, 3.0, SegmentScope::sliceOf(2, 5));
    EXPECT_EQ(median.begin[2], 5);
    EXPECT_EQ(median.size[2], 1);
    const LabelMap smoothed = applied(m, median);
    EXPECT_EQ(smoothed.at(18, 16, 5), 0);
    EXPECT_EQ(smoothed.at(18, 16, 6), 1);
}

TEST(SegmentOps, OpeningRemovesAThinSpike) {
    // r = 1.5 mm at 1 x 1 x 2 mm: the element is the 3 x 3 square in each slice.
    LabelMap m(grid({16, 12, 6}, {1, 1, 2}));
    fill(m, {2, 2, 1}, {8, 8, 4}, 1);
    fill(m, {9, 5, 2}, {13, 5, 2}, 1);  // a spike one voxel thick
    LabelMap box(m.geometry());
    fill(box, {2, 2, 1}, {8, 8, 4}, 1);
    const SegmentEdit e = smoothSegment(m, 1, Smoothing::Opening, 1.5);
    EXPECT_EQ(e.removed, 5);
    EXPECT_EQ(e.added, 0);
    EXPECT_EQ(applied(m, e).labels(), box.labels());
}

TEST(SegmentOps, ClosingFillsAGapButNotAnotherSegment) {
    // r = 1 mm at 1 x 1 x 2 mm: the element is the 4-neighbour cross in each slice. The gap's end voxels
    // (j = 2 and 7) have a background neighbour along j after the grow, so the shrink takes them back.
    LabelMap m(grid({14, 10, 5}, {1, 1, 2}));
    fill(m, {2, 2, 1}, {5, 7, 3}, 1);
    fill(m, {7, 2, 1}, {10, 7, 3}, 1);  // a one-voxel gap at i = 6
    m.set(6, 4, 2, 2);
    const SegmentEdit e = smoothSegment(m, 1, Smoothing::Closing, 1.0);
    EXPECT_EQ(e.added, 4 * 3 - 1);
    EXPECT_EQ(e.removed, 0);
    EXPECT_EQ(e.begin, (Index3{6, 3, 1}));
    EXPECT_EQ(e.size, (Index3{1, 4, 3}));
    const LabelMap out = applied(m, e);
    EXPECT_EQ(out.at(6, 4, 2), 2);
    EXPECT_EQ(out.at(6, 5, 2), 1);
    EXPECT_EQ(out.at(6, 2, 2), 0);
}

TEST(SegmentOps, MedianRemovesSpecksAndFillsPinholes) {
    // r = 1 mm at 1 mm: the element is the voxel and its 6 neighbours, majority 4 of 7.
    LabelMap m(grid({12, 10, 8}, {1, 1, 1}));
    fill(m, {0, 0, 0}, {5, 5, 5}, 1);  // a cube in the volume's corner
    m.set(3, 3, 3, 0);                 // a pinhole
    m.set(9, 8, 6, 1);                 // a speck
    LabelMap expected(m.geometry());
    fill(expected, {0, 0, 0}, {5, 5, 5}, 1);
    const SegmentEdit e = smoothSegment(m, 1, Smoothing::Median, 1.0);
    EXPECT_EQ(e.added, 1);
    EXPECT_EQ(e.removed, 1);
    EXPECT_EQ(applied(m, e).labels(), expected.labels()) << "the cube's corners and edges stay";
    // A 3 x 3 x 3 cube, r = sqrt(2) mm (an element of 19): its corners see 7 of 19 and go, edges 10 stay.
    LabelMap c(grid({9, 9, 9}, {1, 1, 1}));
    fill(c, {3, 3, 3}, {5, 5, 5}, 1);
    const LabelMap out = applied(c, smoothSegment(c, 1, Smoothing::Median, std::sqrt(2.0)));
    EXPECT_EQ(count(out, 1), 27 - 8);
    EXPECT_EQ(out.at(3, 3, 3), 0);
    EXPECT_EQ(out.at(4, 3, 3), 1);
}

TEST(SegmentOps, MedianCountsOnlyTheScopesVoxels) {
    // Two voxels in the corner of slice 1, r = 1 mm: the corner voxel has 2 of its 3 element voxels in the
    // slice, and stays; its neighbour has 2 of 4, not more than half, and goes. In 3D the corner voxel would
    // count 5 element voxels (the slices above and below).
    LabelMap m(grid({5, 4, 3}, {1, 1, 1}));
    m.set(0, 0, 1, 1);
    m.set(1, 0, 1, 1);
    const SegmentEdit e = smoothSegment(m, 1, Smoothing::Median, 1.0, SegmentScope::sliceOf(2, 1));
    EXPECT_EQ(e.removed, 1);
    EXPECT_EQ(e.added, 0);
    EXPECT_EQ(applied(m, e).at(0, 0, 1), 1);
    EXPECT_EQ(smoothSegment(m, 1, Smoothing::Median, 1.0).removed, 2);
}

TEST(SegmentOps, ZeroRadiusChangesNothing) {
    const LabelMap m = islands();
    for (Smoothing s : {Smoothing::Median, Smoothing::Opening, Smoothing::Closing})
        EXPECT_TRUE(smoothSegment(m, 1, s, 0.0).empty());
    EXPECT_TRUE(growSegment(m, 1, 0.0).empty());
    EXPECT_TRUE(shrinkSegment(m, 1, 0.0).empty());
}

TEST(SegmentOps, LogicalOperatorsWithAnotherLabelMap) {
    const ImageGeometry g = grid({10, 8, 4}, {0.6, 0.6, 3});
    LabelMap m(g);
    fill(m, {1, 1, 1}, {4, 4, 2}, 1);  // A: 32 voxels
    m.set(6, 3, 1, 2);                 // another segment, inside B
    LabelMap other(g);
    fill(other, {3, 2, 1}, {7, 5, 2}, 9);  // B: 40 voxels, 12 of them in A
    const SegmentEdit u = combineSegments(m, 1, LogicalOperation::Union, other, 9);
    EXPECT_EQ(u.added, 40 - 12 - 1);
    EXPECT_EQ(u.removed, 0);
    EXPECT_EQ(applied(m, u).at(6, 3, 1), 2);
    EXPECT_EQ(count(applied(m, u), 1), 32 + 40 - 12 - 1);
    const SegmentEdit x = combineSegments(m, 1, LogicalOperation::Intersect, other, 9);
    EXPECT_EQ(x.removed, 32 - 12);
    EXPECT_EQ(x.added, 0);
    const SegmentEdit s = combineSegments(m, 1, LogicalOperation::Subtract, other, 9);
    EXPECT_EQ(s.removed, 12);
    const LabelMap diff = applied(m, s);
    EXPECT_EQ(diff.at(2, 2, 1), 1);
    EXPECT_EQ(diff.at(3, 2, 1), 0);
    // On one slice only.
    const SegmentEdit us =
        combineSegments(m, 1, LogicalOperation::Union, other, 9, SegmentScope::sliceOf(2, 2));
    EXPECT_EQ(us.added, 20 - 6);
    EXPECT_EQ(us.begin[2], 2);
    EXPECT_EQ(us.size[2], 1);
    // A union into an empty segment takes over B's background voxels.
    EXPECT_EQ(combineSegments(m, 4, LogicalOperation::Union, other, 9).added, 40 - 12 - 1);
    // Within one label map segments do not overlap.
    EXPECT_TRUE(combineSegments(m, 1, LogicalOperation::Union, m, 2).empty());
    EXPECT_TRUE(combineSegments(m, 1, LogicalOperation::Subtract, m, 2).empty());
    EXPECT_EQ(combineSegments(m, 1, LogicalOperation::Intersect, m, 2).removed, 32);
}

TEST(SegmentOps, ApplyEditForwardAndBack) {
    const LabelMap m = islands();
    const SegmentEdit e = growSegment(m, 1, 1.0);
    LabelMap x = m;
    applyEdit(x, e);
    EXPECT_NE(x.labels(), m.labels());
    EXPECT_EQ(count(x, 1), count(m, 1) + e.added);
    applyEdit(x, e, false);
    EXPECT_EQ(x.labels(), m.labels());
    applyEdit(x, SegmentEdit{});
    EXPECT_EQ(x.labels(), m.labels());
    SegmentEdit bad = e;
    bad.begin[0] = 11;
    expectInvalid([&] { applyEdit(x, bad); }, "inside");
    bad = e;
    bad.after.pop_back();
    expectInvalid([&] { applyEdit(x, bad); }, "match");
    EXPECT_EQ(x.labels(), m.labels());
}

TEST(SegmentOps, BadInputThrowsInPlainWords) {
    const LabelMap m = islands();
    expectInvalid([&] { keepLargestIsland(m, 0); }, "background");
    expectInvalid([&] { fillHoles(m, 7); }, "Segment 7 has no voxels in the volume");
    expectInvalid([&] { growSegment(m, 1, 1.0, SegmentScope::sliceOf(2, 0)); },
                  "no voxels on slice 0 of axis 2");
    expectInvalid([&] { shrinkSegment(m, 1, 1.0, SegmentScope::sliceOf(3, 0)); }, "axis must be 0, 1 or 2");
    expectInvalid([&] { shrinkSegment(m, 1, 1.0, SegmentScope{-2, 0}); }, "axis must be 0, 1 or 2");
    expectInvalid([&] { keepLargestIsland(m, 1, SegmentScope::sliceOf(1, 10)); }, "outside the volume");
    expectInvalid([&] { keepLargestIsland(m, 1, SegmentScope::sliceOf(0, -1)); }, "outside the volume");
    expectInvalid([&] { growSegment(m, 1, -1.0); }, "margin must be 0 mm or more, not -1 mm");
    expectInvalid([&] { shrinkSegment(m, 1, std::nan("")); }, "margin");
    expectInvalid([&] { growSegment(m, 1, INFINITY); }, "margin");
    expectInvalid([&] { smoothSegment(m, 1, Smoothing::Median, -0.5); }, "radius");
    expectInvalid([&] { removeSmallIslands(m, 1, -1.0); }, "minimum island size");
    expectInvalid([&] { combineSegments(m, 1, LogicalOperation::Union, m, 1); }, "with itself");
    expectInvalid([&] { combineSegments(m, 1, LogicalOperation::Union, m, 0); }, "background");
    expectInvalid([&] { combineSegments(m, 1, LogicalOperation::Intersect, m, 5); },
                  "Segment 5 has no voxels");
    LabelMap small(grid({12, 10, 5}, {0.5, 1.0, 2.5}));
    small.set(1, 1, 1, 1);
    expectInvalid([&] { combineSegments(m, 1, LogicalOperation::Union, small, 1); }, "another grid");
    LabelMap shifted(grid({12, 10, 6}, {0.5, 1.0, 2.0}), m.labels());
    expectInvalid([&] { combineSegments(m, 1, LogicalOperation::Subtract, shifted, 1); }, "another grid");
}

TEST(SegmentStatistics, CountsVolumesIntensitiesAndBoxes) {
    const ImageGeometry g = grid({4, 3, 2}, {2, 1.5, 1});  // 3 mm^3 = 0.003 mL per voxel
    LabelMap m(g);
    std::vector<float> v(24, 5.0f);
    auto put = [&](std::int64_t i, std::int64_t j, std::int64_t k, std::uint8_t l, float x) {
        m.set(i, j, k, l);
        v[std::size_t(g.offset(i, j, k))] = x;
    };
    put(1, 2, 0, 1, 10);
    put(3, 0, 1, 1, 20);
    put(2, 1, 1, 1, 60);
    put(0, 1, 1, 7, -1000);
    const auto s = segmentStatistics(m, Volume(g, v));
    ASSERT_EQ(s.size(), 2u);
    EXPECT_EQ(s[0].label, 1);
    EXPECT_EQ(s[0].voxels, 3);
    EXPECT_NEAR(s[0].volumeMl, 0.009, 1e-15);
    EXPECT_DOUBLE_EQ(s[0].mean, 30);
    EXPECT_NEAR(s[0].stddev, std::sqrt(1400.0 / 3), 1e-12);  // deviations -20, -10, 30
    EXPECT_EQ(s[0].min, 10);
    EXPECT_EQ(s[0].max, 60);
    EXPECT_EQ(s[0].begin, (Index3{1, 0, 0}));
    EXPECT_EQ(s[0].end, (Index3{3, 2, 1}));
    EXPECT_EQ(s[1].label, 7);
    EXPECT_EQ(s[1].voxels, 1);
    EXPECT_DOUBLE_EQ(s[1].mean, -1000);
    EXPECT_EQ(s[1].stddev, 0);
    EXPECT_EQ(s[1].begin, (Index3{0, 1, 1}));
    EXPECT_EQ(s[1].end, (Index3{0, 1, 1}));
    EXPECT_TRUE(segmentStatistics(LabelMap(g), Volume(g, v)).empty());
}

TEST(SegmentStatistics, StandardDeviationKeepsItsDigitsAtALargeMean) {
    const ImageGeometry g = grid({3, 1, 1}, {1, 1, 1});
    const LabelMap m(g, {4, 4, 4});
    const auto s = segmentStatistics(m, Volume(g, {1e6f + 1, 1e6f + 2, 1e6f + 3}));
    ASSERT_EQ(s.size(), 1u);
    EXPECT_DOUBLE_EQ(s[0].mean, 1e6 + 2);
    EXPECT_NEAR(s[0].stddev, std::sqrt(2.0 / 3), 1e-9);
}

TEST(SegmentStatistics, ImageOnAnotherGridThrows) {
    const LabelMap m(grid({3, 1, 1}, {1, 1, 1}), {1, 0, 0});
    const Volume spaced(grid({3, 1, 1}, {1, 1, 2}), {0, 0, 0}), turned(grid({1, 3, 1}, {1, 1, 1}), {0, 0, 0});
    expectInvalid([&] { segmentStatistics(m, spaced); }, "another grid");
    expectInvalid([&] { segmentStatistics(m, turned); }, "another grid");
}

namespace {

struct CommaDecimal : std::numpunct<char> {
    char do_decimal_point() const override { return ','; }
};

}  // namespace

TEST(SegmentStatistics, CsvQuotesNamesAndIgnoresTheLocale) {
    const ImageGeometry g = grid({4, 3, 2}, {2, 1.5, 1});
    LabelMap m(g);
    std::vector<float> v(24, 0.0f);
    m.set(1, 2, 0, 1);
    v[std::size_t(g.offset(1, 2, 0))] = 10;
    m.set(2, 1, 1, 1);
    v[std::size_t(g.offset(2, 1, 1))] = 60.5f;
    m.set(0, 0, 1, 2);
    m.set(3, 0, 0, 3);
    v[std::size_t(g.offset(3, 0, 0))] = -2.25f;
    const auto s = segmentStatistics(m, Volume(g, v));
    const std::locale before = std::locale::global(std::locale(std::locale::classic(), new CommaDecimal));
    std::ostringstream out;
    out.imbue(std::locale());
    writeStatisticsCsv(out, s, {{1, "Liver, left lobe"}, {2, "He said \"no\""}});
    std::locale::global(before);
    EXPECT_EQ(out.str(),
              "label,name,voxels,volume_ml,mean,std,min,max,begin_i,begin_j,begin_k,end_i,end_j,end_k\n"
              "1,\"Liver, left lobe\",2,0.006,35.25,25.25,10,60.5,1,1,0,2,2,1\n"
              "2,\"He said \"\"no\"\"\",1,0.003,0,0,0,0,0,0,1,0,0,1\n"
              "3,,1,0.003,-2.25,0,-2.25,-2.25,3,0,0,3,0,0\n");
}
