#pragma once
// The 3D view: a surface per visible segment (discrete flying edges on the label map, lightly smoothed), in
// the segment's colour, inside the volume's outline box, seen from the front (anterior) with superior up.
// Surfaces are rebuilt on a pool thread from a copy of the labelled region, at most a few times a second
// after edits, so the GUI thread never waits on them. Left-drag rotates, right-drag or wheel zooms, R resets,
// double-click asks to be maximised.

#include <engram/viewers/RenderWidget.h>
#include <engram/viewers/ViewerState.h>

#include <QFutureWatcher>
#include <QTimer>

#include <vtkSmartPointer.h>

class vtkActor;
class vtkLookupTable;
class vtkPolyData;

namespace engram::viewers {

class SurfaceView : public RenderWidget {
    Q_OBJECT
  public:
    explicit SurfaceView(ViewerState& state, QWidget* parent = nullptr);
    ~SurfaceView() override;

    void resetView();
    // Number of triangles shown (for tests); 0 while nothing is labelled.
    std::int64_t triangleCount() const;
    bool isUpdating() const { return watcher_.isRunning() || timer_.isActive(); }

  Q_SIGNALS:
    void maximizeRequested();
    void surfacesUpdated();

  protected:
    void mousePressEvent(QMouseEvent* e) override;
    void mouseMoveEvent(QMouseEvent* e) override;
    void mouseDoubleClickEvent(QMouseEvent* e) override;
    void wheelEvent(QWheelEvent* e) override;
    void keyPressEvent(QKeyEvent* e) override;

  private:
    void onDocumentChanged();
    void scheduleRebuild();
    void rebuild();
    void updateColours();

    ViewerState& state_;
    QTimer timer_;
    QFutureWatcher<vtkSmartPointer<vtkPolyData>> watcher_;
    bool dirty_ = false;
    vtkSmartPointer<vtkActor> surfaces_, outline_;
    vtkSmartPointer<vtkLookupTable> lut_;
    QPointF lastPos_;
    Qt::MouseButton dragButton_ = Qt::NoButton;
};

}  // namespace engram::viewers
