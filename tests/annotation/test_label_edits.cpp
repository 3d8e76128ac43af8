// The label edits without a controller (no Qt, no AI thread): the label policy, the brush ball and the
// threshold fill and the changes they report, an AI result and a deletion as edits, and the document that
// applies them (counts and boxes).
#include <engram/annotation/LabelDocument.h>
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
    EXPECT_EQ(changes.box.lo, (Index3{8, 6, 4}));
    EXPECT_EQ(changes.box.hi, (Index3{12, 14, 4}));

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
    EXPECT_EQ(all.box.lo, (Index3{0, 0, 0}));
    EXPECT_EQ(all.box.hi, (Index3{12, 14, 4}));
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
    EXPECT_EQ(inSlice.box.lo, (Index3{5, 0, 4}));
    EXPECT_EQ(inSlice.box.hi, (Index3{15, 9, 4}));
    EXPECT_EQ(count(labels, 9), g.size[0] * g.size[2]);

    const VoxelChanges through = thresholdFill(labels, volume, {7, 3, 4}, 50, 150, -1, 1);
    EXPECT_EQ(count(labels, 1), 11 * 10 * g.size[2]);  // every slice, still below the wall
    EXPECT_EQ(std::int64_t(through.before.size()), 11 * 10 * (g.size[2] - 1));  // slice 4 was done
}

TEST(LabelEdits, ARegionEditKeepsThePolicyAndReadsOnlyItsBoxes) {
    const ImageGeometry g = grid();
    LabelMap labels(g);
    auto at = [&](std::int64_t i, std::int64_t j, std::int64_t k) -> std::uint8_t& {
        return labels.labels()[std::size_t(g.offset(i, j, k))];
    };
    at(5, 5, 4) = 1;    // the segment, inside the region but outside the mask: becomes background
    at(6, 5, 4) = 2;    // another segment inside the mask: kept
    at(15, 15, 4) = 1;  // the segment outside the region: kept
    model::RegionMask m;
    m.begin = {4, 4, 3};
    m.size = {5, 5, 3};
    m.mask.assign(5 * 5 * 3, 0);
    m.positiveBegin = {2, 1, 1};  // the mask's ones: i 6..7, j 5, k 4
    m.positiveSize = {2, 1, 1};
    m.mask[std::size_t(2 + 5 * (1 + 5 * 1))] = 1;
    m.mask[std::size_t(3 + 5 * (1 + 5 * 1))] = 1;
    VoxelBox segmentBox{{5, 5, 4}, {15, 15, 4}};
    const SegmentEdit e = regionEdit(labels, m, 1, segmentBox);
    EXPECT_EQ(e.added, 1);    // (7, 5, 4)
    EXPECT_EQ(e.removed, 1);  // (5, 5, 4)
    EXPECT_EQ(e.begin, (Index3{5, 5, 4}));
    EXPECT_EQ(e.size, (Index3{3, 1, 1}));
    applyEdit(labels, e);
    EXPECT_EQ(at(5, 5, 4), 0);
    EXPECT_EQ(at(6, 5, 4), 2);
    EXPECT_EQ(at(7, 5, 4), 1);
    EXPECT_EQ(at(15, 15, 4), 1);
    applyEdit(labels, e, false);
    EXPECT_EQ(at(5, 5, 4), 1);
    EXPECT_EQ(at(7, 5, 4), 0);
    // A segment box that misses the region leaves its voxels alone: only the positive box is read.
    const SegmentEdit onlyPositive = regionEdit(labels, m, 1, VoxelBox{{15, 15, 4}, {15, 15, 4}});
    EXPECT_EQ(onlyPositive.added, 1);
    EXPECT_EQ(onlyPositive.removed, 0);
}

TEST(LabelEdits, ClearingASegmentTakesOnlyItsVoxels) {
    const ImageGeometry g = grid();
    LabelMap labels(g);
    VoxelChanges painted;
    paintBall(labels, {10, 10, 4}, 3, -1, 1, false, painted);
    VoxelChanges other;
    paintBall(labels, {3, 3, 4}, 1, -1, 2, false, other);
    const SegmentEdit e = clearSegment(labels, 1, painted.box);
    EXPECT_EQ(e.removed, count(labels, 1));
    EXPECT_EQ(e.added, 0);
    applyEdit(labels, e);
    EXPECT_EQ(count(labels, 1), 0);
    EXPECT_EQ(count(labels, 2), std::int64_t(other.before.size()));
    EXPECT_TRUE(clearSegment(labels, 1, VoxelBox{}).empty());
}

TEST(LabelEdits, TheDocumentKeepsCountsAndBoxesThroughEditsAndUndo) {
    const ImageGeometry g = grid();
    LabelMap start(g);
    start.labels()[std::size_t(g.offset(2, 3, 4))] = 7;
    LabelDocument doc(start);
    EXPECT_EQ(doc.voxelCount(7), 1);
    EXPECT_EQ(doc.extentOf(7).lo, (Index3{2, 3, 4}));
    EXPECT_EQ(doc.extentOf(7).hi, (Index3{2, 3, 4}));
    ASSERT_NE(doc.segments().find(7), nullptr);  // a segment for every label value present
    EXPECT_TRUE(doc.extentOf(1).empty());

    // A brush stroke draws into the labels, then its changes are applied as an edit: counts follow.
    VoxelChanges stroke;
    paintBall(doc.labelsForDrawing(), {10, 10, 4}, 2, 2, 1, false, stroke);
    const SegmentEdit e = stroke.asEdit(doc.labels(), 1);
    EXPECT_EQ(e.added, std::int64_t(stroke.before.size()));
    doc.apply(e, true);
    EXPECT_EQ(doc.voxelCount(1), count(doc.labels(), 1));
    EXPECT_EQ(doc.voxelCount(0), g.voxelCount() - count(doc.labels(), 1) - 1);
    EXPECT_EQ(doc.extentOf(1).lo, stroke.box.lo);
    EXPECT_EQ(doc.extentOf(1).hi, stroke.box.hi);
    doc.apply(e, false);
    EXPECT_EQ(doc.voxelCount(1), 0);
    EXPECT_EQ(count(doc.labels(), 1), 0);
    EXPECT_FALSE(doc.extentOf(1).empty());  // boxes only grow
}
