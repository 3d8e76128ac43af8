// Brush and eraser: one stroke from press to release is one interaction; the ball's radius is the editor's
// brush radius, in the slice's plane. The brush erases with the secondary button.
#include "Tools.h"

#include <engram/ui/Workspace.h>

namespace engram::ui {

void BrushTool::press(const ToolInput& input) {
    auto& controller = workspace_.controller();
    controller.beginStroke(workspace_.editor().activeOrNewSegment(), erase_ || input.secondary, input.view);
    drag(input);
}

void BrushTool::drag(const ToolInput& input) {
    auto& controller = workspace_.controller();
    if (input.inside && controller.strokeActive())
        controller.strokeAt(input.voxel, workspace_.editor().brushRadius(), input.normalAxis);
}

void BrushTool::release(const ToolInput& input) {
    drag(input);
    if (workspace_.controller().strokeActive()) workspace_.controller().endStroke();
}

}  // namespace engram::ui
