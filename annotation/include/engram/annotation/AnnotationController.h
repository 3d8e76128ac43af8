#pragma once
// The document being annotated and every edit of it. Only the GUI thread changes labels: the AI worker
// returns a mask and its region, manual tools (brush, eraser, threshold fill) edit voxels directly, and each
// interaction becomes one command on a QUndoStack. A command stores only the bounding box of the voxels it
// changed (their labels before and after) and, for AI edits, the segment session's engine steps before and
// after, so undo and redo put back the voxels AND the model's memory. The undo stack is the interaction
// history; interactions restored from a saved session are listed before it (they cannot be undone).
//
// Label policy: no edit overwrites another segment. For an AI result, inside the result's region, voxels in
// the mask become the segment unless they belong to another segment; voxels of the segment outside the mask
// become background (a later AI click on a segment therefore replaces manual edits of it inside its region).
// A brush paints background voxels, the eraser clears only the segment's own voxels. A result is dropped when
// its segment was undone, redone or reset after the click was sent (superseded).
//
// AI preview: the results of consecutive AI clicks on one segment stay a preview until the user accepts
// them. Each click is still its own undoable interaction (voxels and memory); the preview is the run of
// clicks since the first one after the last acceptance, which the views draw in a preview style and which
// can be discarded at once (every click of it undone, the model's memory back to where it started). Any
// other interaction, a click for another segment and saving or exporting (the window calls acceptPreview)
// accept it; undoing every click of the run ends it.

#include <engram/annotation/Interaction.h>
#include <engram/annotation/LabelEdits.h>
#include <engram/annotation/LabelMap.h>
#include <engram/annotation/Segment.h>
#include <engram/annotation/SegmentOps.h>
#include <engram/annotation/SegmentationService.h>
#include <engram/annotation/Volume.h>

#include <QObject>
#include <QUndoStack>

#include <functional>

#include <map>
#include <memory>
#include <optional>
#include <unordered_map>
#include <vector>

namespace engram {

class EditCommand;

class AnnotationController : public QObject {
    Q_OBJECT
  public:
    explicit AnnotationController(SegmentationService& service, QObject* parent = nullptr);
    ~AnnotationController() override;

