#pragma once
// The AI side of editing a LabelDocument: clicks sent to the SegmentationService's worker (to the model or
// to grow from seeds), propagation of a slice through the volume, and each segment's AI sessions (one per
// click method), whose steps the history's commands move on undo and redo (moveSessions). A result comes
// back on the GUI thread and becomes one EditHistory entry: a click is a preview step for its segment with
// its session's steps before and after, a propagation an ordinary entry. A result is dropped when its
// segment was undone, redone, reset or deleted after it was sent (each segment has an epoch that every such
// move advances: the result is superseded), or when the volume changed.

#include <engram/annotation/EditHistory.h>
#include <engram/annotation/LabelDocument.h>
#include <engram/annotation/SegmentationService.h>
#include <engram/annotation/Volume.h>

#include <QObject>

#include <map>
#include <memory>
#include <optional>

namespace engram {

class AiEditController : public QObject {
    Q_OBJECT
  public:
    AiEditController(SegmentationService& service, LabelDocument& document, EditHistory& history,
                     QObject* parent = nullptr);

    // A new document: pending clicks and propagation dropped, sessions forgotten; the worker gets the volume.
    void setVolume(std::shared_ptr<const Volume> volume);
    // The labels were replaced (a restored session): every segment's sessions back to empty, pending
    // clicks dropped.
    void resetSessions();

    // AnnotationController::aiClick, applyAiResult and propagate (the contracts are there).
    bool click(std::uint8_t segment, const Vec3& world, bool positive, const QString& view,
               ClickMethod method);
    void applyResult(const AiClickResult& result, const Vec3& world, bool positive, const QString& view);
    bool propagate(std::uint8_t segment, int axis, std::int64_t slice, bool forward, bool backward,
                   const QString& view);
    int pendingClicks() const { return static_cast<int>(pending_.size()); }
    bool propagationRunning() const { return propagation_.has_value(); }

    // The steps that take every session of `segment` back to empty (its deletion; undo brings them back).
    std::vector<SessionSteps> stepsToEmpty(std::uint8_t segment) const;
    // SessionStepper for the history's commands.
    void moveSessions(int segment, const std::vector<SessionSteps>& steps, bool forward, bool onPush);

  Q_SIGNALS:
    void errorOccurred(const QString& message);
    void noticeOccurred(const QString& message);
    void segmentsChanged();  // a click created its segment
    void busyChanged(bool busy);
    void propagationProgress(int done, int total);
    void propagationFinished(bool applied);

  private:
    void onClickDone(const AiClickResult& result);
    void onPropagationDone(const PropagationDone& result);
    void supersede(int segment) { ++epoch_[segment]; }
    // Other segments' voxels where a grow-from-seeds click on `segment` at `voxel` can reach, or null.
    std::shared_ptr<const model::RegionMask> competitorsOf(std::uint8_t segment, const Index3& voxel) const;

    SegmentationService& service_;
    LabelDocument& document_;
    EditHistory& history_;
    std::shared_ptr<const Volume> volume_;
    struct Pending {
        int segment;
        quint64 epoch;
        Vec3 world;
        bool positive;
        QString view;
    };
    std::map<quint64, Pending> pending_;
    std::map<int, quint64> epoch_;
    // Each (segment, method) session's step, as the commands left it.
    std::map<std::pair<int, ClickMethod>, int> engineStep_;
    struct PendingPropagation {
        quint64 id;
        int segment;
        quint64 epoch;
        QString view;
        Vec3 world;
    };
    std::optional<PendingPropagation> propagation_;
};

}  // namespace engram
