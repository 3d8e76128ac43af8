#include <engram/annotation/Interaction.h>

#include <utility>

namespace engram {
namespace {

const std::pair<InteractionKind, const char*> kKindNames[] = {
    {InteractionKind::Propagation, "Propagation"},
    {InteractionKind::Brush, "Brush"},
    {InteractionKind::Erase, "Erase"},
    {InteractionKind::ThresholdFill, "Threshold fill"},
    {InteractionKind::DeleteSegment, "Delete segment"}};

}  // namespace

QString Interaction::label() const {
    if (isClick())
        return QString(kind == InteractionKind::SeedsClick ? "Seeds click %1" : "AI click %1")
            .arg(positive ? '+' : '-');
    for (const auto& [k, name] : kKindNames)
        if (k == kind) return name;
    return detail;
}

void Interaction::setFromLabel(const QString& text) {
    positive = !text.endsWith('-');
    detail.clear();
    if (text == "AI click +" || text == "AI click -") {
        kind = InteractionKind::AiClick;
        return;
    }
    if (text == "Seeds click +" || text == "Seeds click -") {
        kind = InteractionKind::SeedsClick;
        return;
    }
    for (const auto& [k, name] : kKindNames)
        if (text == name) {
            kind = k;
            return;
        }
    kind = InteractionKind::SegmentEdit;
    positive = true;
    detail = text;
}

}  // namespace engram
