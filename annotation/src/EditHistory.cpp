#include <engram/annotation/EditHistory.h>

#include <QUndoCommand>

namespace engram {

// One recorded interaction: its edit, and for AI edits (and segment deletion) the segment sessions' steps
// on either side; a deletion also removes the segment's entry (and undo puts it back).
class EditHistory::Command : public QUndoCommand {
  public:
    Command(EditHistory& h, SegmentEdit edit, std::vector<SessionSteps> steps, Interaction what,
            std::optional<Segment> removed)
        : h_(h),
          edit_(std::move(edit)),
          steps_(std::move(steps)),
          what_(std::move(what)),
          removed_(std::move(removed)) {
        setText(QString("%1 (segment %2)").arg(what_.label()).arg(what_.segment));
    }
    void redo() override {
        // On its first redo (the push) an AI click's session is already at `after`.
        move(true, first_ && !removed_);
        first_ = false;
    }
    void undo() override { move(false, false); }
    const Interaction& interaction() const { return what_; }

  private:
    void move(bool forward, bool onPush) {
        h_.document_.apply(edit_, forward);
        if (!steps_.empty()) h_.stepper_.moveSessions(what_.segment, steps_, forward, onPush);
        if (removed_) {
            if (forward)
                h_.document_.segments().remove(removed_->label);
            else
                h_.document_.segments().put(*removed_);
            Q_EMIT h_.segmentsChanged();
        }
        Q_EMIT h_.labelsChanged(edit_.begin, edit_.size);
    }

    EditHistory& h_;
    SegmentEdit edit_;
    std::vector<SessionSteps> steps_;
    Interaction what_;
    std::optional<Segment> removed_;
    bool first_ = true;
};

EditHistory::EditHistory(LabelDocument& document, SessionStepper& stepper, QObject* parent)
    : QObject(parent), document_(document), stepper_(stepper) {
    connect(&undo_, &QUndoStack::indexChanged, this, [this](int index) {
        if (preview_ && index <= preview_->start) endPreview();  // every entry of it undone
    });
    connect(&undo_, &QUndoStack::indexChanged, this, &EditHistory::historyChanged);
}

EditHistory::~EditHistory() {
    undo_.clear();  // the commands refer to this history
}

void EditHistory::record(const SegmentEdit& edit, Interaction what, std::vector<SessionSteps> steps,
                         std::optional<Segment> removed, bool preview) {
    const auto segment = static_cast<std::uint8_t>(what.segment);
    what.changedVoxels = edit.changed();
    what.segmentVoxels = document_.voxelCount(segment) + edit.added - edit.removed;
    what.time = QDateTime::currentDateTime();
    if (preview_ && (!preview || preview_->segment != segment)) acceptPreview();
    const bool opens = preview && !preview_;
    if (opens) preview_ = PreviewRun{segment, undo_.index()};
    undo_.push(new Command(*this, edit, std::move(steps), std::move(what), std::move(removed)));
    if (opens) Q_EMIT previewChanged();
    Q_EMIT edited();
}

void EditHistory::reset(std::vector<Interaction> earlier) {
    endPreview();
    undo_.clear();
    earlier_ = std::move(earlier);
    for (auto& e : earlier_) e.restored = true;
    Q_EMIT historyChanged();
}

void EditHistory::endPreview() {
    if (!preview_) return;
    preview_.reset();
    Q_EMIT previewChanged();
}

void EditHistory::acceptPreview() {
    if (!preview_) return;
    endPreview();
    Q_EMIT historyChanged();  // its entries are no longer marked as preview
}

void EditHistory::discardPreview() {
    if (!preview_) return;
    const int start = preview_->start;
    endPreview();
    undo_.setIndex(start);  // each undo supersedes the segment's clicks still in flight
}

std::vector<Interaction> EditHistory::history() const {
    std::vector<Interaction> out = earlier_;
    for (int i = 0; i < undo_.count(); ++i)
        if (const auto* c = dynamic_cast<const Command*>(undo_.command(i))) {
            out.push_back(c->interaction());
            out.back().applied = i < undo_.index();
            out.back().preview = preview_ && i >= preview_->start && out.back().applied;
        }
    return out;
}

}  // namespace engram
