#include <engram/annotation/AnnotationController.h>

#include <engram/annotation/Errors.h>
#include <engram/annotation/SliceInterpolation.h>

#include <QUndoCommand>

#include <algorithm>
#include <deque>
#include <optional>

namespace engram {

// Labels before and after an edit, on the bounding box of the voxels it changed.
struct LabelDelta {
    std::array<std::int64_t, 3> begin{0, 0, 0}, size{0, 0, 0};
    std::vector<std::uint8_t> before, after;
    std::int64_t changed = 0;
    std::int64_t segmentGain = 0;  // change of the edited segment's voxel count

    // The delta over the box [lo, hi] (inclusive) for an edit of `segment`. fillRow(j, k, before, after)
    // writes the box's row (j, k): size[0] labels before and after the edit.
    template <typename FillRow>
    static LabelDelta over(const Index3& lo, const Index3& hi, std::uint8_t segment, FillRow fillRow) {
        LabelDelta d;
        d.begin = lo;
        for (int a = 0; a < 3; ++a) d.size[a] = hi[a] - lo[a] + 1;
        const auto n = static_cast<std::size_t>(d.size[0] * d.size[1] * d.size[2]);
        d.before.resize(n);
        d.after.resize(n);
        std::size_t at = 0;
        for (std::int64_t k = lo[2]; k <= hi[2]; ++k)
            for (std::int64_t j = lo[1]; j <= hi[1]; ++j, at += std::size_t(d.size[0])) {
                std::uint8_t* b = d.before.data() + at;
                std::uint8_t* a = d.after.data() + at;
                fillRow(j, k, b, a);
                for (std::int64_t x = 0; x < d.size[0]; ++x) {
                    d.changed += b[x] != a[x];
                    d.segmentGain += (a[x] == segment) - (b[x] == segment);
                }
            }
        return d;
    }

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

// One recorded interaction: a label delta, and for AI edits (and segment deletion) the segment sessions'
// steps on either side; deletion also removes the segment's entry (and undo puts it back).
class EditCommand : public QUndoCommand {
  public:
    using Steps = AnnotationController::SessionSteps;
    EditCommand(AnnotationController& c, LabelDelta delta, std::vector<Steps> steps, Interaction what,
                std::optional<Segment> removed = {})
        : c_(c),
          delta_(std::move(delta)),
          steps_(std::move(steps)),
          what_(std::move(what)),
          removed_(std::move(removed)) {
        setText(QString("%1 (segment %2)").arg(what_.label()).arg(what_.segment));
    }
    void redo() override {
        delta_.apply(c_.labels_, c_.counts_, true);
        // On its first redo (the push) an AI click's session is already at `after`, possibly with later
        // clicks queued; every other move of a session supersedes results in flight.
        moveSessions(first_ && !removed_, true);
        if (removed_) {
            c_.segments_.remove(removed_->label);
            Q_EMIT c_.segmentsChanged();
        }
        first_ = false;
        Q_EMIT c_.labelsChanged(delta_.begin, delta_.size);
    }
    void undo() override {
        delta_.apply(c_.labels_, c_.counts_, false);
        moveSessions(false, false);
        if (removed_) {
            c_.segments_.put(*removed_);
            Q_EMIT c_.segmentsChanged();
        }
        Q_EMIT c_.labelsChanged(delta_.begin, delta_.size);
    }
    const Interaction& interaction() const { return what_; }

  private:
    void moveSessions(bool alreadyThere, bool forward) {
        if (steps_.empty()) return;
        if (!alreadyThere) c_.supersede(what_.segment);
        for (const auto& s : steps_) {
            const int step = forward ? s.after : s.before;
            if (!alreadyThere) c_.service_.goToStep(what_.segment, s.method, step);
            c_.engineStep_[{what_.segment, s.method}] = step;
        }
    }

