#pragma once
// Turns AI clicks into undoable edits of the label map. Only the GUI thread changes labels: the worker
// returns a mask and its region, and the controller writes it as a command on a QUndoStack. Each command
// stores only the bounding box of the voxels it changed (their labels before and after) and the segment
// session's engine steps before and after, so undo and redo put back the voxels AND the model's memory. The
// undo stack is the interaction history.
//
// Label policy for an AI result: inside the result's region, voxels in the mask become the segment unless
// they belong to another segment (other segments are never overwritten); voxels of the segment outside the
// mask become background. A result is dropped when its segment was undone, redone or reset after the click
// was sent (superseded).

#include <engram/annotation/LabelMap.h>
#include <engram/annotation/Segment.h>
#include <engram/annotation/SegmentationWorker.h>
#include <engram/annotation/Volume.h>

#include <QDateTime>
#include <QObject>
#include <QUndoStack>

#include <map>
#include <memory>
#include <vector>

namespace engram {

struct Interaction {
    QString kind;  // "AI click +", "AI click -"
    int segment = 0;
    Vec3 world{0, 0, 0};
    std::int64_t changedVoxels = 0;
    std::int64_t segmentVoxels = 0;  // the segment's size after the interaction
    float confidence = 0;
    double milliseconds = 0;
    QDateTime time;
    bool applied = true;  // false for undone entries (redo can bring them back)
};

class AnnotationController : public QObject {
    Q_OBJECT
  public:
    explicit AnnotationController(SegmentationService& service, QObject* parent = nullptr);
    ~AnnotationController() override;

    // A new document: empty labels on the volume's grid, empty history; the worker gets the volume.
    void setVolume(std::shared_ptr<const Volume> volume);
    const Volume* volume() const { return volume_.get(); }
    LabelMap& labels() { return labels_; }
    SegmentList& segments() { return segments_; }
    QUndoStack& undoStack() { return undo_; }
    std::int64_t voxelCount(std::uint8_t label) const { return counts_[label]; }

    // Sends an AI click for `segment` (created with a default name if it does not exist). Returns false, and
    // emits errorOccurred with the reason, when there is no volume or the point is outside it.
    bool aiClick(std::uint8_t segment, const Vec3& world, bool positive);
    int pendingClicks() const { return static_cast<int>(pending_.size()); }
    // Writes an AI result into the labels as one undoable command (what a finished click does; public for
    // benchmarks and tests).
    void applyAiResult(const AiClickResult& result, const Vec3& world, bool positive);
    std::vector<Interaction> history() const;

  Q_SIGNALS:
    void labelsChanged(const std::array<std::int64_t, 3>& begin, const std::array<std::int64_t, 3>& size);
    void errorOccurred(const QString& message);
    void noticeOccurred(const QString& message);
    void historyChanged();
    void busyChanged(bool busy);

  private:
    friend class AiClickCommand;
    void onClickDone(const AiClickResult& result);
    void onClickFailed(quint64 id, int segment, const QString& message, bool cancelled);
    void supersede(int segment) { ++epoch_[segment]; }

    struct Pending {
        int segment;
        quint64 epoch;
        Vec3 world;
        bool positive;
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
};

}  // namespace engram
