#pragma once
// A QOpenGLWidget that hosts a VTK render window and one renderer. Debian's VTK Qt module is built for Qt 5,
// so this follows the recipe in PLATFORM.md: VTK renders into Qt's context (no own context, no blit of its
// own), and paintGL blits VTK's display framebuffer into the widget's framebuffer. Subclasses own their
// actors and turn Qt input into view actions; they call update() to redraw. grabFramebuffer() gives a
// screenshot of exactly what is shown.

#include <QOpenGLWidget>

#include <array>

#include <vtkSmartPointer.h>

class vtkGenericOpenGLRenderWindow;
class vtkRenderer;

namespace engram::viewers {

class RenderWidget : public QOpenGLWidget {
    Q_OBJECT
  public:
    explicit RenderWidget(QWidget* parent = nullptr);
    ~RenderWidget() override;

    vtkRenderer* renderer() const;
    // Converts a widget position (logical pixels, origin top-left) to VTK display coordinates (device pixels,
    // origin bottom-left).
    std::array<double, 2> toDisplay(const QPointF& widgetPos) const;
    QPointF fromDisplay(double x, double y) const;

  protected:
    void initializeGL() override;
    void resizeGL(int w, int h) override;
    void paintGL() override;

  private:
    vtkSmartPointer<vtkGenericOpenGLRenderWindow> window_;
    vtkSmartPointer<vtkRenderer> renderer_;
};

}  // namespace engram::viewers
