#pragma once
// The segment list: one row per segment with its colour swatch, name, visibility box, voxel count and volume
// in mL (from the open volume's spacing). Add, rename (double-click or F2), recolour, choose the coded
// concept (the built-in anatomy table) and delete. The selected row is the active segment the tools work on.

#include <engram/annotation/AnnotationController.h>

#include <QWidget>

class QTableWidget;

namespace engram::ui {

class SegmentPanel : public QWidget {
    Q_OBJECT
  public:
    explicit SegmentPanel(AnnotationController& controller, QWidget* parent = nullptr);

    // The active segment's label, 0 when none.
    std::uint8_t activeSegment() const;
    void setActiveSegment(std::uint8_t label);
    // The active segment, created ("Segment N") when there is none.
    std::uint8_t activeOrNewSegment();

  Q_SIGNALS:
    void activeSegmentChanged(std::uint8_t label);

  private:
    void rebuild();
    void refreshCounts();
    void addSegment();
    void chooseColour(std::uint8_t label);
    void chooseConcept(std::uint8_t label);

    AnnotationController& controller_;
    QTableWidget* table_;
    bool rebuilding_ = false;
};

}  // namespace engram::ui
