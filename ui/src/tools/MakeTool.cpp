#include "Tools.h"

namespace engram::ui {

std::unique_ptr<EditTool> makeTool(Tool tool, Workspace& workspace) {
    switch (tool) {
        case Tool::Navigate:
            return nullptr;
        case Tool::AiClick:
            return std::make_unique<AiClickTool>(workspace);
        case Tool::Brush:
            return std::make_unique<BrushTool>(workspace, false);
        case Tool::Eraser:
            return std::make_unique<BrushTool>(workspace, true);
        case Tool::Fill:
            return std::make_unique<FillTool>(workspace);
    }
    return nullptr;
}

}  // namespace engram::ui
