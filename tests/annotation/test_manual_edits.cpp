// Manual tools and segment deletion: exact undo/redo and the label policy.
#include "../support/TestSupport.h"
#include "EditingDocument.h"

#include <engram/annotation/Errors.h>

using namespace engram;
using engram::test::Doc;
using engram::test::ramp;

TEST(ManualEdits, BrushStrokeIsOneInteractionAndUndoesExactly) {
    Doc d;
    const auto liver = d.c.addSegment("Liver");
    const auto empty = d.c.labels().labels();
    d.c.beginStroke(liver, false, "axial");
    d.c.strokeAt({10, 10, 5}, 4.0, 2);  // 4 mm disc in the axial plane: |di*2|^2 + |dj*1|^2 <= 16
    d.c.strokeAt({12, 10, 5}, 4.0, 2);
    EXPECT_EQ(d.c.undoStack().count(), 0) << "a stroke is recorded when it ends";
    d.c.endStroke();
    ASSERT_EQ(d.c.undoStack().count(), 1);
    const auto painted = d.c.labels().labels();
    // Only slice k = 5 is painted; the disc's extent follows the spacing (2 mm columns, 1 mm rows).
    EXPECT_EQ(d.c.labels().at(10, 14, 5), liver);
    EXPECT_EQ(d.c.labels().at(10, 15, 5), 0);
    EXPECT_EQ(d.c.labels().at(14, 10, 5), liver);  // 12 + 2 columns = 4 mm from the second centre
    EXPECT_EQ(d.c.labels().at(15, 10, 5), 0);
    EXPECT_EQ(d.c.labels().at(10, 10, 4), 0);
    EXPECT_EQ(d.c.voxelCount(liver), d.count(liver));
    const auto h = d.c.history();
    ASSERT_EQ(h.size(), 1u);
    EXPECT_EQ(h[0].kind, InteractionKind::Brush);
    EXPECT_EQ(h[0].view, "axial");
    EXPECT_EQ(h[0].changedVoxels, d.count(liver));

    d.c.undoStack().undo();
    EXPECT_EQ(d.c.labels().labels(), empty);
    EXPECT_EQ(d.c.voxelCount(liver), 0);
    d.c.undoStack().redo();
    EXPECT_EQ(d.c.labels().labels(), painted);
    EXPECT_EQ(d.c.voxelCount(liver), d.count(liver));
}

TEST(ManualEdits, BrushNeverOverwritesAnotherSegmentAndEraserOnlyClearsItsOwn) {
    Doc d;
    const auto a = d.c.addSegment("Liver");
    const auto b = d.c.addSegment("Spleen");
    d.c.beginStroke(a, false, "axial");
    d.c.strokeAt({20, 15, 10}, 6.0, 2);
    d.c.endStroke();
    const auto na = d.count(a);
    d.c.beginStroke(b, false, "axial");
    d.c.strokeAt({22, 15, 10}, 6.0, 2);
    d.c.endStroke();
    EXPECT_EQ(d.count(a), na) << "painting b left a alone";
    EXPECT_GT(d.count(b), 0);
    d.c.beginStroke(b, true, "axial");
    d.c.strokeAt({20, 15, 10}, 20.0, 2);
    d.c.endStroke();
    EXPECT_EQ(d.count(b), 0);
    EXPECT_EQ(d.count(a), na) << "erasing b left a alone";
}

TEST(ManualEdits, ThresholdFillIsConnectedAndRangeLimited) {
    Doc d;
    const auto s = d.c.addSegment("Bone");
    // Values are the column index: [5, 9] selects 5 columns; 3D fill takes them through the whole volume.
    ASSERT_TRUE(d.c.thresholdFill(s, {7, 3, 3}, 5, 9, -1, ""));
    EXPECT_EQ(d.c.voxelCount(s), 5 * 30 * 20);
    d.c.undoStack().undo();
    // In-slice fill (axial: normal axis 2) stays on its slice.
    ASSERT_TRUE(d.c.thresholdFill(s, {7, 3, 3}, 5, 9, 2, "axial"));
    EXPECT_EQ(d.c.voxelCount(s), 5 * 30);
    EXPECT_FALSE(d.c.thresholdFill(s, {20, 3, 3}, 5, 9, 2, "axial"));
    EXPECT_NE(d.lastError.indexOf("outside the fill range"), -1) << d.lastError.toStdString();
    EXPECT_FALSE(d.c.thresholdFill(s, {40, 3, 3}, 0, 100, 2, "axial"));
    EXPECT_NE(d.lastError.indexOf("outside the volume"), -1);
}

TEST(ManualEdits, DeletingASegmentIsUndoable) {
    Doc d;
    const auto s = d.c.addSegment("Liver");
    ASSERT_TRUE(d.c.thresholdFill(s, {7, 3, 3}, 5, 9, -1, ""));
    const auto filled = d.c.labels().labels();
    d.c.deleteSegment(s);
    EXPECT_EQ(d.c.segments().find(s), nullptr);
    EXPECT_EQ(d.count(s), 0);
    EXPECT_EQ(d.c.voxelCount(s), 0);
    d.c.undoStack().undo();
    ASSERT_NE(d.c.segments().find(s), nullptr);
    EXPECT_EQ(d.c.segments().find(s)->name, "Liver");
    EXPECT_EQ(d.c.labels().labels(), filled);
    EXPECT_EQ(d.c.history().back().kind, InteractionKind::DeleteSegment);
    EXPECT_FALSE(d.c.history().back().applied);
}
