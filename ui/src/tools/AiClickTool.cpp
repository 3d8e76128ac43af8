// AI click: a click includes (or, secondary, excludes) a point of the active segment; the model segments
// on the AI thread, or grow from seeds does when chosen or when no model is loaded.
#include "Tools.h"

#include <engram/ui/Workspace.h>

namespace engram::ui {

void AiClickTool::press(const ToolInput& input) {
    EditorState& editor = workspace_.editor();
    ClickMethod method = editor.clickMethod();
    if (method == ClickMethod::Model && !workspace_.engineReady()) {
        method = ClickMethod::GrowFromSeeds;
        Q_EMIT workspace_.notice(
            workspace_.engineLoading()
                ? QObject::tr("The AI model is still loading: this click grows from seeds.")
                : QObject::tr("No AI model is loaded: clicks grow from seeds."),
            5000);
    }
    workspace_.controller().aiClick(editor.activeOrNewSegment(), input.world, !input.secondary, input.view,
                                    method);
}

}  // namespace engram::ui
