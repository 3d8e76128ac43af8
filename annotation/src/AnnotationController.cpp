#include <engram/annotation/AnnotationController.h>

#include <QUndoCommand>

namespace engram {

// Labels before and after an edit, on the bounding box of the voxels it changed.
struct LabelDelta {
    std::array<std::int64_t, 3> begin{0, 0, 0}, size{0, 0, 0};
    std::vector<std::uint8_t> before, after;
    std::int64_t changed = 0;

    // Writes `after` (forward) or `before` into the labels and keeps the per-label voxel counts.
    void apply(LabelMap& labels, std::array<std::int64_t, 256>& counts, bool forward) const {
        const auto& src = forward ? after : before;
        const auto& old = forward ? before : after;
        std::size_t v = 0;
        for (std::int64_t k = 0; k < size[2]; ++k)
            for (std::int64_t j = 0; j < size[1]; ++j) {
                std::uint8_t* row =
                    labels.labels().data() + labels.geometry().offset(begin[0], begin[1] + j, begin[2] + k);
                for (std::int64_t i = 0; i < size[0]; ++i, ++v) {
                    row[i] = src[v];
                    if (src[v] != old[v]) {
                        --counts[old[v]];
                        ++counts[src[v]];
                    }
                }
            }
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
        delta_.apply(c_.labels_, c_.counts_, true);
        // On its first redo (the push) the engine is already at stepAfter, possibly with later clicks queued.
        if (!first_) {
            c_.supersede(what_.segment);
            c_.service_.goToStep(what_.segment, stepAfter_);
        }
        first_ = false;
        Q_EMIT c_.labelsChanged(delta_.begin, delta_.size);
    }
    void undo() override {
        delta_.apply(c_.labels_, c_.counts_, false);
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
    counts_ = labels_.histogram();
    extent_.clear();
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
    applyAiResult(r, p.world, p.positive);
}

void AnnotationController::applyAiResult(const AiClickResult& r, const Vec3& world, bool positive) {
    // Where this result can change anything: its positive box, plus the segment's voxels inside its region.
    const auto label = static_cast<std::uint8_t>(r.segment);
    const auto& m = r.mask;
    using Box = std::pair<std::array<std::int64_t, 3>, std::array<std::int64_t, 3>>;  // [lo, hi)
    auto intersect = [](const Box& a, const Box& b) {
        Box c;
        for (int i = 0; i < 3; ++i) {
            c.first[i] = std::max(a.first[i], b.first[i]);
            c.second[i] = std::max(c.first[i], std::min(a.second[i], b.second[i]));
        }
        return c;
    };
    auto unite = [](const Box& a, const Box& b) {
        auto empty = [](const Box& x) {
            return x.first[0] >= x.second[0] || x.first[1] >= x.second[1] || x.first[2] >= x.second[2];
        };
        if (empty(a)) return b;
        if (empty(b)) return a;
        Box c;
        for (int i = 0; i < 3; ++i) {
            c.first[i] = std::min(a.first[i], b.first[i]);
            c.second[i] = std::max(a.second[i], b.second[i]);
        }
        return c;
    };
    const Box region{m.begin, {m.begin[0] + m.size[0], m.begin[1] + m.size[1], m.begin[2] + m.size[2]}};
    const Box positiveBox{
        {m.begin[0] + m.positiveBegin[0], m.begin[1] + m.positiveBegin[1], m.begin[2] + m.positiveBegin[2]},
        {m.begin[0] + m.positiveBegin[0] + m.positiveSize[0],
         m.begin[1] + m.positiveBegin[1] + m.positiveSize[1],
         m.begin[2] + m.positiveBegin[2] + m.positiveSize[2]}};
    const Box existing = extent_.count(label) ? intersect(extent_[label], region) : Box{};
    const Box scan = unite(positiveBox, existing);

    // One pass over the scan box computes the new labels (row pointers, no per-voxel index arithmetic) and
    // the box of voxels that change; a second pass over that box only copies.
    const std::array<std::int64_t, 3> sn{scan.second[0] - scan.first[0], scan.second[1] - scan.first[1],
                                         scan.second[2] - scan.first[2]};
    std::vector<std::uint8_t> after(
        static_cast<std::size_t>(std::max<std::int64_t>(0, sn[0] * sn[1] * sn[2])));
    const auto& g = labels_.geometry();
    const std::uint8_t* lab = labels_.labels().data();
    std::array<std::int64_t, 3> lo{INT64_MAX, INT64_MAX, INT64_MAX}, hi{-1, -1, -1};
    std::size_t w = 0;
    for (std::int64_t k = scan.first[2]; k < scan.second[2]; ++k)
        for (std::int64_t j = scan.first[1]; j < scan.second[1]; ++j) {
            const std::uint8_t* row = lab + g.offset(scan.first[0], j, k);
            const std::uint8_t* mrow =
                m.mask.data() + ((scan.first[0] - m.begin[0]) +
                                 m.size[0] * ((j - m.begin[1]) + m.size[1] * (k - m.begin[2])));
            bool rowChanged = false;
            std::int64_t first = -1, last = -1;
            for (std::int64_t x = 0; x < sn[0]; ++x, ++w) {
                const std::uint8_t old = row[x];
                const std::uint8_t now =
                    mrow[x] ? (old == 0 ? label : old) : (old == label ? std::uint8_t(0) : old);
                after[w] = now;
                if (now != old) {
                    if (first < 0) first = x;
                    last = x;
                    rowChanged = true;
                }
            }
            if (rowChanged) {
                lo = {std::min(lo[0], scan.first[0] + first), std::min(lo[1], j), std::min(lo[2], k)};
                hi = {std::max(hi[0], scan.first[0] + last), std::max(hi[1], j), std::max(hi[2], k)};
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
        std::size_t d = 0;
        for (std::int64_t k = lo[2]; k <= hi[2]; ++k)
            for (std::int64_t j = lo[1]; j <= hi[1]; ++j) {
                const std::uint8_t* before = lab + g.offset(lo[0], j, k);
                const std::uint8_t* now =
                    after.data() +
                    ((lo[0] - scan.first[0]) + sn[0] * ((j - scan.first[1]) + sn[1] * (k - scan.first[2])));
                for (std::int64_t x = 0; x < delta.size[0]; ++x, ++d) {
                    delta.before[d] = before[x];
                    delta.after[d] = now[x];
                    delta.changed += before[x] != now[x];
                    net += (now[x] == label) - (before[x] == label);
                }
            }
        extent_[label] =
            unite(extent_.count(label) ? extent_[label] : Box{}, Box{lo, {hi[0] + 1, hi[1] + 1, hi[2] + 1}});
    }
    Interaction what;
    what.kind = positive ? "AI click +" : "AI click -";
    what.segment = r.segment;
    what.world = world;
    what.changedVoxels = delta.changed;
    what.confidence = r.confidence;
    what.milliseconds = r.milliseconds;
    what.time = QDateTime::currentDateTime();
    what.segmentVoxels = counts_[label] + net;
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
