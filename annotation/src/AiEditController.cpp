#include <engram/annotation/AiEditController.h>

#include <algorithm>
#include <cmath>

namespace engram {

AiEditController::AiEditController(SegmentationService& service, LabelDocument& document,
                                   EditHistory& history, QObject* parent)
    : QObject(parent), service_(service), document_(document), history_(history) {
    connect(&service_, &SegmentationService::clickDone, this, &AiEditController::onClickDone);
    connect(&service_, &SegmentationService::clickFailed, this,
            [this](quint64 id, int, const QString& message, bool cancelled) {
                pending_.erase(id);
                if (!cancelled) Q_EMIT errorOccurred(message);
            });
    connect(&service_, &SegmentationService::busyChanged, this, &AiEditController::busyChanged);
    connect(&service_, &SegmentationService::propagationDone, this, &AiEditController::onPropagationDone);
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
}

void AiEditController::setVolume(std::shared_ptr<const Volume> volume) {
    pending_.clear();
    if (propagation_) service_.cancel();  // its result would belong to the old volume
    propagation_.reset();
    for (auto& [segment, epoch] : epoch_) ++epoch;
    engineStep_.clear();
    volume_ = std::move(volume);
    service_.setVolume(volume_);
}

void AiEditController::resetSessions() {
    pending_.clear();
    for (auto& [segment, epoch] : epoch_) {
        ++epoch;
        service_.resetSegment(segment);
    }
    engineStep_.clear();
}

bool AiEditController::click(std::uint8_t segment, const Vec3& world, bool positive, const QString& view,
                             ClickMethod method) {
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
    if (document_.ensureSegment(segment)) Q_EMIT segmentsChanged();
    std::shared_ptr<const model::RegionMask> competitors;
    if (method == ClickMethod::GrowFromSeeds)
        competitors =
            competitorsOf(segment, {std::llround(idx[0]), std::llround(idx[1]), std::llround(idx[2])});
    const quint64 id = service_.click(segment, world, positive, method, std::move(competitors));
    pending_[id] = {segment, epoch_[segment], world, positive, view};
    return true;
}

std::shared_ptr<const model::RegionMask> AiEditController::competitorsOf(std::uint8_t segment,
                                                                         const Index3& voxel) const {
    // The grower's region lies within its positive clicks' box widened by 1.5 margins, and those clicks lie
    // in the segment (or at this click): two margins around the segment's extent and the click hold it.
    const auto& labels = document_.labels();
    const auto& g = labels.geometry();
    const double reachMm = 2 * model::GrowFromSeedsOptions{}.marginMm;
    VoxelBox reach{voxel, voxel};
    reach.unite(document_.extentOf(segment));
    for (int a = 0; a < 3; ++a) {
        const auto r = static_cast<std::int64_t>(std::ceil(reachMm / g.spacing[a]));
        reach.lo[a] = std::max<std::int64_t>(0, reach.lo[a] - r);
        reach.hi[a] = std::min(g.size[a] - 1, reach.hi[a] + r);
    }
    // Only where other segments are.
    VoxelBox others;
    for (int l = 1; l < 256; ++l)
        if (l != segment && document_.voxelCount(std::uint8_t(l)) > 0)
            others.unite(document_.extentOf(std::uint8_t(l)));
    const VoxelBox box = reach.intersection(others);
    if (box.empty()) return nullptr;
    auto m = std::make_shared<model::RegionMask>();
    m->begin = box.lo;
    m->size = box.size();
    m->mask.resize(box.voxels());
    std::size_t o = 0;
    for (std::int64_t k = box.lo[2]; k <= box.hi[2]; ++k)
        for (std::int64_t j = box.lo[1]; j <= box.hi[1]; ++j) {
            const std::uint8_t* row = labels.labels().data() + g.offset(box.lo[0], j, k);
            for (std::int64_t i = 0; i < m->size[0]; ++i, ++o) m->mask[o] = row[i] != 0 && row[i] != segment;
        }
    return m;
}

void AiEditController::onClickDone(const AiClickResult& r) {
    const auto it = pending_.find(r.id);
    if (it == pending_.end()) return;
    const Pending p = it->second;
    pending_.erase(it);
    if (p.epoch != epoch_[p.segment]) return;  // superseded by an undo/redo/reset of this segment
    if (!r.notice.isEmpty()) Q_EMIT noticeOccurred(r.notice);
    applyResult(r, p.world, p.positive, p.view);
}

void AiEditController::applyResult(const AiClickResult& r, const Vec3& world, bool positive,
                                   const QString& view) {
    const auto segment = static_cast<std::uint8_t>(r.segment);
    Interaction what;
    what.kind =
        r.method == ClickMethod::GrowFromSeeds ? InteractionKind::SeedsClick : InteractionKind::AiClick;
    what.positive = positive;
    what.view = view;
    what.segment = r.segment;
    what.world = world;
    what.confidence = r.confidence;
    what.milliseconds = r.milliseconds;
    history_.record(regionEdit(document_.labels(), r.mask, segment, document_.extentOf(segment)), what,
                    {SessionSteps{r.method, r.stepBefore, r.stepAfter}}, std::nullopt, true);
}

bool AiEditController::propagate(std::uint8_t segment, int axis, std::int64_t slice, bool forward,
                                 bool backward, const QString& view) {
    if (!volume_) {
        Q_EMIT errorOccurred(tr("Open a volume before propagating."));
        return false;
    }
    if (propagation_) {
        Q_EMIT errorOccurred(tr("A propagation is already running."));
        return false;
    }
    const auto& labels = document_.labels();
    const auto& g = labels.geometry();
    if (axis < 0 || axis > 2 || slice < 0 || slice >= g.size[std::size_t(axis)]) {
        Q_EMIT errorOccurred(tr("That slice is outside the volume."));
        return false;
    }
    const std::array<std::int64_t, 3> size{g.size[0], g.size[1], g.size[2]};
    model::SlicePrompt prompt{
        slice, model::SlicePlane::of(size, axis).maskOf(labels.labels().data(), size, slice, segment)};
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
    history_.acceptPreview();  // the prompt is the slice as it is now
    Index3 centre{g.size[0] / 2, g.size[1] / 2, g.size[2] / 2};
    centre[std::size_t(axis)] = slice;
    const Vec3 world = g.indexToWorld({double(centre[0]), double(centre[1]), double(centre[2])});
    propagation_ =
        PendingPropagation{service_.propagate(std::move(request)), segment, epoch_[segment], view, world};
    return true;
}

void AiEditController::onPropagationDone(const PropagationDone& r) {
    if (!propagation_ || propagation_->id != r.id) return;
    const auto p = *propagation_;
    propagation_.reset();
    const auto segment = static_cast<std::uint8_t>(p.segment);
    // Dropped when the segment was undone, redone, reset or deleted meanwhile, or the volume changed.
    const bool current = p.epoch == epoch_[p.segment] && document_.segments().find(segment);
    if (current) {
        if (!r.notice.isEmpty()) Q_EMIT noticeOccurred(r.notice);
        Interaction what;
        what.kind = InteractionKind::Propagation;
        what.view = p.view;
        what.segment = p.segment;
        what.world = p.world;
        what.milliseconds = r.milliseconds;
        history_.record(regionEdit(document_.labels(), r.mask, segment, document_.extentOf(segment)), what);
    }
    Q_EMIT propagationFinished(current);
}

std::vector<SessionSteps> AiEditController::stepsToEmpty(std::uint8_t segment) const {
    std::vector<SessionSteps> steps;
    for (const auto method : {ClickMethod::Model, ClickMethod::GrowFromSeeds}) {
        const auto it = engineStep_.find({segment, method});
        steps.push_back({method, it == engineStep_.end() ? 0 : it->second, 0});
    }
    return steps;
}

void AiEditController::moveSessions(int segment, const std::vector<SessionSteps>& steps, bool forward,
                                    bool onPush) {
    if (!onPush) supersede(segment);
    for (const auto& s : steps) {
        const int step = forward ? s.after : s.before;
        if (!onPush) service_.goToStep(segment, s.method, step);
        engineStep_[{segment, s.method}] = step;
    }
}

}  // namespace engram
