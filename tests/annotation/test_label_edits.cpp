// The label edits without a controller (no Qt, no AI thread): the label policy, the brush ball and the
// threshold fill, and the changes they report.
#include <engram/annotation/LabelEdits.h>

#include <gtest/gtest.h>

using namespace engram;

namespace {

ImageGeometry grid(Vec3 spacing = {1, 1, 1}) {
    ImageGeometry g;
    g.size = {21, 21, 9};
    g.spacing = spacing;
    return g;
}

std::int64_t count(const LabelMap& m, std::uint8_t label) {
    std::int64_t n = 0;
    for (auto v : m.labels()) n += v == label;
    return n;
}

}  // namespace

TEST(LabelEdits, ThePolicyNeverTouchesAnotherSegment) {
    EXPECT_EQ(labelAfterEdit(0, 3, true), 3);
    EXPECT_EQ(labelAfterEdit(3, 3, true), 3);
    EXPECT_EQ(labelAfterEdit(5, 3, true), 5);
    EXPECT_EQ(labelAfterEdit(3, 3, false), 0);
    EXPECT_EQ(labelAfterEdit(5, 3, false), 5);
    EXPECT_EQ(labelAfterEdit(0, 3, false), 0);
}

TEST(LabelEdits, TheBallFollowsTheSpacingAndReportsWhatItChanged) {
    // 2 x 1 mm pixels: a 4 mm disc spans 2 voxels either way along i and 4 along j, |2 di|^2 + |dj|^2 <= 16.
    LabelMap labels(grid({2, 1, 3}));
    VoxelChanges changes;
    paintBall(labels, {10, 10, 4}, 4.0, 2, 1, false, changes);
    std::int64_t expected = 0;
    for (int di = -2; di <= 2; ++di)
        for (int dj = -4; dj <= 4; ++dj) expected += 4 * di * di + dj * dj <= 16;
    EXPECT_EQ(count(labels, 1), expected);
    EXPECT_EQ(std::int64_t(changes.before.size()), expected);
    EXPECT_EQ(changes.lo, (Index3{8, 6, 4}));
    EXPECT_EQ(changes.hi, (Index3{12, 14, 4}));

    // Another segment's voxels stay; the eraser of segment 2 clears only its own.
    VoxelChanges second;
    paintBall(labels, {12, 10, 4}, 4.0, 2, 2, false, second);
    EXPECT_EQ(count(labels, 1), expected);
    for (const auto& [offset, old] : second.before) EXPECT_EQ(old, 0);
    VoxelChanges erased;
    paintBall(labels, {10, 10, 4}, 10.0, -1, 2, true, erased);
    EXPECT_EQ(count(labels, 2), 0);
    EXPECT_EQ(count(labels, 1), expected);
    EXPECT_EQ(erased.before.size(), second.before.size());

    // A radius below the voxel still paints the voxel under the pointer.
    VoxelChanges dot;
    paintBall(labels, {0, 0, 0}, 0.1, 2, 3, false, dot);
    EXPECT_EQ(count(labels, 3), 1);

    // Merged changes keep each voxel's first value and the union of the boxes.
    VoxelChanges all = changes;
    all.merge(dot);
    EXPECT_EQ(all.before.size(), changes.before.size() + 1);
    EXPECT_EQ(all.lo, (Index3{0, 0, 0}));
    EXPECT_EQ(all.hi, (Index3{12, 14, 4}));
}

TEST(LabelEdits, TheFillStaysConnectedInRangeAndOffOtherSegments) {
    const ImageGeometry g = grid();
    // Values: 100 in a column block i in 5..15 on every slice, 0 elsewhere; a wall of segment 9 at j = 10.
    std::vector<float> values(std::size_t(g.voxelCount()), 0);
    for (std::int64_t k = 0; k < g.size[2]; ++k)
        for (std::int64_t j = 0; j < g.size[1]; ++j)
            for (std::int64_t i = 5; i <= 15; ++i) values[std::size_t(g.offset(i, j, k))] = 100;
    const Volume volume(g, values, {});
    LabelMap labels(g);
    for (std::int64_t k = 0; k < g.size[2]; ++k)
        for (std::int64_t i = 0; i < g.size[0]; ++i) labels.set(i, 10, k, 9);

    EXPECT_FALSE(seedFillable(labels, volume, {0, 0, 0}, 50, 150, 1));   // out of range
    EXPECT_FALSE(seedFillable(labels, volume, {7, 10, 0}, 50, 150, 1));  // another segment's voxel
    EXPECT_TRUE(thresholdFill(labels, volume, {0, 0, 0}, 50, 150, 2, 1).empty());

    const VoxelChanges inSlice = thresholdFill(labels, volume, {7, 3, 4}, 50, 150, 2, 1);
    EXPECT_EQ(count(labels, 1), 11 * 10);  // i 5..15, j 0..9 (the wall stops it), slice 4 only
    EXPECT_EQ(inSlice.lo, (Index3{5, 0, 4}));
    EXPECT_EQ(inSlice.hi, (Index3{15, 9, 4}));
    EXPECT_EQ(count(labels, 9), g.size[0] * g.size[2]);

    const VoxelChanges through = thresholdFill(labels, volume, {7, 3, 4}, 50, 150, -1, 1);
    EXPECT_EQ(count(labels, 1), 11 * 10 * g.size[2]);  // every slice, still below the wall
    EXPECT_EQ(std::int64_t(through.before.size()), 11 * 10 * (g.size[2] - 1));  // slice 4 was done
}
