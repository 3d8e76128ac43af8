#pragma once
// What the editing tools work with: the active segment, the tool, the brush radius, the fill range and
// whether a fill runs through the volume, and what AI clicks segment with. The panels and the tool bar
// show it and set it; scripts set it; the tools (EditTools.h) read it. Qt Core only, GUI thread.
//
// The active segment follows the document: when it is deleted (or there was none), the last segment in
// the list becomes active; segments added meanwhile leave an active one as it is.

#include <engram/annotation/AnnotationController.h>

#include <QObject>

#include <cstdint>

namespace engram::ui {

enum class Tool { Navigate, AiClick, Brush, Eraser, Fill };

class EditorState : public QObject {
    Q_OBJECT
  public:
    explicit EditorState(AnnotationController& controller, QObject* parent = nullptr);

    // The active segment's label, 0 when none.
    std::uint8_t activeSegment() const { return active_; }
    void setActiveSegment(std::uint8_t label);  // a label the document does not hold is ignored
    // The active segment; with none, the first segment, or a new one ("Segment N") when there is none.
    std::uint8_t activeOrNewSegment();

    Tool tool() const { return tool_; }
    void setTool(Tool tool);
    double brushRadius() const { return brushRadius_; }  // mm
    void setBrushRadius(double mm);                      // kept within 0.5..50 mm
    double fillLow() const { return fillLow_; }
    double fillHigh() const { return fillHigh_; }
    void setFillRange(double low, double high);
    bool fill3D() const { return fill3D_; }
    void setFill3D(bool on);
    ClickMethod clickMethod() const { return clickMethod_; }
    void setClickMethod(ClickMethod method);

    static constexpr double kMinBrushRadius = 0.5, kMaxBrushRadius = 50;

  Q_SIGNALS:
    void activeSegmentChanged(std::uint8_t label);
    void toolChanged(Tool tool);
    void optionsChanged();  // brush radius, fill range or 3D, click method

  private:
    void followSegments();

    AnnotationController& controller_;
    std::uint8_t active_ = 0;
    Tool tool_ = Tool::Navigate;
    double brushRadius_ = 4, fillLow_ = 100, fillHigh_ = 300;
    bool fill3D_ = false;
    ClickMethod clickMethod_ = ClickMethod::Model;
};

}  // namespace engram::ui
