#include <engram/ui/EditorState.h>

#include <algorithm>
#include <string>

namespace engram::ui {

EditorState::EditorState(AnnotationController& controller, QObject* parent)
    : QObject(parent), controller_(controller) {
    connect(&controller_, &AnnotationController::segmentsChanged, this, &EditorState::followSegments);
    followSegments();
}

void EditorState::followSegments() {
    const auto& all = controller_.segments().segments();
    if (active_ != 0 && controller_.segments().find(active_)) return;
    const std::uint8_t next = all.empty() ? 0 : all.back().label;
    if (next == active_) return;
    active_ = next;
    Q_EMIT activeSegmentChanged(active_);
}

void EditorState::setActiveSegment(std::uint8_t label) {
    if (label == active_ || (label != 0 && !controller_.segments().find(label))) return;
    active_ = label;
    Q_EMIT activeSegmentChanged(active_);
}

std::uint8_t EditorState::activeOrNewSegment() {
    if (active_) return active_;
    const auto& all = controller_.segments().segments();
    if (!all.empty()) {
        setActiveSegment(all.front().label);
        return active_;
    }
    std::uint8_t label = 1;
    while (controller_.segments().find(label)) ++label;
    setActiveSegment(controller_.addSegment("Segment " + std::to_string(label)));
    return active_;
}

void EditorState::setTool(Tool tool) {
    if (tool == tool_) return;
    tool_ = tool;
    Q_EMIT toolChanged(tool_);
}

void EditorState::setBrushRadius(double mm) {
    mm = std::clamp(mm, kMinBrushRadius, kMaxBrushRadius);
    if (mm == brushRadius_) return;
    brushRadius_ = mm;
    Q_EMIT optionsChanged();
}

void EditorState::setFillRange(double low, double high) {
    if (low == fillLow_ && high == fillHigh_) return;
    fillLow_ = low;
    fillHigh_ = high;
    Q_EMIT optionsChanged();
}

void EditorState::setFill3D(bool on) {
    if (on == fill3D_) return;
    fill3D_ = on;
    Q_EMIT optionsChanged();
}

void EditorState::setClickMethod(ClickMethod method) {
    if (method == clickMethod_) return;
    clickMethod_ = method;
    Q_EMIT optionsChanged();
}

}  // namespace engram::ui
