// The interaction history without a controller or AI thread: a LabelDocument, an EditHistory, and a
// SessionStepper that records what the commands ask of the AI side. Undo and redo put back voxels, counts,
// deleted segments and the sessions' steps; the preview run opens, is accepted and is discarded.
#include <engram/annotation/EditHistory.h>

#include <gtest/gtest.h>

using namespace engram;

namespace {

struct Move {
    int segment;
    int step;  // the first session's step moved to
    bool forward, onPush;
};

class RecordingStepper : public SessionStepper {
  public:
    std::vector<Move> moves;
    void moveSessions(int segment, const std::vector<SessionSteps>& steps, bool forward,
                      bool onPush) override {
        moves.push_back({segment, forward ? steps.at(0).after : steps.at(0).before, forward, onPush});
    }
};

struct History {
    LabelDocument document{LabelMap(grid())};
    RecordingStepper stepper;
    EditHistory history{document, stepper};

    static ImageGeometry grid() {
        ImageGeometry g;
        g.size = {8, 8, 4};
        return g;
    }
    // An edit of `segment` that paints the voxels i in [i0, i1] of row (j, k) = (2, 1).
    SegmentEdit paint(std::uint8_t segment, std::int64_t i0, std::int64_t i1) const {
        const auto& labels = document.labels();
        return SegmentEdit::over(VoxelBox{{i0, 2, 1}, {i1, 2, 1}}, segment,
                                 [&](std::int64_t j, std::int64_t k, std::uint8_t* b, std::uint8_t* a) {
                                     for (std::int64_t i = i0; i <= i1; ++i) {
                                         b[i - i0] =
                                             labels.labels()[std::size_t(labels.geometry().offset(i, j, k))];
                                         a[i - i0] = labelAfterEdit(b[i - i0], segment, true);
                                     }
                                 });
    }
    Interaction what(InteractionKind kind, int segment) const {
        Interaction w;
        w.kind = kind;
        w.segment = segment;
        return w;
    }
};

}  // namespace

TEST(EditHistory, UndoAndRedoPutBackVoxelsCountsAndSessions) {
    History h;
    h.history.record(h.paint(1, 0, 3), h.what(InteractionKind::AiClick, 1), {{ClickMethod::Model, 0, 1}}, {},
                     true);
    ASSERT_EQ(h.stepper.moves.size(), 1u);
    EXPECT_TRUE(h.stepper.moves[0].onPush);  // the session is at step 1 already
    EXPECT_EQ(h.document.voxelCount(1), 4);
    auto entries = h.history.history();
    ASSERT_EQ(entries.size(), 1u);
    EXPECT_EQ(entries[0].changedVoxels, 4);
    EXPECT_EQ(entries[0].segmentVoxels, 4);
    EXPECT_TRUE(entries[0].preview);
    EXPECT_TRUE(h.history.isModified());

    h.history.undoStack().undo();
    EXPECT_EQ(h.document.voxelCount(1), 0);
    EXPECT_EQ(h.stepper.moves.back().step, 0);
    EXPECT_FALSE(h.stepper.moves.back().onPush);  // every later move supersedes results in flight
    EXPECT_EQ(h.history.previewSegment(), 0);     // every click of the preview undone: it ended
    EXPECT_FALSE(h.history.history()[0].applied);

    h.history.undoStack().redo();
    EXPECT_EQ(h.document.voxelCount(1), 4);
    EXPECT_EQ(h.stepper.moves.back().step, 1);
    EXPECT_TRUE(h.stepper.moves.back().forward);
    EXPECT_FALSE(h.stepper.moves.back().onPush);
}

TEST(EditHistory, ThePreviewRunOpensContinuesAndIsDiscardedAtOnce) {
    History h;
    int previewSignals = 0;
    QObject::connect(&h.history, &EditHistory::previewChanged, [&] { ++previewSignals; });
    h.history.record(h.paint(1, 0, 1), h.what(InteractionKind::AiClick, 1), {{ClickMethod::Model, 0, 1}}, {},
                     true);
    h.history.record(h.paint(1, 2, 3), h.what(InteractionKind::AiClick, 1), {{ClickMethod::Model, 1, 2}}, {},
                     true);
    EXPECT_EQ(h.history.previewSegment(), 1);
    EXPECT_EQ(h.history.previewClicks(), 2);
    h.history.discardPreview();
    EXPECT_EQ(h.history.previewSegment(), 0);
    EXPECT_EQ(h.document.voxelCount(1), 0);
    EXPECT_EQ(h.stepper.moves.back().step, 0);  // the model's memory back to where the run started
    EXPECT_EQ(h.history.undoStack().index(), 0);

    // Another interaction accepts the open preview and keeps its voxels.
    h.history.record(h.paint(1, 0, 1), h.what(InteractionKind::AiClick, 1), {{ClickMethod::Model, 0, 1}}, {},
                     true);
    h.history.record(h.paint(2, 5, 6), h.what(InteractionKind::Brush, 2));
    EXPECT_EQ(h.history.previewSegment(), 0);
    EXPECT_EQ(h.document.voxelCount(1), 2);
    EXPECT_EQ(h.document.voxelCount(2), 2);
    const auto entries = h.history.history();
    ASSERT_EQ(entries.size(), 2u);  // the discarded run was dropped by the new entry
    EXPECT_FALSE(entries[0].preview);
    EXPECT_EQ(previewSignals, 4);  // opened, discarded, opened, accepted
}

TEST(EditHistory, ADeletionTakesTheSegmentOutAndUndoPutsItBack) {
    History h;
    h.document.segments().put(SegmentList::defaultFor(3));
    h.history.record(h.paint(3, 0, 7), h.what(InteractionKind::Brush, 3));
    const Segment removed = *h.document.segments().find(3);
    h.history.record(clearSegment(h.document.labels(), 3, h.document.extentOf(3)),
                     h.what(InteractionKind::DeleteSegment, 3), {{ClickMethod::Model, 2, 0}}, removed);
    EXPECT_EQ(h.document.segments().find(3), nullptr);
    EXPECT_EQ(h.document.voxelCount(3), 0);
    EXPECT_EQ(h.history.history().back().segmentVoxels, 0);
    EXPECT_FALSE(h.stepper.moves.back().onPush);  // a deletion moves the sessions on its push too
    EXPECT_EQ(h.stepper.moves.back().step, 0);
    h.history.undoStack().undo();
    ASSERT_NE(h.document.segments().find(3), nullptr);
    EXPECT_EQ(h.document.voxelCount(3), 8);
    EXPECT_EQ(h.stepper.moves.back().step, 2);
}

TEST(EditHistory, RestoredEntriesComeFirstAndCannotBeUndone) {
    History h;
    h.history.record(h.paint(1, 0, 1), h.what(InteractionKind::Brush, 1));
    std::vector<Interaction> earlier(2, h.what(InteractionKind::ThresholdFill, 1));
    h.history.reset(earlier);
    EXPECT_EQ(h.history.undoStack().count(), 0);
    EXPECT_EQ(h.history.restoredCount(), 2);
    EXPECT_FALSE(h.history.isModified());
    h.history.record(h.paint(1, 2, 2), h.what(InteractionKind::Brush, 1));
    const auto entries = h.history.history();
    ASSERT_EQ(entries.size(), 3u);
    EXPECT_TRUE(entries[0].restored);
    EXPECT_TRUE(entries[1].restored);
    EXPECT_FALSE(entries[2].restored);
    EXPECT_EQ(entries[2].segmentVoxels, 3);  // the document kept the two voxels painted before the reset
}
