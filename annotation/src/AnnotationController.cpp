#include <engram/annotation/AnnotationController.h>

#include <engram/annotation/Errors.h>
#include <engram/annotation/SliceInterpolation.h>

namespace engram {

AnnotationController::AnnotationController(SegmentationService& service, QObject* parent)
    : QObject(parent), history_(document_, *this), ai_(service, document_, history_) {
    connect(&history_, &EditHistory::labelsChanged, this, &AnnotationController::labelsChanged);
    connect(&history_, &EditHistory::segmentsChanged, this, &AnnotationController::segmentsChanged);
    connect(&history_, &EditHistory::historyChanged, this, &AnnotationController::historyChanged);
    connect(&history_, &EditHistory::previewChanged, this, &AnnotationController::previewChanged);
    connect(&history_, &EditHistory::edited, this, &AnnotationController::edited);
    connect(&ai_, &AiEditController::errorOccurred, this, &AnnotationController::errorOccurred);
    connect(&ai_, &AiEditController::noticeOccurred, this, &AnnotationController::noticeOccurred);
    connect(&ai_, &AiEditController::segmentsChanged, this, &AnnotationController::segmentsChanged);
    connect(&ai_, &AiEditController::busyChanged, this, &AnnotationController::busyChanged);
    connect(&ai_, &AiEditController::propagationProgress, this, &AnnotationController::propagationProgress);
    connect(&ai_, &AiEditController::propagationFinished, this, &AnnotationController::propagationFinished);
}

void AnnotationController::setVolume(std::shared_ptr<const Volume> volume) {
    ai_.setVolume(volume);
    volume_ = std::move(volume);
    document_ = LabelDocument(LabelMap(volume_->geometry()));
    stroke_ = Stroke{};
    history_.reset();
    Q_EMIT segmentsChanged();
}

void AnnotationController::restore(LabelMap labels, SegmentList segments, std::vector<Interaction> earlier) {
    if (!volume_) throw InputError("Open the volume before restoring its labels.");
    if (!labels.geometry().sameGrid(volume_->geometry()))
        throw InputError("The saved labels are on a different grid than the open volume.");
    ai_.resetSessions();
    document_ = LabelDocument(std::move(labels), std::move(segments));
    stroke_ = Stroke{};
    history_.reset(std::move(earlier));
    Q_EMIT segmentsChanged();
    Q_EMIT labelsChanged({0, 0, 0}, document_.labels().geometry().size);
}

std::uint8_t AnnotationController::addSegment(const std::string& name) {
    const std::uint8_t label = document_.segments().add(name).label;
    Q_EMIT segmentsChanged();
    return label;
}

void AnnotationController::updateSegment(const Segment& segment) {
    if (!document_.segments().find(segment.label)) return;
    document_.segments().put(segment);
    Q_EMIT segmentsChanged();
}

void AnnotationController::deleteSegment(std::uint8_t label) {
    const Segment* s = document_.segments().find(label);
    if (!s) return;
    Interaction what;
    what.kind = InteractionKind::DeleteSegment;
    what.segment = label;
    // Every session of the segment goes back to empty (and undo returns).
    history_.record(clearSegment(document_.labels(), label, document_.extentOf(label)), what,
                    ai_.stepsToEmpty(label), *s);
}

void AnnotationController::beginStroke(std::uint8_t segment, bool erase, const QString& view) {
    if (stroke_.active) endStroke();
    if (!volume_ || segment == 0) return;
    acceptPreview();  // the stroke is drawn on accepted labels
    if (document_.ensureSegment(segment)) Q_EMIT segmentsChanged();
    stroke_ = Stroke{};
    stroke_.active = true;
    stroke_.erase = erase;
    stroke_.segment = segment;
    stroke_.view = view;
}

void AnnotationController::strokeAt(const Index3& c, double radiusMm, int normalAxis) {
    if (!stroke_.active) return;
    const auto& g = document_.labels().geometry();
    if (stroke_.changes.empty()) stroke_.world = g.indexToWorld({double(c[0]), double(c[1]), double(c[2])});
    VoxelChanges dab;
    paintBall(document_.labelsForDrawing(), c, radiusMm, normalAxis, stroke_.segment, stroke_.erase, dab);
    if (dab.empty()) return;
    stroke_.changes.merge(dab);
    Q_EMIT labelsChanged(dab.box.lo, dab.box.size());
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
    const auto& g = document_.labels().geometry();
    if (!g.contains(seed)) {
        Q_EMIT errorOccurred(tr("The fill starts outside the volume."));
        return false;
    }
    if (!seedFillable(document_.labels(), *volume_, seed, low, high, segment)) {
        Q_EMIT errorOccurred(tr("The voxel clicked (%1) is outside the fill range %2 to %3.")
                                 .arg(double(volume_->at(seed[0], seed[1], seed[2])))
                                 .arg(double(low))
                                 .arg(double(high)));
        return false;
    }
    if (document_.ensureSegment(segment)) Q_EMIT segmentsChanged();
    const VoxelChanges changes =
        engram::thresholdFill(document_.labelsForDrawing(), *volume_, seed, low, high, normalAxis, segment);
    Interaction what;
    what.kind = InteractionKind::ThresholdFill;
    what.view = view;
    what.segment = segment;
    what.world = g.indexToWorld({double(seed[0]), double(seed[1]), double(seed[2])});
    if (!changes.empty()) commitManualEdit(changes, what);
    return true;
}

void AnnotationController::commitManualEdit(const VoxelChanges& changes, Interaction what) {
    // The labels already hold the result; the push's redo writes the same values and updates the counts.
    history_.record(changes.asEdit(document_.labels(), static_cast<std::uint8_t>(what.segment)), what);
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
        edit = operation(document_.labels());
    } catch (const std::invalid_argument& e) {
        Q_EMIT errorOccurred(tr("%1: %2").arg(kind, QString::fromStdString(e.what())));
        return false;
    }
    if (edit.empty()) {
        Q_EMIT errorOccurred(tr("%1: nothing to change.").arg(kind));
        return false;
    }
    const VoxelBox box = edit.box();
    Interaction what;
    what.kind = InteractionKind::SegmentEdit;
    what.detail = kind;
    what.view = view;
    what.segment = segment;
    what.world = volume_->geometry().indexToWorld({double(box.lo[0] + box.hi[0]) / 2,
                                                   double(box.lo[1] + box.hi[1]) / 2,
                                                   double(box.lo[2] + box.hi[2]) / 2});
    history_.record(edit, what, {}, std::nullopt, preview);
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
