#pragma once
// The interaction history: every interaction (kind, view, segment, position, voxels changed, segment size,
// time), oldest first. Entries restored from a saved session come first, in grey; undone entries are shown
// struck through until a new interaction drops them. Selecting an entry shows the state right after it
// (undo/redo to there, voxels and AI memory alike).

#include <engram/annotation/AnnotationController.h>

#include <QWidget>

class QTreeWidget;

namespace engram::ui {

class HistoryPanel : public QWidget {
    Q_OBJECT
  public:
    explicit HistoryPanel(AnnotationController& controller, QWidget* parent = nullptr);
    int entryCount() const;

  private:
    void rebuild();

    AnnotationController& controller_;
    QTreeWidget* list_;
    bool rebuilding_ = false;
};

}  // namespace engram::ui
