#pragma once
// The document being annotated and every edit of it, for the window, scripts and tests: one object with the
// API of the editing tools, made of parts that each have their own header. LabelDocument holds the
// labels and segments, LabelEdits computes every edit as a SegmentEdit under the one label policy,
// EditHistory makes each interaction one undoable command (voxels and the model's memory) with the AI
// preview, and AiEditController sends clicks and propagations to the SegmentationService's worker and turns
// their results into history entries. This class owns them and holds the manual tools (brush, eraser,
// threshold fill, segment tools, deleting a segment). Only the GUI thread changes labels.
//
// Label policy (LabelEdits.h): no edit overwrites another segment. For an AI result, inside the result's
// region, voxels in the mask become the segment unless they belong to another segment; voxels of the
// segment outside the mask become background (a later AI click on a segment therefore replaces manual edits
// of it inside its region). A brush paints background voxels, the eraser clears only the segment's own
// voxels. A result is dropped when its segment was undone, redone or reset after the click was sent
// (superseded). The AI preview is EditHistory's.

#include <engram/annotation/AiEditController.h>
#include <engram/annotation/EditHistory.h>
#include <engram/annotation/Interaction.h>
#include <engram/annotation/LabelDocument.h>
#include <engram/annotation/LabelEdits.h>
#include <engram/annotation/SegmentOps.h>
#include <engram/annotation/SegmentationService.h>
#include <engram/annotation/Volume.h>

#include <QObject>
#include <QUndoStack>

#include <functional>
#include <memory>
#include <vector>

namespace engram {

class AnnotationController : public QObject, private SessionStepper {
    Q_OBJECT
  public:
    explicit AnnotationController(SegmentationService& service, QObject* parent = nullptr);

    // A new document: empty labels on the volume's grid, empty history; the worker gets the volume.
    void setVolume(std::shared_ptr<const Volume> volume);
    // Replaces labels, segments and history with saved ones (a session or a recovery file) on the current
    // volume. Throws InputError when the labels are on another grid. Not undoable; the undo stack is cleared.
    void restore(LabelMap labels, SegmentList segments, std::vector<Interaction> earlier);
    std::shared_ptr<const Volume> volumePointer() const { return volume_; }
    const Volume* volume() const { return volume_.get(); }
    const LabelMap& labels() const { return document_.labels(); }
    const SegmentList& segments() const { return document_.segments(); }
    QUndoStack& undoStack() { return history_.undoStack(); }
    std::int64_t voxelCount(std::uint8_t label) const { return document_.voxelCount(label); }
    // True when there are edits since setVolume/restore/markSaved.
    bool isModified() const { return history_.isModified(); }
    void markSaved() { history_.markSaved(); }

    // Segments. Names, colours, visibility and concepts change in place (not undoable); deleting one is an
    // undoable interaction that clears its voxels (and takes its AI memory back to empty).
    std::uint8_t addSegment(const std::string& name);
    void updateSegment(const Segment& segment);  // label must exist
    void deleteSegment(std::uint8_t label);

    // Manual tools. A stroke (press, drags, release) is one interaction. Voxels within `radiusMm` of the
    // centre voxel, in the slice normal to `normalAxis` (or a ball when normalAxis < 0), are painted
    // (background -> segment) or erased (segment -> background). Painting is visible at once
    // (labelsChanged); endStroke() records it.
    void beginStroke(std::uint8_t segment, bool erase, const QString& view);
    void strokeAt(const Index3& centre, double radiusMm, int normalAxis);
    void endStroke();
    bool strokeActive() const { return stroke_.active; }
    // Fills the region connected to `seed` (6-connected in 3D, 4-connected within the slice normal to
    // normalAxis when normalAxis >= 0) of voxels whose value lies in [low, high] and that are background or
    // already the segment. Returns false, with errorOccurred, when the seed is outside the volume or outside
    // the range.
    bool thresholdFill(std::uint8_t segment, const Index3& seed, float low, float high, int normalAxis,
                       const QString& view);

