#pragma once
// One slice view (axial, coronal or sagittal) of a ViewerState: the grey-level slice under window/level, the
// label overlay (filled or outline, per-segment colour and visibility, adjustable opacity), the linked
// crosshair, AI click markers on the slice where they lie (green positive, red negative), orientation letters
// at the edges and the slice number.
//
// Navigation the view handles itself: wheel or Up/Down/PageUp/PageDown change slice, Ctrl+wheel or right-drag
// zooms, middle-drag pans, Ctrl+left-drag changes window/level, R resets the view, double-click asks to be
// maximised. In navigation mode a left press/drag moves the linked cursor. With a tool active, left and right
// button presses, drags and releases go to the tool as ToolEvents. Every pixel is a voxel (SliceFrame), so
// the event's voxel is exactly the voxel under the pointer.

#include <engram/viewers/RenderWidget.h>
#include <engram/viewers/SliceFrame.h>
#include <engram/viewers/ViewerState.h>

#include <vtkSmartPointer.h>

class vtkActor;
class vtkImageActor;
class vtkImageData;
class vtkImageMapToWindowLevelColors;
class vtkPolyData;
class vtkTextActor;

namespace engram::viewers {

struct ToolEvent {
    enum class Type { Press, Move, Release };
    Type type = Type::Press;
    ViewKind view = ViewKind::Axial;
    int normalAxis = 2;     // the index axis normal to the view
    Vec3 world{0, 0, 0};    // LPS mm of the pointer, on the slice plane
    Index3 voxel{0, 0, 0};  // the voxel under the pointer
    bool inside = false;    // the voxel lies in the volume
    Qt::MouseButton button = Qt::LeftButton;
    Qt::KeyboardModifiers modifiers;
};

class SliceView : public RenderWidget {
    Q_OBJECT
  public:
    SliceView(ViewerState& state, ViewKind kind, QWidget* parent = nullptr);
    ~SliceView() override;

    ViewKind kind() const { return kind_; }
    const SliceFrame& frame() const { return frame_; }
    std::int64_t slice() const;
    void setToolActive(bool active) { toolActive_ = active; }

    // The point under a widget position (on the current slice), and where a world point appears.
    Vec3 worldAt(const QPointF& widgetPos) const;
    QPointF widgetPosOf(const Vec3& world) const;

    void resetView();
    void stepSlice(int delta);

  Q_SIGNALS:
    void toolEvent(const engram::viewers::ToolEvent& event);
    void hovered(const engram::Index3& voxel, bool inside, float value);
    void maximizeRequested();

  protected:
    void mousePressEvent(QMouseEvent* e) override;
    void mouseMoveEvent(QMouseEvent* e) override;
    void mouseReleaseEvent(QMouseEvent* e) override;
    void mouseDoubleClickEvent(QMouseEvent* e) override;
    void wheelEvent(QWheelEvent* e) override;
    void keyPressEvent(QKeyEvent* e) override;
    void resizeGL(int w, int h) override;

  private:
    enum class Drag { None, Cursor, Tool, WindowLevel, Pan, Zoom };
    void onDocumentChanged();
    void updateSlice();
    void updateOverlay();
    void updateCrosshair();
    void updateMarkers();
    void updateText();
    ToolEvent makeEvent(ToolEvent::Type type, const QPointF& pos, Qt::MouseButton button,
                        Qt::KeyboardModifiers modifiers) const;
    void zoomBy(double factor);
    // Continuous pixel (u, v) under a widget position.
    std::array<double, 2> pixelAt(const QPointF& pos) const;

    ViewerState& state_;
    ViewKind kind_;
    SliceFrame frame_;
    bool toolActive_ = false;
    std::int64_t shownSlice_ = -1;

    Drag drag_ = Drag::None;
    Qt::MouseButton dragButton_ = Qt::NoButton;
    QPointF lastPos_;

    vtkSmartPointer<vtkImageData> image_, overlay_;
    vtkSmartPointer<vtkImageMapToWindowLevelColors> windowLevel_;
    vtkSmartPointer<vtkImageActor> imageActor_, overlayActor_;
    vtkSmartPointer<vtkPolyData> crosshair_, markers_;
    vtkSmartPointer<vtkActor> crosshairActor_, markersActor_;
    std::array<vtkSmartPointer<vtkTextActor>, 4> edgeText_;
    vtkSmartPointer<vtkTextActor> sliceText_, windowText_;
};

}  // namespace engram::viewers
