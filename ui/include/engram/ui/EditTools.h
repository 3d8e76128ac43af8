#pragma once
// The editing tools, one class per tool (ui/src/tools/): a slice view's pointer events go to the active
// tool, which edits the document through the controller with what the EditorState says (segment, radius,
// range). Qt Core only, so tools are tested without a window. A new tool is one class here and one
// entry in makeTool.

#include <engram/ui/EditorState.h>

#include <QString>

#include <memory>

namespace engram::ui {

class Workspace;

// A pointer event on a slice, in the document's terms.
struct ToolInput {
    Vec3 world{0, 0, 0};     // LPS mm of the pointer, on the slice plane
    Index3 voxel{0, 0, 0};   // the voxel under the pointer
    bool inside = false;     // the voxel lies in the volume
    int normalAxis = 2;      // the index axis normal to the slice
    bool secondary = false;  // right button or Shift: exclude (AI click), erase (brush)
    QString view;            // "axial", "coronal", "sagittal": recorded with the interaction
};

class EditTool {
  public:
    explicit EditTool(Workspace& workspace) : workspace_(workspace) {}
    virtual ~EditTool() = default;
    EditTool(const EditTool&) = delete;
    EditTool& operator=(const EditTool&) = delete;

    virtual void press(const ToolInput& input) = 0;
    virtual void drag(const ToolInput&) {}
    virtual void release(const ToolInput&) {}

  protected:
    Workspace& workspace_;
};

// The tool for `tool` (none for Navigate, which only moves the cursor).
std::unique_ptr<EditTool> makeTool(Tool tool, Workspace& workspace);

}  // namespace engram::ui