    // Segment tools (SegmentOps.h) as one undoable interaction each, named `kind` in the history:
    // `operation` computes the edit from the labels (it must keep the label policy, as SegmentOps does).
    // Bad input (the operation's std::invalid_argument: an empty segment, a slice outside the volume, ...)
    // is reported through errorOccurred and changes nothing, as does an edit that changes no voxel; both
    // return false. With `preview`, the edit opens the segment's preview like an AI click (Enter accepts,
    // Esc discards).
    bool editSegment(std::uint8_t segment, const QString& kind,
                     const std::function<SegmentEdit(const LabelMap&)>& operation, bool preview = false,
                     const QString& view = {});
    // Fills the segment between the slices normal to `axis` it is drawn on (SliceInterpolation.h), as a
    // preview.
    bool fillBetweenSlices(std::uint8_t segment, int axis, const QString& view = {});

    // Sends a click for `segment` (created with a default name if it does not exist) to the worker: to the
    // model, or to grow from seeds (which needs no model; the other segments' voxels near the segment are
    // its background seeds). Either way the result is an AI preview step, undoable with its session.
    // Returns false, and emits errorOccurred with the reason, when there is no volume or the point is
    // outside it.
    bool aiClick(std::uint8_t segment, const Vec3& world, bool positive, const QString& view = {},
                 ClickMethod method = ClickMethod::Model) {
        return ai_.click(segment, world, positive, view, method);
    }
    int pendingClicks() const { return ai_.pendingClicks(); }
    // Writes an AI result into the labels as one undoable command (what a finished click does; public for
    // benchmarks and tests).
    void applyAiResult(const AiClickResult& result, const Vec3& world, bool positive,
                       const QString& view = {}) {
        ai_.applyResult(result, world, positive, view);
    }
    // Propagates the segment's voxels on slice `slice` along `axis` (0 sagittal, 1 coronal, 2 axial) through
    // the volume with the worker's propagation model, up (forward), down (backward) or both. Returns false,
    // with errorOccurred, when there is no volume, the slice is outside it or the segment has no voxels on
    // it. The result, the slices it reached, becomes one undoable interaction (label policy as for AI clicks
    // over that slab). propagationProgress reports each slice; SegmentationService::cancel() stops it.
    bool propagate(std::uint8_t segment, int axis, std::int64_t slice, bool forward = true,
                   bool backward = true, const QString& view = {}) {
        return ai_.propagate(segment, axis, slice, forward, backward, view);
    }
    bool propagationRunning() const { return ai_.propagationRunning(); }
    // The AI preview (EditHistory.h): the segment whose preview is open (0: none), how many applied clicks
    // it has; accepting it keeps its voxels, discarding it undoes every click of it (voxels and memory).
    std::uint8_t previewSegment() const { return history_.previewSegment(); }
    int previewClicks() const { return history_.previewClicks(); }
    void acceptPreview() { history_.acceptPreview(); }
    void discardPreview() { history_.discardPreview(); }
    // Restored interactions first, then the undo stack's (undone ones with applied = false).
    std::vector<Interaction> history() const { return history_.history(); }
    // Index in history() of the first undo-stack entry; QUndoStack::setIndex(i - this) shows entry i's state.
    int restoredCount() const { return history_.restoredCount(); }

  Q_SIGNALS:
    void labelsChanged(const std::array<std::int64_t, 3>& begin, const std::array<std::int64_t, 3>& size);
    void errorOccurred(const QString& message);
    void noticeOccurred(const QString& message);
    void historyChanged();
    void segmentsChanged();
    void edited();  // an interaction was recorded (autosave counts these)
    void busyChanged(bool busy);
    void propagationProgress(int done, int total);
    void propagationFinished(bool applied);
    void previewChanged();

  private:
    // SessionStepper, for the history's commands: the AI side moves the sessions.
    void moveSessions(int segment, const std::vector<SessionSteps>& steps, bool forward,
                      bool onPush) override {
        ai_.moveSessions(segment, steps, forward, onPush);
    }
    // Records voxels a manual tool already changed (their earlier values in `changes`) as one interaction.
    void commitManualEdit(const VoxelChanges& changes, Interaction what);

    struct Stroke {
        bool active = false, erase = false;
        std::uint8_t segment = 0;
        QString view;
        Vec3 world{0, 0, 0};
        VoxelChanges changes;  // each voxel's label before the stroke
    };
    std::shared_ptr<const Volume> volume_;
    LabelDocument document_;
    EditHistory history_;
    AiEditController ai_;
    Stroke stroke_;
};

}  // namespace engram