    AnnotationController& c_;
    LabelDelta delta_;
    std::vector<Steps> steps_;
    Interaction what_;
    std::optional<Segment> removed_;
    bool first_ = true;
};

AnnotationController::AnnotationController(SegmentationService& service, QObject* parent)
    : QObject(parent), service_(service) {
    connect(&service_, &SegmentationService::clickDone, this, &AnnotationController::onClickDone);
    connect(&service_, &SegmentationService::clickFailed, this, &AnnotationController::onClickFailed);
    connect(&service_, &SegmentationService::busyChanged, this, &AnnotationController::busyChanged);
    connect(&service_, &SegmentationService::propagationDone, this, &AnnotationController::onPropagationDone);
    connect(&service_, &SegmentationService::propagationProgress, this,
            [this](quint64 id, int done, int total) {
                if (propagation_ && propagation_->id == id) Q_EMIT propagationProgress(done, total);
            });
    connect(&service_, &SegmentationService::propagationFailed, this,
            [this](quint64 id, int, const QString& message, bool cancelled) {
                if (!propagation_ || propagation_->id != id) return;
                propagation_.reset();
                if (!cancelled) Q_EMIT errorOccurred(message);
                Q_EMIT propagationFinished(false);
            });
    connect(&undo_, &QUndoStack::indexChanged, this, [this](int index) {
        if (preview_ && index <= preview_->start) endPreview();  // every click of it undone
    });
    connect(&undo_, &QUndoStack::indexChanged, this, &AnnotationController::historyChanged);
}

AnnotationController::~AnnotationController() {
    undo_.clear();  // commands refer to this controller
}

void AnnotationController::setVolume(std::shared_ptr<const Volume> volume) {
    endPreview();
    undo_.clear();
    pending_.clear();
    if (propagation_) service_.cancel();  // its result would belong to the old volume
    propagation_.reset();
    for (auto& [segment, epoch] : epoch_) ++epoch;
    volume_ = std::move(volume);
    labels_ = LabelMap(volume_->geometry());
    counts_ = labels_.histogram();
    extent_.clear();
    segments_ = SegmentList();
    engineStep_.clear();
    earlier_.clear();
    stroke_ = Stroke{};
    service_.setVolume(volume_);
    Q_EMIT segmentsChanged();
    Q_EMIT historyChanged();
}

bool AnnotationController::aiClick(std::uint8_t segment, const Vec3& world, bool positive,
                                   const QString& view, ClickMethod method) {
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
    if (!segments_.find(segment)) {
        segments_.put(SegmentList::defaultFor(segment));
        Q_EMIT segmentsChanged();
    }
    std::shared_ptr<const model::RegionMask> competitors;
    if (method == ClickMethod::GrowFromSeeds)
        competitors =
            competitorsOf(segment, {std::llround(idx[0]), std::llround(idx[1]), std::llround(idx[2])});
    const quint64 id = service_.click(segment, world, positive, method, std::move(competitors));
    pending_[id] = {segment, epoch_[segment], world, positive, view};
    return true;
}

std::shared_ptr<const model::RegionMask> AnnotationController::competitorsOf(std::uint8_t segment,
                                                                             const Index3& voxel) const {
    // The grower's region lies within its positive clicks' box widened by 1.5 margins, and those clicks lie
    // in the segment (or at this click): two margins around the segment's extent and the click hold it.
    const auto& g = labels_.geometry();
    const double reachMm = 2 * model::GrowFromSeedsOptions{}.marginMm;
    Index3 lo = voxel, hi = voxel;  // inclusive
    if (const auto it = extent_.find(segment); it != extent_.end())
        for (int a = 0; a < 3; ++a) {
            lo[a] = std::min(lo[a], it->second.first[a]);
            hi[a] = std::max(hi[a], it->second.second[a] - 1);
        }
    for (int a = 0; a < 3; ++a) {
        const auto reach = static_cast<std::int64_t>(std::ceil(reachMm / g.spacing[a]));
        lo[a] = std::max<std::int64_t>(0, lo[a] - reach);
        hi[a] = std::min(g.size[a] - 1, hi[a] + reach);
    }
    // Only where other segments are.
    Index3 olo = g.size, ohi{-1, -1, -1};
    for (const auto& [label, box] : extent_) {
        if (label == segment || counts_[static_cast<std::size_t>(label)] == 0) continue;
        for (int a = 0; a < 3; ++a) {
            olo[a] = std::min(olo[a], box.first[a]);
            ohi[a] = std::max(ohi[a], box.second[a] - 1);
        }
    }
    for (int a = 0; a < 3; ++a) {
        lo[a] = std::max(lo[a], olo[a]);
        hi[a] = std::min(hi[a], ohi[a]);
        if (lo[a] > hi[a]) return nullptr;
    }
    auto m = std::make_shared<model::RegionMask>();
    m->begin = lo;
    m->size = {hi[0] - lo[0] + 1, hi[1] - lo[1] + 1, hi[2] - lo[2] + 1};
    m->mask.resize(static_cast<std::size_t>(m->size[0] * m->size[1] * m->size[2]));
    std::size_t o = 0;
    for (std::int64_t k = lo[2]; k <= hi[2]; ++k)
        for (std::int64_t j = lo[1]; j <= hi[1]; ++j) {
            const std::uint8_t* row = labels_.labels().data() + g.offset(lo[0], j, k);
            for (std::int64_t i = 0; i < m->size[0]; ++i, ++o) m->mask[o] = row[i] != 0 && row[i] != segment;
        }
    return m;
}

void AnnotationController::onClickDone(const AiClickResult& r) {
    const auto it = pending_.find(r.id);
    if (it == pending_.end()) return;
    const Pending p = it->second;
    pending_.erase(it);
    if (p.epoch != epoch_[p.segment]) return;  // superseded by an undo/redo/reset of this segment
    if (!r.notice.isEmpty()) Q_EMIT noticeOccurred(r.notice);
    applyAiResult(r, p.world, p.positive, p.view);
}

void AnnotationController::applyAiResult(const AiClickResult& r, const Vec3& world, bool positive,
                                         const QString& view) {
    Interaction what;
    const bool seeds = r.method == ClickMethod::GrowFromSeeds;
    what.kind = seeds ? InteractionKind::SeedsClick : InteractionKind::AiClick;
    what.positive = positive;
    what.view = view;
    what.segment = r.segment;
    what.world = world;
    what.confidence = r.confidence;
    what.milliseconds = r.milliseconds;
    applyRegion(r.mask, what, SessionSteps{r.method, r.stepBefore, r.stepAfter});
}

void AnnotationController::applyRegion(const model::RegionMask& m, Interaction what,
                                       std::optional<SessionSteps> steps) {
    // Where this result can change anything: its positive box, plus the segment's voxels inside its region.
    const auto label = static_cast<std::uint8_t>(what.segment);
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
                const std::uint8_t now = labelAfterEdit(old, label, mrow[x] != 0);
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
    if (hi[0] >= 0) {
        delta = LabelDelta::over(
            lo, hi, label, [&](std::int64_t j, std::int64_t k, std::uint8_t* b, std::uint8_t* a) {
                const auto n = static_cast<std::size_t>(hi[0] - lo[0] + 1);
                std::copy_n(lab + g.offset(lo[0], j, k), n, b);
                std::copy_n(after.data() + ((lo[0] - scan.first[0]) +
                                            sn[0] * ((j - scan.first[1]) + sn[1] * (k - scan.first[2]))),
                            n, a);
            });
        growExtent(label, lo, hi);
    }
    what.changedVoxels = delta.changed;
    what.time = QDateTime::currentDateTime();
    what.segmentVoxels = counts_[label] + delta.segmentGain;
    std::vector<SessionSteps> moved;
    if (steps) moved.push_back(*steps);
    record(new EditCommand(*this, std::move(delta), std::move(moved), what), steps ? label : std::uint8_t(0));
}

void AnnotationController::record(EditCommand* command, std::uint8_t aiClickOf) {
    if (preview_ && preview_->segment != aiClickOf) acceptPreview();
    const bool opens = aiClickOf != 0 && !preview_;
    if (opens) preview_ = PreviewRun{aiClickOf, undo_.index()};
    undo_.push(command);
    if (opens) Q_EMIT previewChanged();
    Q_EMIT edited();
}

void AnnotationController::endPreview() {
    if (!preview_) return;
    preview_.reset();
    Q_EMIT previewChanged();
}

void AnnotationController::acceptPreview() {
    if (!preview_) return;
    endPreview();
    Q_EMIT historyChanged();  // its entries are no longer marked as preview
}

void AnnotationController::discardPreview() {
    if (!preview_) return;
    const int start = preview_->start;
    endPreview();
    undo_.setIndex(start);  // each undo supersedes the segment's clicks still in flight
}

bool AnnotationController::propagate(std::uint8_t segment, int axis, std::int64_t slice, bool forward,
                                     bool backward, const QString& view) {
    if (!volume_) {
        Q_EMIT errorOccurred(tr("Open a volume before propagating."));
        return false;
    }
    if (propagation_) {
        Q_EMIT errorOccurred(tr("A propagation is already running."));
        return false;
    }
    const auto& g = labels_.geometry();
    if (axis < 0 || axis > 2 || slice < 0 || slice >= g.size[std::size_t(axis)]) {
        Q_EMIT errorOccurred(tr("That slice is outside the volume."));
        return false;
    }
    const std::array<std::int64_t, 3> size{g.size[0], g.size[1], g.size[2]};
    model::SlicePrompt prompt{
        slice, model::SlicePlane::of(size, axis).maskOf(labels_.labels().data(), size, slice, segment)};
    const auto count = std::count(prompt.mask.begin(), prompt.mask.end(), std::uint8_t(1));
    if (segment == 0 || count == 0) {
        Q_EMIT errorOccurred(
            tr("Draw the structure on this slice first: segment %1 has no voxels on it.").arg(segment));
        return false;
    }
    PropagationRequest request;
    request.segment = segment;
    request.axis = axis;
    request.prompts.push_back(std::move(prompt));
    request.forward = forward;
    request.backward = backward;
    acceptPreview();  // the prompt is the slice as it is now
    Index3 centre{g.size[0] / 2, g.size[1] / 2, g.size[2] / 2};
    centre[std::size_t(axis)] = slice;
    const Vec3 world = g.indexToWorld({double(centre[0]), double(centre[1]), double(centre[2])});
    propagation_ =
        PendingPropagation{service_.propagate(std::move(request)), segment, epoch_[segment], view, world};
    return true;
}

void AnnotationController::onPropagationDone(const PropagationDone& r) {
    if (!propagation_ || propagation_->id != r.id) return;
    const auto p = *propagation_;
    propagation_.reset();
    // Dropped when the segment was undone, redone, reset or deleted meanwhile, or the volume changed.
    const bool current = p.epoch == epoch_[p.segment] && segments_.find(std::uint8_t(p.segment));
    if (current) {
        if (!r.notice.isEmpty()) Q_EMIT noticeOccurred(r.notice);
        Interaction what;
        what.kind = InteractionKind::Propagation;
        what.view = p.view;
        what.segment = p.segment;
        what.world = p.world;
        what.milliseconds = r.milliseconds;
        applyRegion(r.mask, what, std::nullopt);
    }
    Q_EMIT propagationFinished(current);
}

void AnnotationController::onClickFailed(quint64 id, int segment, const QString& message, bool cancelled) {
    pending_.erase(id);
    if (!cancelled) Q_EMIT errorOccurred(message);
}

std::vector<Interaction> AnnotationController::history() const {
    std::vector<Interaction> out = earlier_;
    for (int i = 0; i < undo_.count(); ++i)
        if (const auto* c = dynamic_cast<const EditCommand*>(undo_.command(i))) {
            out.push_back(c->interaction());
            out.back().applied = i < undo_.index();
            out.back().preview = preview_ && i >= preview_->start && out.back().applied;
        }
    return out;
}

void AnnotationController::growExtent(std::uint8_t label, const Index3& lo, const Index3& hi) {
    auto it = extent_.find(label);
    if (it == extent_.end()) {
        extent_[label] = {lo, {hi[0] + 1, hi[1] + 1, hi[2] + 1}};
        return;
    }
    for (int a = 0; a < 3; ++a) {
        it->second.first[a] = std::min(it->second.first[a], lo[a]);
        it->second.second[a] = std::max(it->second.second[a], hi[a] + 1);
    }
}

void AnnotationController::restore(LabelMap labels, SegmentList segments, std::vector<Interaction> earlier) {
    if (!volume_) throw InputError("Open the volume before restoring its labels.");
    if (!labels.geometry().sameGrid(volume_->geometry()))
        throw InputError("The saved labels are on a different grid than the open volume.");
    endPreview();
    undo_.clear();
    pending_.clear();
    for (auto& [segment, epoch] : epoch_) {
        ++epoch;
        service_.resetSegment(segment);
    }
    engineStep_.clear();
    labels_ = std::move(labels);
    counts_ = labels_.histogram();
    extent_.clear();
    const auto& g = labels_.geometry();
    // One pass: the box of every label value, then one extent entry per label present.
    std::array<Index3, 256> lo, hi;
    lo.fill(g.size);
    hi.fill({-1, -1, -1});
    std::size_t n = 0;
    for (std::int64_t k = 0; k < g.size[2]; ++k)
        for (std::int64_t j = 0; j < g.size[1]; ++j)
            for (std::int64_t i = 0; i < g.size[0]; ++i, ++n)
                if (const auto l = labels_.labels()[n]) {
                    lo[l] = {std::min(lo[l][0], i), std::min(lo[l][1], j), std::min(lo[l][2], k)};
                    hi[l] = {std::max(hi[l][0], i), std::max(hi[l][1], j), std::max(hi[l][2], k)};
                }
    for (int l = 1; l < 256; ++l)
        if (hi[l][0] >= 0) growExtent(static_cast<std::uint8_t>(l), lo[l], hi[l]);
    segments_ = std::move(segments);
    for (auto l : labels_.labelsPresent())
        if (!segments_.find(l)) segments_.put(SegmentList::defaultFor(l));
    earlier_ = std::move(earlier);
    for (auto& e : earlier_) e.restored = true;
    Q_EMIT segmentsChanged();
    Q_EMIT labelsChanged({0, 0, 0}, g.size);
    Q_EMIT historyChanged();
}

std::uint8_t AnnotationController::addSegment(const std::string& name) {
    const std::uint8_t label = segments_.add(name).label;
    Q_EMIT segmentsChanged();
    return label;
}

void AnnotationController::updateSegment(const Segment& segment) {
    if (!segments_.find(segment.label)) return;
    segments_.put(segment);
    Q_EMIT segmentsChanged();
}

void AnnotationController::deleteSegment(std::uint8_t label) {
    const Segment* s = segments_.find(label);
    if (!s) return;
    const Segment removed = *s;
    LabelDelta delta;
    if (const auto it = extent_.find(label); it != extent_.end()) {
        const auto& lo = it->second.first;  // not a structured binding: the lambda below uses them
        const auto& end = it->second.second;
        delta = LabelDelta::over(lo, {end[0] - 1, end[1] - 1, end[2] - 1}, label,
                                 [&](std::int64_t j, std::int64_t k, std::uint8_t* b, std::uint8_t* a) {
                                     const std::uint8_t* row =
                                         labels_.labels().data() + labels_.geometry().offset(lo[0], j, k);
                                     for (std::int64_t i = 0; i < end[0] - lo[0]; ++i) {
                                         b[i] = row[i];
                                         a[i] = labelAfterEdit(row[i], label, false);
                                     }
                                 });
    }
    Interaction what;
    what.kind = InteractionKind::DeleteSegment;
    what.segment = label;
    what.changedVoxels = delta.changed;
    what.time = QDateTime::currentDateTime();
    supersede(label);
    std::vector<SessionSteps> steps;  // every session of the segment goes back to empty (and undo returns)
    for (const auto method : {ClickMethod::Model, ClickMethod::GrowFromSeeds})
        steps.push_back({method, engineStep_[{label, method}], 0});
    record(new EditCommand(*this, std::move(delta), std::move(steps), what, removed));
}

void AnnotationController::beginStroke(std::uint8_t segment, bool erase, const QString& view) {
    if (stroke_.active) endStroke();
    if (!volume_ || segment == 0) return;
    acceptPreview();  // the stroke is drawn on accepted labels
    if (!segments_.find(segment)) {
        segments_.put(SegmentList::defaultFor(segment));
        Q_EMIT segmentsChanged();
    }
    stroke_ = Stroke{};
    stroke_.active = true;
    stroke_.erase = erase;
    stroke_.segment = segment;
    stroke_.view = view;
}

void AnnotationController::strokeAt(const Index3& c, double radiusMm, int normalAxis) {
    if (!stroke_.active) return;
    const auto& g = labels_.geometry();
    if (stroke_.changes.empty()) stroke_.world = g.indexToWorld({double(c[0]), double(c[1]), double(c[2])});
    VoxelChanges dab;
    paintBall(labels_, c, radiusMm, normalAxis, stroke_.segment, stroke_.erase, dab);
    if (dab.empty()) return;
    stroke_.changes.merge(dab);
    Q_EMIT labelsChanged(dab.lo,
                         {dab.hi[0] - dab.lo[0] + 1, dab.hi[1] - dab.lo[1] + 1, dab.hi[2] - dab.lo[2] + 1});
}

void AnnotationController::endStroke() {
    if (!stroke_.active) return;
    Interaction what;
    what.kind = stroke_.erase ? InteractionKind::Erase : InteractionKind::Brush;
    what.view = stroke_.view;
    what.segment = stroke_.segment;
    what.world = stroke_.world;
    const VoxelChanges changes = std::move(stroke_.changes);
    stroke_ = Stroke{};
    if (!changes.empty()) commitManualEdit(changes, what);
}

bool AnnotationController::thresholdFill(std::uint8_t segment, const Index3& seed, float low, float high,
                                         int normalAxis, const QString& view) {
    if (!volume_) {
        Q_EMIT errorOccurred(tr("Open a volume before filling."));
        return false;
    }
    const auto& g = labels_.geometry();
    if (!g.contains(seed)) {
        Q_EMIT errorOccurred(tr("The fill starts outside the volume."));
        return false;
    }
    if (!seedFillable(labels_, *volume_, seed, low, high, segment)) {
        Q_EMIT errorOccurred(tr("The voxel clicked (%1) is outside the fill range %2 to %3.")
                                 .arg(double(volume_->at(seed[0], seed[1], seed[2])))
                                 .arg(double(low))
                                 .arg(double(high)));
        return false;
    }
    if (!segments_.find(segment)) {
        segments_.put(SegmentList::defaultFor(segment));
        Q_EMIT segmentsChanged();
    }
    const VoxelChanges changes =
        engram::thresholdFill(labels_, *volume_, seed, low, high, normalAxis, segment);
    Interaction what;
    what.kind = InteractionKind::ThresholdFill;
    what.view = view;
    what.segment = segment;
    what.world = g.indexToWorld({double(seed[0]), double(seed[1]), double(seed[2])});
    if (!changes.empty()) commitManualEdit(changes, what);
    return true;
}

void AnnotationController::commitManualEdit(const VoxelChanges& changes, Interaction what) {
    const auto& g = labels_.geometry();
    const Index3& lo = changes.lo;
    const Index3& hi = changes.hi;
    const auto label = static_cast<std::uint8_t>(what.segment);
    LabelDelta delta = LabelDelta::over(
        lo, hi, label, [&](std::int64_t j, std::int64_t k, std::uint8_t* b, std::uint8_t* a) {
            const std::int64_t row = g.offset(lo[0], j, k);
            for (std::int64_t i = 0; i <= hi[0] - lo[0]; ++i) {
                a[i] = labels_.labels()[std::size_t(row + i)];
                const auto it = changes.before.find(row + i);
                b[i] = it == changes.before.end() ? a[i] : it->second;
            }
        });
    growExtent(label, lo, hi);
    what.changedVoxels = delta.changed;
    what.time = QDateTime::currentDateTime();
    what.segmentVoxels = counts_[label] + delta.segmentGain;
    // The labels already hold the result; the push's redo writes the same values and updates the counts.
    record(new EditCommand(*this, std::move(delta), {}, what));
}

bool AnnotationController::editSegment(std::uint8_t segment, const QString& kind,
                                       const std::function<SegmentEdit(const LabelMap&)>& operation,
                                       bool preview, const QString& view) {
    if (!volume_) {
        Q_EMIT errorOccurred(tr("Open a volume before editing segments."));
        return false;
    }
    acceptPreview();  // tools work on accepted labels (a preview of its own opens again below)
    SegmentEdit edit;
    try {
        edit = operation(labels_);
    } catch (const std::invalid_argument& e) {
        Q_EMIT errorOccurred(tr("%1: %2").arg(kind, QString::fromStdString(e.what())));
        return false;
    }
    if (edit.empty()) {
        Q_EMIT errorOccurred(tr("%1: nothing to change.").arg(kind));
        return false;
    }
    const Index3 hi{edit.begin[0] + edit.size[0] - 1, edit.begin[1] + edit.size[1] - 1,
                    edit.begin[2] + edit.size[2] - 1};
    const auto rowLength = static_cast<std::size_t>(edit.size[0]);
    LabelDelta delta = LabelDelta::over(
        edit.begin, hi, segment, [&](std::int64_t j, std::int64_t k, std::uint8_t* b, std::uint8_t* a) {
            const auto row =
                static_cast<std::size_t>((j - edit.begin[1]) + edit.size[1] * (k - edit.begin[2])) *
                rowLength;
            std::copy_n(edit.before.data() + row, rowLength, b);
            std::copy_n(edit.after.data() + row, rowLength, a);
        });
    if (edit.added > 0) growExtent(segment, edit.begin, hi);
    Interaction what;
    what.kind = InteractionKind::SegmentEdit;
    what.detail = kind;
    what.view = view;
    what.segment = segment;
    what.world = volume_->geometry().indexToWorld({double(edit.begin[0] + hi[0]) / 2,
                                                   double(edit.begin[1] + hi[1]) / 2,
                                                   double(edit.begin[2] + hi[2]) / 2});
    what.changedVoxels = delta.changed;
    what.time = QDateTime::currentDateTime();
    what.segmentVoxels = counts_[segment] + delta.segmentGain;
    record(new EditCommand(*this, std::move(delta), {}, what), preview ? segment : std::uint8_t(0));
    return true;
}

bool AnnotationController::fillBetweenSlices(std::uint8_t segment, int axis, const QString& view) {
    std::vector<std::int64_t> filled;
    const bool ok = editSegment(
        segment, tr("Fill between slices"),
        [&](const LabelMap& labels) {
            auto fill = engram::fillBetweenSlices(labels, segment, axis);
            filled = fill.filledSlices;
            return std::move(fill.edit);
        },
        true, view);
    if (ok) Q_EMIT noticeOccurred(tr("Filled %1 slices between the drawn ones.").arg(filled.size()));
    return ok;
}

}  // namespace engram