    // A new document: empty labels on the volume's grid, empty history; the worker gets the volume.
    void setVolume(std::shared_ptr<const Volume> volume);
    // Replaces labels, segments and history with saved ones (a session or a recovery file) on the current
    // volume. Throws InputError when the labels are on another grid. Not undoable; the undo stack is cleared.
    void restore(LabelMap labels, SegmentList segments, std::vector<Interaction> earlier);
    std::shared_ptr<const Volume> volumePointer() const { return volume_; }
    const Volume* volume() const { return volume_.get(); }
    const LabelMap& labels() const { return labels_; }
    const SegmentList& segments() const { return segments_; }
    QUndoStack& undoStack() { return undo_; }
    std::int64_t voxelCount(std::uint8_t label) const { return counts_[label]; }
    // True when there are edits since setVolume/restore/markSaved.
    bool isModified() const { return !undo_.isClean(); }
    void markSaved() { undo_.setClean(); }

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
                 ClickMethod method = ClickMethod::Model);
    int pendingClicks() const { return static_cast<int>(pending_.size()); }
    // Writes an AI result into the labels as one undoable command (what a finished click does; public for
    // benchmarks and tests).
    void applyAiResult(const AiClickResult& result, const Vec3& world, bool positive,
                       const QString& view = {});
    // Propagates the segment's voxels on slice `slice` along `axis` (0 sagittal, 1 coronal, 2 axial) through
    // the volume with the worker's propagation model, up (forward), down (backward) or both. Returns false,
    // with errorOccurred, when there is no volume, the slice is outside it or the segment has no voxels on
    // it. The result, the slices it reached, becomes one undoable interaction (label policy as for AI clicks
    // over that slab). propagationProgress reports each slice; SegmentationService::cancel() stops it.
    bool propagate(std::uint8_t segment, int axis, std::int64_t slice, bool forward = true,
                   bool backward = true, const QString& view = {});
    bool propagationRunning() const { return propagation_.has_value(); }
    // The segment whose AI preview is open (0: none), and how many applied clicks it has.
    std::uint8_t previewSegment() const { return preview_ ? preview_->segment : 0; }
    int previewClicks() const { return preview_ ? undo_.index() - preview_->start : 0; }
    // Ends the open preview, keeping its voxels (nothing to undo: they are in the labels already).
    void acceptPreview();
    // Undoes every click of the open preview (voxels and memory); redo can bring them back, accepted.
    void discardPreview();
    // Restored interactions first, then the undo stack's (undone ones with applied = false).
    std::vector<Interaction> history() const;
    // Index in history() of the first undo-stack entry; QUndoStack::setIndex(i - this) shows entry i's state.
    int restoredCount() const { return static_cast<int>(earlier_.size()); }

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
    friend class EditCommand;
    void onClickDone(const AiClickResult& result);
    void onClickFailed(quint64 id, int segment, const QString& message, bool cancelled);
    void onPropagationDone(const PropagationDone& result);
    // Writes `mask` over its region for `what.segment` (label policy above) as one undoable command;
    // The steps of one segment session (a click method's) on either side of an interaction.
    struct SessionSteps {
        ClickMethod method = ClickMethod::Model;
        int before = 0, after = 0;
    };
    // `steps` for AI clicks.
    void applyRegion(const model::RegionMask& mask, Interaction what, std::optional<SessionSteps> steps);
    // Other segments' voxels where a grow-from-seeds click on `segment` at `voxel` can reach, or null.
    std::shared_ptr<const model::RegionMask> competitorsOf(std::uint8_t segment, const Index3& voxel) const;
    void supersede(int segment) { ++epoch_[segment]; }
    // Pushes one interaction and tells autosave (edited). An AI click (`aiClickOf`: its segment) continues
    // that segment's preview or opens one; any other interaction accepts the open preview.
    void record(EditCommand* command, std::uint8_t aiClickOf = 0);
    // Records voxels already changed in the labels (their earlier values in `before`) as one interaction.
    void commitManualEdit(const VoxelChanges& changes, Interaction what);
    void growExtent(std::uint8_t label, const Index3& lo, const Index3& hiInclusive);

    struct Pending {
        int segment;
        quint64 epoch;
        Vec3 world;
        bool positive;
        QString view;
    };
    struct Stroke {
        bool active = false, erase = false;
        std::uint8_t segment = 0;
        QString view;
        Vec3 world{0, 0, 0};
        VoxelChanges changes;  // each voxel's label before the stroke
    };
    SegmentationService& service_;
    std::shared_ptr<const Volume> volume_;
    LabelMap labels_;
    SegmentList segments_;
    QUndoStack undo_;
    std::map<quint64, Pending> pending_;
    std::map<int, quint64> epoch_;
    // Per label, a box that contains every voxel of it (grown by edits, never shrunk): an AI result only has
    // to look at its positive box and at this box, not at its whole region.
    std::map<int, std::pair<std::array<std::int64_t, 3>, std::array<std::int64_t, 3>>> extent_;
    std::array<std::int64_t, 256> counts_{};  // voxels per label value, kept by every edit
    // Each (segment, method) session's step, as the commands left it.
    std::map<std::pair<int, ClickMethod>, int> engineStep_;
    std::vector<Interaction> earlier_;
    Stroke stroke_;
    struct PendingPropagation {
        quint64 id;
        int segment;
        quint64 epoch;
        QString view;
        Vec3 world;
    };
    std::optional<PendingPropagation> propagation_;
    struct PreviewRun {
        std::uint8_t segment;
        int start;  // undo stack index before its first click
    };
    std::optional<PreviewRun> preview_;
    void endPreview();  // forgets the preview without touching labels or history
};

}  // namespace engram
