#include <engram/annotation/AnnotationController.h>

#include <QUndoCommand>

namespace engram {

// Labels before and after an edit, on the bounding box of the voxels it changed.
struct LabelDelta {
    std::array<std::int64_t, 3> begin{0, 0, 0}, size{0, 0, 0};
    std::vector<std::uint8_t> before, after;
    std::int64_t changed = 0;

    void apply(LabelMap& labels, bool forward) const {
        const auto& src = forward ? after : before;
        std::size_t v = 0;
        for (std::int64_t k = 0; k < size[2]; ++k)
            for (std::int64_t j = 0; j < size[1]; ++j)
                for (std::int64_t i = 0; i < size[0]; ++i, ++v)
                    labels.set(begin[0] + i, begin[1] + j, begin[2] + k, src[v]);
    }
};

class AiClickCommand : public QUndoCommand {
  public:
    AiClickCommand(AnnotationController& c, LabelDelta delta, int stepBefore, int stepAfter, Interaction what)
        : c_(c),
          delta_(std::move(delta)),
          stepBefore_(stepBefore),
          stepAfter_(stepAfter),
          what_(std::move(what)) {
        setText(QString("%1 (segment %2)").arg(what_.kind).arg(what_.segment));
    }
    void redo() override {
        delta_.apply(c_.labels_, true);
        // On its first redo (the push) the engine is already at stepAfter, possibly with later clicks queued.
        if (!first_) {
            c_.supersede(what_.segment);
            c_.service_.goToStep(what_.segment, stepAfter_);
        }
        first_ = false;
        Q_EMIT c_.labelsChanged(delta_.begin, delta_.size);
    }
    void undo() override {
        delta_.apply(c_.labels_, false);
        c_.supersede(what_.segment);
        c_.service_.goToStep(what_.segment, stepBefore_);
        Q_EMIT c_.labelsChanged(delta_.begin, delta_.size);
    }
    const Interaction& interaction() const { return what_; }

