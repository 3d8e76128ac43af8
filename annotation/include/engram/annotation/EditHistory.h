#pragma once
// The interaction history of a LabelDocument: every edit becomes one command on a QUndoStack that stores
// only the edit (SegmentEdit: the box of the voxels it changed, their labels before and after) and, for AI
// edits and a segment's deletion, the segment's AI sessions' steps on either side, so that undo and redo put
// back the voxels AND the model's memory (through SessionStepper, which the AI side implements). The undo
// stack is the history; interactions restored from a saved session are listed before it (they cannot be
// undone).
//
// AI preview: the results of consecutive AI clicks on one segment (and of a segment tool that asks for it)
// stay a preview until the user accepts them. Each click is still its own undoable interaction; the preview
// is the run of them since the first one after the last acceptance, which the views draw in a preview style
// and which can be discarded at once (every entry of it undone, the model's memory back to where it
// started). Any other interaction, an entry for another segment, and saving or exporting (the window calls
// acceptPreview) accept it; undoing every entry of the run ends it.

#include <engram/annotation/Interaction.h>
#include <engram/annotation/LabelDocument.h>
#include <engram/annotation/SegmentationService.h>

#include <QObject>
#include <QUndoStack>

#include <optional>
#include <vector>

namespace engram {

// The steps of one of a segment's AI sessions (one per click method) on either side of an interaction.
struct SessionSteps {
    ClickMethod method = ClickMethod::Model;
    int before = 0, after = 0;
};

// What the history needs of the AI side: to put a segment's sessions at their steps before (undo) or after
// (redo) an interaction. `onPush` is the recording of an AI click, whose session is there already (and may
// have later clicks queued); every other move supersedes the segment's results still in flight.
class SessionStepper {
  public:
    virtual ~SessionStepper() = default;
    virtual void moveSessions(int segment, const std::vector<SessionSteps>& steps, bool forward,
                              bool onPush) = 0;
};

class EditHistory : public QObject {
    Q_OBJECT
  public:
    EditHistory(LabelDocument& document, SessionStepper& stepper, QObject* parent = nullptr);
    ~EditHistory() override;

    // Applies `edit` to the document as one undoable interaction `what` (its changed and segment voxel
    // counts and time are filled in here). `steps`: the segment's sessions on either side (AI clicks,
    // deletion). `removed`: the segment a deletion takes out of the list (undo puts it back). `preview`: the
    // entry continues the segment's preview, or opens one; any other entry accepts the open preview first.
    void record(const SegmentEdit& edit, Interaction what, std::vector<SessionSteps> steps = {},
                std::optional<Segment> removed = {}, bool preview = false);
    // Empties the stack (not undoable) and lists `earlier` (restored from a session) before it.
    void reset(std::vector<Interaction> earlier = {});

    QUndoStack& undoStack() { return undo_; }
    // True when there are edits since reset/markSaved.
    bool isModified() const { return !undo_.isClean(); }
    void markSaved() { undo_.setClean(); }

    // The segment whose preview is open (0: none), and how many applied entries it has.
    std::uint8_t previewSegment() const { return preview_ ? preview_->segment : 0; }
    int previewClicks() const { return preview_ ? undo_.index() - preview_->start : 0; }
    // Ends the open preview, keeping its voxels (nothing to undo: they are in the labels already).
    void acceptPreview();
    // Undoes every entry of the open preview (voxels and memory); redo can bring them back, accepted.
    void discardPreview();

    // Restored interactions first, then the undo stack's (undone ones with applied = false).
    std::vector<Interaction> history() const;
    // Index in history() of the first undo-stack entry; QUndoStack::setIndex(i - this) shows entry i's state.
    int restoredCount() const { return static_cast<int>(earlier_.size()); }

  Q_SIGNALS:
    void labelsChanged(const std::array<std::int64_t, 3>& begin, const std::array<std::int64_t, 3>& size);
    void segmentsChanged();
    void historyChanged();
    void previewChanged();
    void edited();  // an interaction was recorded (autosave counts these)

  private:
    class Command;
    void endPreview();  // forgets the preview without touching labels or history

    LabelDocument& document_;
    SessionStepper& stepper_;
    QUndoStack undo_;
    std::vector<Interaction> earlier_;
    struct PreviewRun {
        std::uint8_t segment;
        int start;  // undo stack index before its first entry
    };
    std::optional<PreviewRun> preview_;
};

}  // namespace engram
