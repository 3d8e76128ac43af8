#include <engram/viewers/SliceView.h>

#include <vtkActor.h>
#include <vtkCamera.h>
#include <vtkCellArray.h>
#include <vtkCellData.h>
#include <vtkImageActor.h>
#include <vtkImageData.h>
#include <vtkImageMapToWindowLevelColors.h>
#include <vtkImageMapper3D.h>
#include <vtkImageProperty.h>
#include <vtkPoints.h>
#include <vtkPolyData.h>
#include <vtkPolyDataMapper.h>
#include <vtkProperty.h>
#include <vtkRenderer.h>
#include <vtkTextActor.h>
#include <vtkTextProperty.h>
#include <vtkUnsignedCharArray.h>

#include <QKeyEvent>
#include <QMouseEvent>
#include <QWheelEvent>

#include <algorithm>
#include <cmath>

namespace engram::viewers {
namespace {

// Offsets into a volume buffer for walking a slice pixel by pixel: pixel (u, v) is at base + u*du + v*dv.
struct SliceWalk {
    std::int64_t base = 0, du = 0, dv = 0;
    SliceWalk(const SliceFrame& f, const ImageGeometry& g, std::int64_t slice) {
        const std::array<std::int64_t, 3> stride{1, g.size[0], g.size[0] * g.size[1]};
        du = f.flipH ? -stride[f.horizontal] : stride[f.horizontal];
        dv = f.flipV ? -stride[f.vertical] : stride[f.vertical];
        base = slice * stride[f.normal] + (f.flipH ? (g.size[f.horizontal] - 1) * stride[f.horizontal] : 0) +
               (f.flipV ? (g.size[f.vertical] - 1) * stride[f.vertical] : 0);
    }
};

vtkSmartPointer<vtkTextActor> makeText(int size, double r, double g, double b) {
    auto t = vtkSmartPointer<vtkTextActor>::New();
    t->GetTextProperty()->SetFontSize(size);
    t->GetTextProperty()->SetColor(r, g, b);
    t->GetTextProperty()->SetShadow(true);
    return t;
}

vtkSmartPointer<vtkActor> makeLineActor(vtkPolyData* data) {
    auto mapper = vtkSmartPointer<vtkPolyDataMapper>::New();
    mapper->SetInputData(data);
    auto actor = vtkSmartPointer<vtkActor>::New();
    actor->SetMapper(mapper);
    actor->GetProperty()->SetLighting(false);
    return actor;
}

}  // namespace

SliceView::SliceView(ViewerState& state, ViewKind kind, QWidget* parent)
    : RenderWidget(parent),
      state_(state),
      kind_(kind),
      image_(vtkSmartPointer<vtkImageData>::New()),
      overlay_(vtkSmartPointer<vtkImageData>::New()),
      windowLevel_(vtkSmartPointer<vtkImageMapToWindowLevelColors>::New()),
      imageActor_(vtkSmartPointer<vtkImageActor>::New()),
      overlayActor_(vtkSmartPointer<vtkImageActor>::New()),
      crosshair_(vtkSmartPointer<vtkPolyData>::New()),
      markers_(vtkSmartPointer<vtkPolyData>::New()),
      sliceText_(makeText(13, 1, 1, 1)),
      windowText_(makeText(13, 1, 1, 1)) {
    setObjectName(QString("%1View").arg(viewName(kind)));
    windowLevel_->SetInputData(image_);
    windowLevel_->SetOutputFormatToRGB();
    imageActor_->GetMapper()->SetInputConnection(windowLevel_->GetOutputPort());
    imageActor_->InterpolateOff();
    // Edge voxels drawn whole (VTK's default cuts them in half at the image border).
    imageActor_->GetMapper()->BorderOn();
    overlayActor_->GetMapper()->BorderOn();
    overlayActor_->SetInputData(overlay_);
    overlayActor_->InterpolateOff();
    overlayActor_->SetPosition(0, 0, 0.5);  // in front of the slice
    overlayActor_->GetProperty()->SetInterpolationTypeToNearest();

    crosshairActor_ = makeLineActor(crosshair_);
    crosshairActor_->GetProperty()->SetColor(1.0, 0.85, 0.2);
    markersActor_ = makeLineActor(markers_);
    markersActor_->GetProperty()->SetLineWidth(2.0);

    vtkRenderer* r = renderer();
    r->SetBackground(0, 0, 0);
    r->GetActiveCamera()->ParallelProjectionOn();
    r->AddActor(imageActor_);
    r->AddActor(overlayActor_);
    r->AddActor(crosshairActor_);
    r->AddActor(markersActor_);
    for (auto& t : edgeText_) {
        t = makeText(15, 1.0, 0.85, 0.2);
        r->AddActor2D(t);
    }
    r->AddActor2D(sliceText_);
    r->AddActor2D(windowText_);

    connect(&state_, &ViewerState::documentChanged, this, &SliceView::onDocumentChanged);
    connect(&state_, &ViewerState::cursorChanged, this, [this] {
        if (slice() != shownSlice_) {
            updateSlice();
            updateOverlay();
            updateMarkers();
        }
        updateCrosshair();
        updateText();
        update();
    });
    connect(&state_, &ViewerState::windowLevelChanged, this, [this] {
        const auto& wl = state_.windowLevel();
        windowLevel_->SetWindow(wl.window);
        windowLevel_->SetLevel(wl.level);
        updateText();
        update();
    });
    connect(&state_, &ViewerState::overlayStyleChanged, this, [this] {
        updateOverlay();
        update();
    });
    connect(&state_, &ViewerState::segmentsChanged, this, [this] {
        updateOverlay();
        update();
    });
    connect(&state_, &ViewerState::labelsChanged, this, [this](const Index3& begin, const Index3& size) {
        const auto s = slice();
        if (s >= begin[frame_.normal] && s < begin[frame_.normal] + size[frame_.normal]) {
            updateOverlay();
            update();
        }
    });
    connect(&state_, &ViewerState::markersChanged, this, [this] {
        updateMarkers();
        update();
    });
    onDocumentChanged();
}

SliceView::~SliceView() = default;

std::int64_t SliceView::slice() const { return state_.cursor()[frame_.normal]; }

void SliceView::onDocumentChanged() {
    const Volume* v = state_.volume();
    const bool has = v != nullptr;
    for (vtkProp* p : {static_cast<vtkProp*>(imageActor_), static_cast<vtkProp*>(overlayActor_),
                       static_cast<vtkProp*>(crosshairActor_), static_cast<vtkProp*>(markersActor_)})
        p->SetVisibility(has);
    if (!has) {
        for (auto& t : edgeText_) t->SetInput("");
        sliceText_->SetInput("");
        windowText_->SetInput("");
        update();
        return;
    }
    const auto& g = v->geometry();
    frame_ = SliceFrame::forView(kind_, g);
    const int w = static_cast<int>(frame_.width(g)), h = static_cast<int>(frame_.height(g));
    for (vtkImageData* img : {image_.Get(), overlay_.Get()}) {
        img->SetDimensions(w, h, 1);
        img->SetSpacing(frame_.pixelWidth(g), frame_.pixelHeight(g), 1.0);
        img->SetOrigin(0, 0, 0);
    }
    image_->AllocateScalars(VTK_FLOAT, 1);
    overlay_->AllocateScalars(VTK_UNSIGNED_CHAR, 4);
    for (int i = 0; i < 4; ++i) edgeText_[i]->SetInput(frame_.edges[i].c_str());
    const auto& wl = state_.windowLevel();
    windowLevel_->SetWindow(wl.window);
    windowLevel_->SetLevel(wl.level);
    shownSlice_ = -1;
    updateSlice();
    updateOverlay();
    updateCrosshair();
    updateMarkers();
    updateText();
    resetView();
}

void SliceView::updateSlice() {
    const Volume* v = state_.volume();
    if (!v) return;
    const auto& g = v->geometry();
    shownSlice_ = slice();
    const SliceWalk walk(frame_, g, shownSlice_);
    const auto w = frame_.width(g), h = frame_.height(g);
    auto* out = static_cast<float*>(image_->GetScalarPointer());
    const float* in = v->voxels().data();
    for (std::int64_t y = 0; y < h; ++y) {
        const float* row = in + walk.base + y * walk.dv;
        for (std::int64_t x = 0; x < w; ++x) *out++ = row[x * walk.du];
    }
    image_->Modified();
}

void SliceView::updateOverlay() {
    const LabelMap* labels = state_.labels();
    const Volume* v = state_.volume();
    if (!v || !labels || !labels->geometry().sameGrid(v->geometry(), 0)) return;
    const auto& g = v->geometry();
    // Colour table: visible segments in their colour, labels without a segment in a default colour.
    std::array<std::array<std::uint8_t, 4>, 256> lut{};
    const auto alpha = static_cast<std::uint8_t>(std::lround(state_.overlayOpacity() * 255));
    for (int l = 1; l < 256; ++l) {
        const Segment* s = state_.segments() ? state_.segments()->find(static_cast<std::uint8_t>(l)) : nullptr;
        const Segment seg = s ? *s : SegmentList::defaultFor(static_cast<std::uint8_t>(l));
        lut[l] = {seg.color.r, seg.color.g, seg.color.b, seg.visible ? alpha : std::uint8_t(0)};
    }
    const SliceWalk walk(frame_, g, slice());
    const auto w = frame_.width(g), h = frame_.height(g);
    const std::uint8_t* in = labels->labels().data();
    auto* out = static_cast<std::uint8_t*>(overlay_->GetScalarPointer());
    const bool outline = state_.outline();
    const std::uint8_t preview = state_.previewLabel();
    auto labelAt = [&](std::int64_t x, std::int64_t y) { return in[walk.base + y * walk.dv + x * walk.du]; };
    for (std::int64_t y = 0; y < h; ++y)
        for (std::int64_t x = 0; x < w; ++x, out += 4) {
            const std::uint8_t l = labelAt(x, y);
            const auto& c = lut[l];
            out[0] = c[0];
            out[1] = c[1];
            out[2] = c[2];
            out[3] = 0;
            if (l == 0 || c[3] == 0) continue;
            const bool edge = x == 0 || y == 0 || x == w - 1 || y == h - 1 || labelAt(x - 1, y) != l ||
                              labelAt(x + 1, y) != l || labelAt(x, y - 1) != l || labelAt(x, y + 1) != l;
            if (edge && (outline || l == preview))
                out[3] = 255;
            else if (l == preview)
                out[3] = (x + y) % 6 < 3 ? c[3] : 0;  // diagonal stripes: not accepted yet
            else if (!outline)
                out[3] = c[3];
        }
    overlay_->Modified();
}

void SliceView::updateCrosshair() {
    const Volume* v = state_.volume();
    if (!v) return;
    const auto& g = v->geometry();
    const auto& c = state_.cursor();
    const auto p = frame_.pixelOf(g, {double(c[0]), double(c[1]), double(c[2])});
    const double sx = frame_.pixelWidth(g), sy = frame_.pixelHeight(g);
    const double x = p[0] * sx, y = p[1] * sy;
    const double x0 = -0.5 * sx, x1 = (double(frame_.width(g)) - 0.5) * sx;
    const double y0 = -0.5 * sy, y1 = (double(frame_.height(g)) - 0.5) * sy;
    auto points = vtkSmartPointer<vtkPoints>::New();
    points->InsertNextPoint(x0, y, 1);
    points->InsertNextPoint(x1, y, 1);
    points->InsertNextPoint(x, y0, 1);
    points->InsertNextPoint(x, y1, 1);
    auto lines = vtkSmartPointer<vtkCellArray>::New();
    const vtkIdType a[2] = {0, 1}, b[2] = {2, 3};
    lines->InsertNextCell(2, a);
    lines->InsertNextCell(2, b);
    crosshair_->SetPoints(points);
    crosshair_->SetLines(lines);
    crosshair_->Modified();
}

void SliceView::updateMarkers() {
    const Volume* v = state_.volume();
    if (!v) return;
    const auto& g = v->geometry();
    const double sx = frame_.pixelWidth(g), sy = frame_.pixelHeight(g);
    const double radius = 3.0 * std::max(sx, sy);
    auto points = vtkSmartPointer<vtkPoints>::New();
    auto lines = vtkSmartPointer<vtkCellArray>::New();
    auto colours = vtkSmartPointer<vtkUnsignedCharArray>::New();
    colours->SetNumberOfComponents(3);
    constexpr int kSides = 20;
    for (const auto& m : state_.markers()) {
        const auto p = frame_.pixelOf(g, g.worldToIndex(m.world));
        if (std::abs(p[2] - double(slice())) >= 0.5) continue;
        const vtkIdType first = points->GetNumberOfPoints();
        for (int s = 0; s < kSides; ++s) {
            const double t = 2 * M_PI * s / kSides;
            points->InsertNextPoint(p[0] * sx + radius * std::cos(t), p[1] * sy + radius * std::sin(t), 2);
        }
        lines->InsertNextCell(kSides + 1);
        for (int s = 0; s <= kSides; ++s) lines->InsertCellPoint(first + s % kSides);
        const unsigned char green[3] = {40, 230, 60}, red[3] = {240, 50, 50};
        colours->InsertNextTypedTuple(m.positive ? green : red);
    }
    markers_->SetPoints(points);
    markers_->SetLines(lines);
    markers_->GetCellData()->SetScalars(colours);
    markers_->Modified();
}

void SliceView::updateText() {
    const Volume* v = state_.volume();
    if (!v) return;
    const auto& g = v->geometry();
    QString name = viewName(kind_);
    name[0] = name[0].toUpper();
    sliceText_->SetInput(QString("%1  %2 / %3").arg(name).arg(slice() + 1).arg(g.size[frame_.normal])
                             .toUtf8()
                             .constData());
    const auto& wl = state_.windowLevel();
    windowText_->SetInput(QString("W %1  L %2").arg(wl.window, 0, 'f', 0).arg(wl.level, 0, 'f', 0)
                              .toUtf8()
                              .constData());
}

void SliceView::resizeGL(int w, int h) {
    RenderWidget::resizeGL(w, h);
    const double r = devicePixelRatioF();
    const double W = w * r, H = h * r;
    edgeText_[0]->SetPosition(6, H / 2);
    edgeText_[1]->SetPosition(W - 18, H / 2);
    edgeText_[2]->SetPosition(W / 2, 6);
    edgeText_[3]->SetPosition(W / 2, H - 22);
    sliceText_->SetPosition(6, H - 22);
    windowText_->SetPosition(6, 6);
}

void SliceView::resetView() {
    const Volume* v = state_.volume();
    if (!v) return;
    const auto& g = v->geometry();
    const double w = double(frame_.width(g)) * frame_.pixelWidth(g);
    const double h = double(frame_.height(g)) * frame_.pixelHeight(g);
    const double cx = (double(frame_.width(g)) - 1) * frame_.pixelWidth(g) / 2;
    const double cy = (double(frame_.height(g)) - 1) * frame_.pixelHeight(g) / 2;
    vtkCamera* cam = renderer()->GetActiveCamera();
    cam->SetFocalPoint(cx, cy, 0);
    cam->SetPosition(cx, cy, 1000);
    cam->SetViewUp(0, 1, 0);
    cam->SetClippingRange(1, 2000);
    const double aspect = height() > 0 ? double(width()) / double(height()) : 1.0;
    cam->SetParallelScale(1.04 * std::max(h / 2, w / 2 / aspect));
    update();
}

void SliceView::zoomBy(double factor) {
    vtkCamera* cam = renderer()->GetActiveCamera();
    cam->SetParallelScale(cam->GetParallelScale() / factor);
    update();
}

void SliceView::stepSlice(int delta) {
    Index3 c = state_.cursor();
    c[frame_.normal] += delta;
    state_.setCursor(c);
}

std::array<double, 2> SliceView::pixelAt(const QPointF& pos) const {
    const auto d = toDisplay(pos);
    vtkRenderer* r = renderer();
    r->SetDisplayPoint(d[0], d[1], 0);
    r->DisplayToWorld();
    double w[4];
    r->GetWorldPoint(w);
    if (w[3] != 0) {
        w[0] /= w[3];
        w[1] /= w[3];
    }
    const auto& g = state_.volume()->geometry();
    return {w[0] / frame_.pixelWidth(g), w[1] / frame_.pixelHeight(g)};
}

Vec3 SliceView::worldAt(const QPointF& pos) const {
    if (!state_.volume()) return {0, 0, 0};
    const auto& g = state_.volume()->geometry();
    const auto p = pixelAt(pos);
    return g.indexToWorld(frame_.indexAt(g, p[0], p[1], double(slice())));
}

QPointF SliceView::widgetPosOf(const Vec3& world) const {
    if (!state_.volume()) return {};
    const auto& g = state_.volume()->geometry();
    const auto p = frame_.pixelOf(g, g.worldToIndex(world));
    vtkRenderer* r = renderer();
    r->SetWorldPoint(p[0] * frame_.pixelWidth(g), p[1] * frame_.pixelHeight(g), 0, 1);
    r->WorldToDisplay();
    double d[3];
    r->GetDisplayPoint(d);
    return fromDisplay(d[0], d[1]);
}

ToolEvent SliceView::makeEvent(ToolEvent::Type type, const QPointF& pos, Qt::MouseButton button,
                               Qt::KeyboardModifiers modifiers) const {
    ToolEvent e;
    e.type = type;
    e.view = kind_;
    e.normalAxis = frame_.normal;
    e.button = button;
    e.modifiers = modifiers;
    const auto& g = state_.volume()->geometry();
    const auto p = pixelAt(pos);
    const Vec3 idx = frame_.indexAt(g, p[0], p[1], double(slice()));
    e.world = g.indexToWorld(idx);
    for (int a = 0; a < 3; ++a) e.voxel[a] = std::llround(idx[a]);
    e.inside = g.contains(e.voxel);
    return e;
}

void SliceView::mousePressEvent(QMouseEvent* e) {
    if (!state_.volume()) return;
    lastPos_ = e->position();
    dragButton_ = e->button();
    if (e->button() == Qt::LeftButton && (e->modifiers() & Qt::ControlModifier)) {
        drag_ = Drag::WindowLevel;
    } else if (e->button() == Qt::MiddleButton) {
        drag_ = Drag::Pan;
    } else if (toolActive_ && (e->button() == Qt::LeftButton || e->button() == Qt::RightButton)) {
        drag_ = Drag::Tool;
        Q_EMIT toolEvent(makeEvent(ToolEvent::Type::Press, e->position(), e->button(), e->modifiers()));
    } else if (e->button() == Qt::RightButton) {
        drag_ = Drag::Zoom;
    } else if (e->button() == Qt::LeftButton) {
        drag_ = Drag::Cursor;
        const auto ev = makeEvent(ToolEvent::Type::Press, e->position(), e->button(), e->modifiers());
        state_.setCursor(ev.voxel);
    }
}

void SliceView::mouseMoveEvent(QMouseEvent* e) {
    if (!state_.volume()) return;
    const QPointF pos = e->position();
    const QPointF delta = pos - lastPos_;
    lastPos_ = pos;
    const auto ev = makeEvent(ToolEvent::Type::Move, pos, dragButton_, e->modifiers());
    Q_EMIT hovered(ev.voxel, ev.inside,
                   ev.inside ? state_.volume()->at(ev.voxel[0], ev.voxel[1], ev.voxel[2]) : 0.0f);
    switch (drag_) {
        case Drag::None:
            break;
        case Drag::Cursor:
            state_.setCursor(ev.voxel);
            break;
        case Drag::Tool:
            Q_EMIT toolEvent(ev);
            break;
        case Drag::WindowLevel: {
            auto wl = state_.windowLevel();
            const double scale = std::max(wl.window, 1.0) / 250.0;
            wl.window = std::max(1.0, wl.window + delta.x() * scale);
            wl.level -= delta.y() * scale;
            state_.setWindowLevel(wl);
            break;
        }
        case Drag::Pan: {
            vtkCamera* cam = renderer()->GetActiveCamera();
            const double mmPerPixel = 2 * cam->GetParallelScale() / std::max(1, height());
            double f[3], p[3];
            cam->GetFocalPoint(f);
            cam->GetPosition(p);
            const double dx = -delta.x() * mmPerPixel, dy = delta.y() * mmPerPixel;
            cam->SetFocalPoint(f[0] + dx, f[1] + dy, f[2]);
            cam->SetPosition(p[0] + dx, p[1] + dy, p[2]);
            update();
            break;
        }
        case Drag::Zoom:
            zoomBy(std::pow(1.01, -delta.y()));
            break;
    }
}

void SliceView::mouseReleaseEvent(QMouseEvent* e) {
    if (drag_ == Drag::Tool && state_.volume() && e->button() == dragButton_)
        Q_EMIT toolEvent(makeEvent(ToolEvent::Type::Release, e->position(), e->button(), e->modifiers()));
    if (e->button() == dragButton_) {
        drag_ = Drag::None;
        dragButton_ = Qt::NoButton;
    }
}

void SliceView::mouseDoubleClickEvent(QMouseEvent* e) {
    if (e->button() == Qt::LeftButton && !toolActive_) Q_EMIT maximizeRequested();
    else mousePressEvent(e);
}

void SliceView::wheelEvent(QWheelEvent* e) {
    const int steps = e->angleDelta().y() / 120;
    if (steps == 0) return;
    if (e->modifiers() & Qt::ControlModifier) zoomBy(std::pow(1.1, steps));
    else stepSlice(steps);
    e->accept();
}

void SliceView::keyPressEvent(QKeyEvent* e) {
    switch (e->key()) {
        case Qt::Key_Up:
            stepSlice(1);
            break;
        case Qt::Key_Down:
            stepSlice(-1);
            break;
        case Qt::Key_PageUp:
            stepSlice(10);
            break;
        case Qt::Key_PageDown:
            stepSlice(-10);
            break;
        case Qt::Key_R:
            resetView();
            break;
        default:
            RenderWidget::keyPressEvent(e);
    }
}

}  // namespace engram::viewers
