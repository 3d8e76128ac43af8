#pragma once
// Internal: the tool classes (one .cpp each) and their factory.

#include <engram/ui/EditTools.h>

namespace engram::ui {

class AiClickTool : public EditTool {
  public:
    using EditTool::EditTool;
    void press(const ToolInput& input) override;
};

class BrushTool : public EditTool {
  public:
    BrushTool(Workspace& workspace, bool erase) : EditTool(workspace), erase_(erase) {}
    void press(const ToolInput& input) override;
    void drag(const ToolInput& input) override;
    void release(const ToolInput& input) override;

  private:
    bool erase_;
};

class FillTool : public EditTool {
  public:
    using EditTool::EditTool;
    void press(const ToolInput& input) override;
};

}  // namespace engram::ui
