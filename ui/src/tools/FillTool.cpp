// Threshold fill: the connected region around the clicked voxel whose values lie in the editor's range, in
// the slice or (fill3D) through the volume, joins the active segment.
#include "Tools.h"

#include <engram/ui/Workspace.h>

namespace engram::ui {

void FillTool::press(const ToolInput& input) {
    EditorState& editor = workspace_.editor();
    workspace_.controller().thresholdFill(editor.activeOrNewSegment(), input.voxel, float(editor.fillLow()),
                                          float(editor.fillHigh()), editor.fill3D() ? -1 : input.normalAxis,
                                          input.view);
}

}  // namespace engram::ui
