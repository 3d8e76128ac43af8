#pragma once
// The segment list: one row per segment with its colour swatch, name, visibility box, voxel count and volume
// in mL (from the open volume's spacing). Add, rename (double-click or F2), recolour, choose the coded
// concept (the built-in anatomy table) and delete. The selected row shows the editor's active segment, and
// selecting a row makes it active.

#include <engram/annotation/AnnotationController.h>
#include <engram/ui/EditorState.h>

#include <QWidget>

class QTableWidget;

namespace engram::ui {

class SegmentPanel : public QWidget {
    Q_OBJECT
  public:
    SegmentPanel(AnnotationController& controller, EditorState& editor, QWidget* parent = nullptr);

  private:
    void selectActive();
    void rebuild();
    void refreshCounts();
    void addSegment();
    void chooseColour(std::uint8_t label);
    void chooseConcept(std::uint8_t label);

    AnnotationController& controller_;
    EditorState& editor_;
    QTableWidget* table_;
    bool rebuilding_ = false;
};

}  // namespace engram::ui
