#include <engram/viewers/SurfaceView.h>

#include <vtkActor.h>
#include <vtkCamera.h>
#include <vtkCellArray.h>
#include <vtkDiscreteFlyingEdges3D.h>
#include <vtkImageData.h>
#include <vtkLookupTable.h>
#include <vtkMatrix4x4.h>
#include <vtkPoints.h>
#include <vtkPolyData.h>
#include <vtkPolyDataMapper.h>
#include <vtkPolyDataNormals.h>
#include <vtkProperty.h>
#include <vtkRenderer.h>
#include <vtkWindowedSincPolyDataFilter.h>

#include <QKeyEvent>
#include <QMouseEvent>
#include <QWheelEvent>
#include <QtConcurrent/QtConcurrentRun>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>

namespace engram::viewers {
namespace {

// Index -> LPS world matrix of a grid, for placing index-space geometry.
vtkSmartPointer<vtkMatrix4x4> indexToWorld(const ImageGeometry& g) {
    auto m = vtkSmartPointer<vtkMatrix4x4>::New();
    for (int r = 0; r < 3; ++r) {
        for (int c = 0; c < 3; ++c) m->SetElement(r, c, g.direction[r][c] * g.spacing[c]);
        m->SetElement(r, 3, g.origin[r]);
    }
    return m;
}

// Surfaces of the labels marked `shown` that occur (index space), from the box that holds their voxels.
vtkSmartPointer<vtkPolyData> buildSurfaces(const ImageGeometry& g, const std::vector<std::uint8_t>& labels,
                                           const std::array<bool, 256>& shown) {
    std::array<bool, 256> present{};
    Index3 lo{g.size[0], g.size[1], g.size[2]}, hi{-1, -1, -1};
    std::size_t n = 0;
    for (std::int64_t k = 0; k < g.size[2]; ++k)
        for (std::int64_t j = 0; j < g.size[1]; ++j)
            for (std::int64_t i = 0; i < g.size[0]; ++i, ++n)
                if (shown[labels[n]]) {
                    present[labels[n]] = true;
                    lo = {std::min(lo[0], i), std::min(lo[1], j), std::min(lo[2], k)};
                    hi = {std::max(hi[0], i), std::max(hi[1], j), std::max(hi[2], k)};
                }
    if (hi[0] < 0) return vtkSmartPointer<vtkPolyData>::New();
    std::vector<std::uint8_t> values;
    for (int l = 1; l < 256; ++l)
        if (present[l]) values.push_back(static_cast<std::uint8_t>(l));
    // One voxel of background around the box closes the surfaces at its faces.
    Index3 size{};
    for (int a = 0; a < 3; ++a) {
        lo[a] -= 1;
        hi[a] += 1;
        size[a] = hi[a] - lo[a] + 1;
    }
    auto image = vtkSmartPointer<vtkImageData>::New();
    image->SetDimensions(int(size[0]), int(size[1]), int(size[2]));
    image->SetOrigin(double(lo[0]), double(lo[1]), double(lo[2]));
    image->AllocateScalars(VTK_UNSIGNED_CHAR, 1);
    auto* out = static_cast<std::uint8_t*>(image->GetScalarPointer());
    for (std::int64_t k = lo[2]; k <= hi[2]; ++k)
        for (std::int64_t j = lo[1]; j <= hi[1]; ++j)
            for (std::int64_t i = lo[0]; i <= hi[0]; ++i) {
                const bool in = i >= 0 && j >= 0 && k >= 0 && i < g.size[0] && j < g.size[1] && k < g.size[2];
                const std::uint8_t v = in ? labels[g.offset(i, j, k)] : 0;
                *out++ = shown[v] ? v : 0;
            }
    auto contour = vtkSmartPointer<vtkDiscreteFlyingEdges3D>::New();
    contour->SetInputData(image);
    for (std::size_t i = 0; i < values.size(); ++i) contour->SetValue(int(i), values[i]);
    contour->ComputeScalarsOn();
    contour->ComputeNormalsOff();
    auto smooth = vtkSmartPointer<vtkWindowedSincPolyDataFilter>::New();
    smooth->SetInputConnection(contour->GetOutputPort());
    smooth->SetNumberOfIterations(12);
    smooth->SetPassBand(0.08);
    smooth->NormalizeCoordinatesOn();
    smooth->BoundarySmoothingOff();
    smooth->NonManifoldSmoothingOn();
    auto normals = vtkSmartPointer<vtkPolyDataNormals>::New();
    normals->SetInputConnection(smooth->GetOutputPort());
    normals->SplittingOff();
    normals->Update();
    auto result = vtkSmartPointer<vtkPolyData>::New();
    result->DeepCopy(normals->GetOutput());
    return result;
}

}  // namespace

SurfaceView::SurfaceView(ViewerState& state, QWidget* parent)
    : RenderWidget(parent),
      state_(state),
      surfaces_(vtkSmartPointer<vtkActor>::New()),
      outline_(vtkSmartPointer<vtkActor>::New()),
      lut_(vtkSmartPointer<vtkLookupTable>::New()) {
    setObjectName("surfaceView");
    lut_->SetNumberOfTableValues(256);
    lut_->SetTableRange(0, 255);
    lut_->Build();
    auto mapper = vtkSmartPointer<vtkPolyDataMapper>::New();
    mapper->SetLookupTable(lut_);
    mapper->SetScalarRange(0, 255);
    mapper->SetScalarModeToUsePointData();
    mapper->SetColorModeToMapScalars();
    mapper->SetInputData(vtkSmartPointer<vtkPolyData>::New());
    surfaces_->SetMapper(mapper);
    surfaces_->GetProperty()->SetSpecular(0.2);
    auto outlineMapper = vtkSmartPointer<vtkPolyDataMapper>::New();
    outline_->SetMapper(outlineMapper);
    outline_->GetProperty()->SetColor(0.6, 0.6, 0.6);
    outline_->GetProperty()->SetLighting(false);
    renderer()->AddActor(surfaces_);
    renderer()->AddActor(outline_);
    renderer()->SetBackground(0.08, 0.09, 0.12);
    renderer()->SetBackground2(0.22, 0.24, 0.3);
    renderer()->GradientBackgroundOn();

    timer_.setSingleShot(true);
    timer_.setInterval(250);
    connect(&timer_, &QTimer::timeout, this, &SurfaceView::rebuild);
    connect(&watcher_, &QFutureWatcher<vtkSmartPointer<vtkPolyData>>::finished, this, [this] {
        auto* m = static_cast<vtkPolyDataMapper*>(surfaces_->GetMapper());
        m->SetInputData(watcher_.result());
        update();
        if (dirty_)
            scheduleRebuild();
        else
            Q_EMIT surfacesUpdated();
    });
    connect(&state_, &ViewerState::documentChanged, this, &SurfaceView::onDocumentChanged);
    connect(&state_, &ViewerState::labelsChanged, this, &SurfaceView::scheduleRebuild);
    connect(&state_, &ViewerState::segmentsChanged, this, [this] {
        updateColours();
        scheduleRebuild();
    });
    onDocumentChanged();
}

SurfaceView::~SurfaceView() { watcher_.waitForFinished(); }

std::int64_t SurfaceView::triangleCount() const {
    auto* m = static_cast<vtkPolyDataMapper*>(surfaces_->GetMapper());
    auto* poly = vtkPolyData::SafeDownCast(m->GetInput());
    return poly ? poly->GetNumberOfPolys() : 0;
}

void SurfaceView::onDocumentChanged() {
    const Volume* v = state_.volume();
    static_cast<vtkPolyDataMapper*>(surfaces_->GetMapper())
        ->SetInputData(vtkSmartPointer<vtkPolyData>::New());
    surfaces_->SetVisibility(v != nullptr);
    outline_->SetVisibility(v != nullptr);
    if (!v) {
        update();
        return;
    }
    const auto& g = v->geometry();
    surfaces_->SetUserMatrix(indexToWorld(g));
    outline_->SetUserMatrix(indexToWorld(g));
    // The volume's box (voxel centres' hull grown by half a voxel), index space.
    auto points = vtkSmartPointer<vtkPoints>::New();
    for (int c = 0; c < 8; ++c)
        points->InsertNextPoint((c & 1) ? double(g.size[0]) - 0.5 : -0.5,
                                (c & 2) ? double(g.size[1]) - 0.5 : -0.5,
                                (c & 4) ? double(g.size[2]) - 0.5 : -0.5);
    auto lines = vtkSmartPointer<vtkCellArray>::New();
    for (int a = 0; a < 8; ++a)
        for (int bit : {1, 2, 4})
            if (!(a & bit)) {
                const vtkIdType e[2] = {a, a | bit};
                lines->InsertNextCell(2, e);
            }
    auto box = vtkSmartPointer<vtkPolyData>::New();
    box->SetPoints(points);
    box->SetLines(lines);
    static_cast<vtkPolyDataMapper*>(outline_->GetMapper())->SetInputData(box);
    updateColours();
    resetView();
    scheduleRebuild();
}

void SurfaceView::updateColours() {
    for (int l = 0; l < 256; ++l) {
        const Segment* s =
            state_.segments() ? state_.segments()->find(static_cast<std::uint8_t>(l)) : nullptr;
        const Segment seg = s ? *s : SegmentList::defaultFor(static_cast<std::uint8_t>(std::max(l, 1)));
        lut_->SetTableValue(l, seg.color.r / 255.0, seg.color.g / 255.0, seg.color.b / 255.0, 1.0);
    }
    lut_->Modified();
    update();
}

void SurfaceView::scheduleRebuild() {
    if (watcher_.isRunning()) {
        dirty_ = true;
        return;
    }
    timer_.start();
}

void SurfaceView::rebuild() {
    const Volume* v = state_.volume();
    const LabelMap* labels = state_.labels();
    if (!v || !labels || labels->geometry().size != v->geometry().size) return;
    dirty_ = false;
    std::array<bool, 256> shown{};
    for (int l = 1; l < 256; ++l) {
        const Segment* s =
            state_.segments() ? state_.segments()->find(static_cast<std::uint8_t>(l)) : nullptr;
        shown[l] = !s || s->visible;
    }
    // The pool thread works on its own copy (finding which labels occur there too), so edits go on meanwhile.
    watcher_.setFuture(QtConcurrent::run(
        [g = v->geometry(), copy = labels->labels(), shown] { return buildSurfaces(g, copy, shown); }));
}

void SurfaceView::resetView() {
    const Volume* v = state_.volume();
    if (!v) return;
    const auto& g = v->geometry();
    const Vec3 c = g.indexToWorld(
        {(double(g.size[0]) - 1) / 2, (double(g.size[1]) - 1) / 2, (double(g.size[2]) - 1) / 2});
    vtkCamera* cam = renderer()->GetActiveCamera();
    cam->SetFocalPoint(c[0], c[1], c[2]);
    cam->SetPosition(c[0], c[1] - 1000, c[2]);  // anterior is -Y in LPS
    cam->SetViewUp(0, 0, 1);
    renderer()->ResetCamera(outline_->GetBounds());
    update();
}

void SurfaceView::mousePressEvent(QMouseEvent* e) {
    lastPos_ = e->position();
    dragButton_ = e->button();
}

void SurfaceView::mouseMoveEvent(QMouseEvent* e) {
    const QPointF d = e->position() - lastPos_;
    lastPos_ = e->position();
    vtkCamera* cam = renderer()->GetActiveCamera();
    if (dragButton_ == Qt::LeftButton && (e->buttons() & Qt::LeftButton)) {
        cam->Azimuth(-d.x() * 0.4);
        cam->Elevation(d.y() * 0.4);
        cam->OrthogonalizeViewUp();
    } else if (dragButton_ == Qt::RightButton && (e->buttons() & Qt::RightButton)) {
        cam->Dolly(std::pow(1.01, -d.y()));
    } else {
        return;
    }
    renderer()->ResetCameraClippingRange();
    update();
}

void SurfaceView::mouseDoubleClickEvent(QMouseEvent* e) {
    if (e->button() == Qt::LeftButton) Q_EMIT maximizeRequested();
}

void SurfaceView::wheelEvent(QWheelEvent* e) {
    renderer()->GetActiveCamera()->Dolly(std::pow(1.1, e->angleDelta().y() / 120.0));
    renderer()->ResetCameraClippingRange();
    update();
}

void SurfaceView::keyPressEvent(QKeyEvent* e) {
    if (e->key() == Qt::Key_R)
        resetView();
    else
        RenderWidget::keyPressEvent(e);
}

}  // namespace engram::viewers
