#include <engram/viewers/RenderWidget.h>

#include <vtkGenericOpenGLRenderWindow.h>
#include <vtkOpenGLState.h>
#include <vtkRenderer.h>

#include <QOpenGLContext>
#include <QOpenGLFunctions>

namespace engram::viewers {
namespace {
// The two GL enums needed here; spelled out so that no GL header meets Qt's.
constexpr unsigned kGlLessOrEqual = 0x0203;      // GL_LEQUAL
constexpr unsigned kGlDrawFramebuffer = 0x8CA9;  // GL_DRAW_FRAMEBUFFER
}  // namespace

RenderWidget::RenderWidget(QWidget* parent)
    : QOpenGLWidget(parent),
      window_(vtkSmartPointer<vtkGenericOpenGLRenderWindow>::New()),
      renderer_(vtkSmartPointer<vtkRenderer>::New()) {
    window_->SetOwnContext(false);
    window_->SetFrameBlitModeToNoBlit();
    window_->AddRenderer(renderer_);
    setFocusPolicy(Qt::StrongFocus);
    setMouseTracking(true);
    setMinimumSize(120, 120);
}

RenderWidget::~RenderWidget() {
    // VTK releases its GL resources in the widget's context.
    makeCurrent();
    window_->Finalize();
    doneCurrent();
}

vtkRenderer* RenderWidget::renderer() const { return renderer_; }

std::array<double, 2> RenderWidget::toDisplay(const QPointF& p) const {
    const double r = devicePixelRatioF();
    return {p.x() * r, (height() - p.y()) * r};
}

QPointF RenderWidget::fromDisplay(double x, double y) const {
    const double r = devicePixelRatioF();
    return {x / r, height() - y / r};
}

void RenderWidget::initializeGL() {
    window_->SetReadyForRendering(false);
    window_->InitializeFromCurrentContext();
}

void RenderWidget::resizeGL(int w, int h) {
    const double r = devicePixelRatioF();
    window_->SetSize(static_cast<int>(w * r), static_cast<int>(h * r));
}

void RenderWidget::paintGL() {
    const double r = devicePixelRatioF();
    window_->SetSize(static_cast<int>(width() * r), static_cast<int>(height() * r));
    window_->SetReadyForRendering(true);
    window_->SetIsCurrent(true);
    window_->SetMapped(1);
    vtkOpenGLState* state = window_->GetState();
    state->Reset();
    state->Push();
    state->vtkglDepthFunc(kGlLessOrEqual);  // Qt leaves GL_LESS; VTK expects GL_LEQUAL
    window_->Render();
    state->vtkglBindFramebuffer(kGlDrawFramebuffer, defaultFramebufferObject());
    window_->BlitDisplayFramebuffer();
    state->Pop();
    // VTK's blending leaves partial alpha where translucent props (the label overlay) were drawn; Qt
    // composes the widget as premultiplied, which would turn those pixels into garbage colours. The image
    // is opaque: set its alpha to one.
    QOpenGLFunctions* gl = context()->functions();
    gl->glColorMask(GL_FALSE, GL_FALSE, GL_FALSE, GL_TRUE);
    gl->glClearColor(0, 0, 0, 1);
    gl->glClear(GL_COLOR_BUFFER_BIT);
    gl->glColorMask(GL_TRUE, GL_TRUE, GL_TRUE, GL_TRUE);
    window_->SetReadyForRendering(false);
}

}  // namespace engram::viewers