  private:
    AnnotationController& c_;
    LabelDelta delta_;
    int stepBefore_, stepAfter_;
    Interaction what_;
    bool first_ = true;
};

AnnotationController::AnnotationController(SegmentationService& service, QObject* parent)
    : QObject(parent), service_(service) {
    connect(&service_, &SegmentationService::clickDone, this, &AnnotationController::onClickDone);
    connect(&service_, &SegmentationService::clickFailed, this, &AnnotationController::onClickFailed);
    connect(&service_, &SegmentationService::busyChanged, this, &AnnotationController::busyChanged);
    connect(&undo_, &QUndoStack::indexChanged, this, &AnnotationController::historyChanged);
}

AnnotationController::~AnnotationController() {
    undo_.clear();  // commands refer to this controller
}

void AnnotationController::setVolume(std::shared_ptr<const Volume> volume) {
    undo_.clear();
    pending_.clear();
    for (auto& [segment, epoch] : epoch_) ++epoch;
    volume_ = std::move(volume);
    labels_ = LabelMap(volume_->geometry());
    segments_ = SegmentList();
    service_.setVolume(volume_);
    Q_EMIT historyChanged();
}

bool AnnotationController::aiClick(std::uint8_t segment, const Vec3& world, bool positive) {
    if (!volume_) {
        Q_EMIT errorOccurred(tr("Open a volume before segmenting."));
        return false;
    }
    if (segment == 0) {
        Q_EMIT errorOccurred(tr("Choose a segment to click for."));
        return false;
    }
    const Vec3 idx = volume_->geometry().worldToIndex(world);
    for (int a = 0; a < 3; ++a)
        if (!(idx[a] >= -0.5 && idx[a] < double(volume_->geometry().size[a]) - 0.5)) {
            Q_EMIT errorOccurred(tr("The click lies outside the volume."));
            return false;
        }
    if (!segments_.find(segment)) segments_.put(SegmentList::defaultFor(segment));
    const quint64 id = service_.click(segment, world, positive);
    pending_[id] = {segment, epoch_[segment], world, positive};
    return true;
}

void AnnotationController::onClickDone(const AiClickResult& r) {
    const auto it = pending_.find(r.id);
    if (it == pending_.end()) return;
    const Pending p = it->second;
    pending_.erase(it);
    if (p.epoch != epoch_[p.segment]) return;  // superseded by an undo/redo/reset of this segment
    if (!r.notice.isEmpty()) Q_EMIT noticeOccurred(r.notice);

    // New labels inside the result's region, and the box of what changes.
    const auto label = static_cast<std::uint8_t>(r.segment);
    const auto& m = r.mask;
    std::array<std::int64_t, 3> lo{INT64_MAX, INT64_MAX, INT64_MAX}, hi{-1, -1, -1};
    std::size_t v = 0;
    for (std::int64_t k = 0; k < m.size[2]; ++k)
        for (std::int64_t j = 0; j < m.size[1]; ++j)
            for (std::int64_t i = 0; i < m.size[0]; ++i, ++v) {
                const std::array<std::int64_t, 3> x{m.begin[0] + i, m.begin[1] + j, m.begin[2] + k};
                const std::uint8_t old = labels_.at(x[0], x[1], x[2]);
                const std::uint8_t now = m.mask[v] ? (old == 0 ? label : old) : (old == label ? 0 : old);
                if (now == old) continue;
                for (int a = 0; a < 3; ++a) {
                    lo[a] = std::min(lo[a], x[a]);
                    hi[a] = std::max(hi[a], x[a]);
                }
            }
    LabelDelta delta;
    std::int64_t net = 0;  // change of the segment's voxel count
    if (hi[0] >= 0) {
        for (int a = 0; a < 3; ++a) {
            delta.begin[a] = lo[a];
            delta.size[a] = hi[a] - lo[a] + 1;
        }
        const auto n = static_cast<std::size_t>(delta.size[0] * delta.size[1] * delta.size[2]);
        delta.before.resize(n);
        delta.after.resize(n);
        std::size_t w = 0;
        for (std::int64_t k = lo[2]; k <= hi[2]; ++k)
            for (std::int64_t j = lo[1]; j <= hi[1]; ++j)
                for (std::int64_t i = lo[0]; i <= hi[0]; ++i, ++w) {
                    const std::uint8_t old = labels_.at(i, j, k);
                    std::uint8_t now = old;
                    const std::int64_t mi = i - m.begin[0], mj = j - m.begin[1], mk = k - m.begin[2];
                    if (mi >= 0 && mj >= 0 && mk >= 0 && mi < m.size[0] && mj < m.size[1] && mk < m.size[2]) {
                        const bool in =
                            m.mask[static_cast<std::size_t>(mi + m.size[0] * (mj + m.size[1] * mk))];
                        now = in ? (old == 0 ? label : old) : (old == label ? 0 : old);
                    }
                    delta.before[w] = old;
                    delta.after[w] = now;
                    delta.changed += now != old;
                    net += (now == label) - (old == label);
                }
    }
    Interaction what;
    what.kind = p.positive ? "AI click +" : "AI click -";
    what.segment = r.segment;
    what.world = p.world;
    what.changedVoxels = delta.changed;
    what.confidence = r.confidence;
    what.milliseconds = r.milliseconds;
    what.time = QDateTime::currentDateTime();
    what.segmentVoxels = labels_.histogram()[label] + net;
    undo_.push(new AiClickCommand(*this, std::move(delta), r.stepBefore, r.stepAfter, what));
}

void AnnotationController::onClickFailed(quint64 id, int segment, const QString& message, bool cancelled) {
    pending_.erase(id);
    if (!cancelled) Q_EMIT errorOccurred(message);
}

std::vector<Interaction> AnnotationController::history() const {
    std::vector<Interaction> out;
    for (int i = 0; i < undo_.count(); ++i)
        if (const auto* c = dynamic_cast<const AiClickCommand*>(undo_.command(i))) {
            out.push_back(c->interaction());
            out.back().applied = i < undo_.index();
        }
    return out;
}

}  // namespace engram
