#include <engram/annotation/DicomSeg.h>
#include <engram/annotation/Errors.h>
#include <engram/annotation/VolumeIO.h>
#include <engram/ui/AppSettings.h>
#include <engram/ui/EditTools.h>
#include <engram/ui/HistoryPanel.h>
#include <engram/ui/MainWindow.h>
#include <engram/ui/SegmentPanel.h>

#include <QAction>
#include <QActionGroup>
#include <QCloseEvent>
#include <QComboBox>
#include <QDockWidget>
#include <QFileDialog>
#include <QFileInfo>
#include <QGridLayout>
#include <QInputDialog>
#include <QLabel>
#include <QMessageBox>
#include <QMimeData>
#include <QProgressBar>
#include <QPushButton>
#include <QStatusBar>

#include <spdlog/spdlog.h>

#include <cmath>

namespace engram::ui {
namespace {

const char* layoutName(Layout l) {
    switch (l) {
        case Layout::Grid:
            return "grid";
        case Layout::RowPlus3D:
            return "row";
        case Layout::Single:
            return "single";
    }
    return "grid";
}

}  // namespace

MainWindow::MainWindow(MainWindowOptions options, QWidget* parent)
    : QMainWindow(parent), options_(std::move(options)), workspace_([this] {
          WorkspaceOptions o = options_.workspace;
          o.rememberModels = options_.interactive;  // scripted runs leave the settings alone
          return o;
      }()) {
    setWindowTitle("Engram");
    setWindowIcon(QIcon(":/engram.svg"));
    resize(1440, 900);
    setAcceptDrops(true);

    viewArea_ = new QWidget(this);
    grid_ = new QGridLayout(viewArea_);
    grid_->setContentsMargins(0, 0, 0, 0);
    grid_->setSpacing(2);
    const viewers::ViewKind kinds[3] = {viewers::ViewKind::Axial, viewers::ViewKind::Coronal,
                                        viewers::ViewKind::Sagittal};
    for (int i = 0; i < 3; ++i) {
        slices_[i] = new viewers::SliceView(state_, kinds[i], viewArea_);
        connect(slices_[i], &viewers::SliceView::toolEvent, this, &MainWindow::onToolEvent);
        connect(slices_[i], &viewers::SliceView::maximizeRequested, this,
                [this, i] { setLayoutMode(layout_ == Layout::Single ? Layout::Grid : Layout::Single, i); });
        connect(slices_[i], &viewers::SliceView::hovered, this,
                [this](const Index3& v, bool inside, float value) {
                    cursorInfo_->setText(inside ? QString("voxel %1, %2, %3   value %4")
                                                      .arg(v[0])
                                                      .arg(v[1])
                                                      .arg(v[2])
                                                      .arg(double(value))
                                                : QString());
                });
    }
    surface_ = new viewers::SurfaceView(state_, viewArea_);
    connect(surface_, &viewers::SurfaceView::maximizeRequested, this,
            [this] { setLayoutMode(layout_ == Layout::Single ? Layout::Grid : Layout::Single, 3); });
    setCentralWidget(viewArea_);

    cursorInfo_ = new QLabel(this);
    aiStatus_ = new QLabel(this);
    previewInfo_ = new QLabel(this);
    progress_ = new QProgressBar(this);
    progress_->setMaximumWidth(220);
    cancel_ = new QPushButton(tr("Cancel"), this);
    statusBar()->addWidget(cursorInfo_, 1);
    fineTuneProgress_ = new QProgressBar(this);
    fineTuneProgress_->setMaximumWidth(160);
    fineTuneProgress_->setFormat(tr("Fine-tuning %v/%m"));
    fineTuneStop_ = new QPushButton(tr("Stop Fine-tuning"), this);
    for (QWidget* w : {static_cast<QWidget*>(fineTuneProgress_), static_cast<QWidget*>(fineTuneStop_)}) {
        statusBar()->addPermanentWidget(w);
        w->hide();
    }
    statusBar()->addPermanentWidget(previewInfo_);
    statusBar()->addPermanentWidget(aiStatus_);
    statusBar()->addPermanentWidget(progress_);
    statusBar()->addPermanentWidget(cancel_);
    setBusy(false);

    buildDocks();
    buildToolBars();
    buildMenus();
    setLayoutMode(AppSettings::load().layout == "row" ? Layout::RowPlus3D : Layout::Grid);

    connect(cancel_, &QPushButton::clicked, &workspace_, &Workspace::cancel);
    connect(fineTuneStop_, &QPushButton::clicked, &workspace_, &Workspace::stopFineTune);
    connectWorkspace();

    // The document and its views.
    connect(&controller_, &AnnotationController::labelsChanged, &state_,
            [this](const Index3& b, const Index3& s) { state_.notifyLabelsChanged(b, s); });
    connect(&controller_, &AnnotationController::segmentsChanged, this, [this] {
        state_.notifySegmentsChanged();
        updateMarkers();
        onPreviewChanged();  // the preview's segment may have been renamed
    });
    connect(&controller_, &AnnotationController::historyChanged, this, &MainWindow::updateMarkers);
    connect(&controller_, &AnnotationController::errorOccurred, this,
            [this](const QString& m) { reportError(tr("Segmentation"), m); });
    connect(&controller_, &AnnotationController::noticeOccurred, this,
            [this](const QString& m) { statusBar()->showMessage(m, 10000); });
    connect(&editor_, &EditorState::activeSegmentChanged, this, &MainWindow::updateMarkers);
    connect(&editor_, &EditorState::toolChanged, this, &MainWindow::showTool);
    connect(&controller_, &AnnotationController::previewChanged, this, &MainWindow::onPreviewChanged);

    workspace_.loadEngine();
    workspace_.loadPropagator();
}

void MainWindow::connectWorkspace() {
    Workspace& w = workspace_;
    w.setSeriesChooser([this](const std::vector<DicomSeriesInfo>& images) { return askSeries(images); });
    w.setViewProvider([this] {
        return ViewSnapshot{state_.cursor(),
                            std::array<double, 2>{state_.windowLevel().window, state_.windowLevel().level}};
    });
    connect(&w, &Workspace::volumeOpened, this, &MainWindow::showVolume);
    connect(&w, &Workspace::sessionRestored, this, [this](const ViewSnapshot& view) {
        if (view.cursor) state_.setCursor(*view.cursor);
        if (view.windowLevel) state_.setWindowLevel({(*view.windowLevel)[0], (*view.windowLevel)[1]});
    });
    connect(&w, &Workspace::opened, this, &MainWindow::addRecent);
    connect(&w, &Workspace::titleChanged, this, &MainWindow::updateTitle);
    connect(&w, &Workspace::busyChanged, this, &MainWindow::setBusy);
    connect(&w, &Workspace::progress, this, [this](int value, int maximum, const QString& stage) {
        progress_->setRange(0, maximum);
        progress_->setValue(value);
        statusBar()->showMessage(stage);
    });
    connect(&w, &Workspace::failed, this, &MainWindow::reportError);
    connect(&w, &Workspace::notice, this,
            [this](const QString& message, int ms) { statusBar()->showMessage(message, ms); });
    connect(&w, &Workspace::aiStatusChanged, this, [this](const QString& text, const QString& detail) {
        aiStatus_->setText(text);
        aiStatus_->setToolTip(detail);
    });
    connect(&w, &Workspace::pacsFinished, this, [this](bool ok, const QString&, const QString& folder) {
        // Edits made while the series arrived are the user's to keep or drop before it replaces them.
        if (ok && !folder.isEmpty() && confirmDiscard()) workspace_.open(folder);
    });
    connect(&w, &Workspace::fineTuneStarted, this, [this] {
        fineTuneProgress_->setRange(0, 0);  // busy until the first epoch ends
        fineTuneProgress_->show();
        fineTuneStop_->show();
    });
    connect(&w, &Workspace::fineTuneProgress, this, [this](int epoch, int epochs, double dice, double eta) {
        fineTuneProgress_->setRange(0, epochs);
        fineTuneProgress_->setValue(epoch);
        statusBar()->showMessage(tr("Fine-tuning: epoch %1 of %2, training Dice %3, about %4 min left")
                                     .arg(epoch)
                                     .arg(epochs)
                                     .arg(dice, 0, 'f', 3)
                                     .arg(std::ceil(eta / 60)));
    });
    connect(&w, &Workspace::fineTuneFinished, this, &MainWindow::finishFineTune);
}

std::optional<std::size_t> MainWindow::askSeries(const std::vector<DicomSeriesInfo>& images) {
    if (!options_.interactive) {
        spdlog::warn("{} holds {} series; opening the first", workspace_.volumePath().toStdString(),
                     images.size());
        return 0;
    }
    QStringList items;
    for (const auto& s : images) items << QString::fromStdString(s.summary());
    bool ok = false;
    const QString chosen =
        QInputDialog::getItem(this, tr("Choose a series"),
                              tr("This folder holds %1 series:").arg(images.size()), items, 0, false, &ok);
    if (!ok) return std::nullopt;
    return static_cast<std::size_t>(items.indexOf(chosen));
}

MainWindow::~MainWindow() {
    // Views and panels refer to the document members, which are destroyed before child widgets: they go
    // first, and nothing hears the controller's last signals.
    disconnect(&controller_, nullptr, nullptr, nullptr);
    disconnect(&workspace_, nullptr, this, nullptr);
    delete takeCentralWidget();
    for (auto* dock : findChildren<QDockWidget*>()) delete dock;
}

viewers::SliceView& MainWindow::sliceView(viewers::ViewKind kind) {
    for (auto* v : slices_)
        if (v->kind() == kind) return *v;
    return *slices_[0];
}

void MainWindow::buildDocks() {
    segments_ = new SegmentPanel(controller_, editor_, this);
    history_ = new HistoryPanel(controller_, this);
    auto* segDock = new QDockWidget(tr("Segments"), this);
    segDock->setObjectName("segmentsDock");
    segDock->setWidget(segments_);
    addDockWidget(Qt::RightDockWidgetArea, segDock);
    auto* histDock = new QDockWidget(tr("History"), this);
    histDock->setObjectName("historyDock");
    histDock->setWidget(history_);
    addDockWidget(Qt::RightDockWidgetArea, histDock);
}

bool MainWindow::runSegmentTool(SegmentTool tool, double value, bool inSlice, int axis) {
    return workspace_.runSegmentTool(
        tool, value, axis,
        inSlice && axis >= 0 && axis < 3 ? std::optional(state_.cursor()[std::size_t(axis)]) : std::nullopt);
}

bool MainWindow::openSegmentation(const QString& path, std::optional<SegmentationChoices> choices) {
    SegmentationQuestions ask;
    const QString title = tr("Open segmentation");
    if (!choices && options_.interactive) {
        ask.overlaps = [&](std::int64_t overlapping) -> std::optional<SegmentationChoices::Overlaps> {
            QMessageBox box(
                QMessageBox::Question, title,
                tr("%1 voxels of %2 belong to more than one of its segments.").arg(overlapping).arg(path),
                QMessageBox::Cancel, this);
            auto* separate = box.addButton(tr("Overlaps as Segments of Their Own"), QMessageBox::AcceptRole);
            auto* first = box.addButton(tr("Keep Each Voxel in Its First Segment"), QMessageBox::AcceptRole);
            box.exec();
            if (box.clickedButton() == separate) return SegmentationChoices::Overlaps::Separate;
            if (box.clickedButton() == first) return SegmentationChoices::Overlaps::First;
            return std::nullopt;
        };
        ask.resample = [&](const std::string& grids) {
            return QMessageBox::question(this, title,
                                         QString::fromStdString(grids) +
                                             tr("\n\nResample the labels onto the volume's grid by nearest "
                                                "neighbour?")) == QMessageBox::Yes;
        };
    }
    const bool ok = workspace_.openSegmentation(path, choices.value_or(SegmentationChoices{}), ask);
    if (!ok) lastError_ = workspace_.lastError();  // also when the user declined
    return ok;
}

bool MainWindow::combineWithLabelFile(const QString& path, int fileLabel, LogicalOperation operation) {
    return workspace_.combineWithLabelFile(path, editor_.activeSegment(), fileLabel, operation);
}

void MainWindow::showTool(Tool tool) {
    for (auto* a : tools_->actions()) a->setChecked(a->data().toInt() == static_cast<int>(tool));
    for (auto* s : slices_) {
        s->setToolActive(tool != Tool::Navigate);
        s->setCursor(tool == Tool::Navigate ? Qt::ArrowCursor : Qt::CrossCursor);
    }
    if (controller_.strokeActive()) controller_.endStroke();
    activeTool_ = makeTool(tool, workspace_);
}

void MainWindow::setLayoutMode(Layout layout, int singleView) {
    layout_ = layout;
    QWidget* views[4] = {slices_[0], slices_[1], slices_[2], surface_};
    for (auto* w : views) {
        grid_->removeWidget(w);
        w->hide();
    }
    for (int i = 0; i < 3; ++i) {
        grid_->setRowStretch(i, 0);
        grid_->setColumnStretch(i, 0);
    }
    switch (layout) {
        case Layout::Grid:
            grid_->addWidget(slices_[0], 0, 0);
            grid_->addWidget(surface_, 0, 1);
            grid_->addWidget(slices_[1], 1, 0);
            grid_->addWidget(slices_[2], 1, 1);
            grid_->setRowStretch(0, 1);
            grid_->setRowStretch(1, 1);
            grid_->setColumnStretch(0, 1);
            grid_->setColumnStretch(1, 1);
            for (auto* w : views) w->show();
            break;
        case Layout::RowPlus3D:
            for (int i = 0; i < 3; ++i) {
                grid_->addWidget(slices_[i], 0, i);
                grid_->setColumnStretch(i, 1);
            }
            grid_->addWidget(surface_, 1, 0, 1, 3);
            grid_->setRowStretch(0, 1);
            grid_->setRowStretch(1, 1);
            for (auto* w : views) w->show();
            break;
        case Layout::Single:
            grid_->addWidget(views[std::clamp(singleView, 0, 3)], 0, 0);
            grid_->setRowStretch(0, 1);
            grid_->setColumnStretch(0, 1);
            views[std::clamp(singleView, 0, 3)]->show();
            break;
    }
    if (layout != Layout::Single) {
        auto settings = AppSettings::load();
        settings.layout = layoutName(layout);
        settings.save();
    }
}

bool MainWindow::isIdle() const { return workspace_.isIdle() && !surface_->isUpdating(); }

bool MainWindow::propagate(int axis, bool up, bool down) {
    return workspace_.propagate(axis, axis >= 0 && axis < 3 ? state_.cursor()[std::size_t(axis)] : 0, up,
                                down);
}

void MainWindow::showVolume(const std::shared_ptr<Volume>& volume) {
    state_.setDocument(volume, &controller_.labels(), &controller_.segments());
    windowPresets_->setCurrentIndex(viewers::looksLikeCt(*volume) ? 0 : windowPresets_->count() - 1);
}

void MainWindow::onToolEvent(const viewers::ToolEvent& e) {
    if (!volume() || !activeTool_) return;
    ToolInput input;
    input.world = e.world;
    input.voxel = e.voxel;
    input.inside = e.inside;
    input.normalAxis = e.normalAxis;
    input.secondary = e.button == Qt::RightButton || (e.modifiers & Qt::ShiftModifier);
    input.view = viewers::viewName(e.view);
    switch (e.type) {
        case viewers::ToolEvent::Type::Press:
            activeTool_->press(input);
            break;
        case viewers::ToolEvent::Type::Move:
            activeTool_->drag(input);
            break;
        case viewers::ToolEvent::Type::Release:
            activeTool_->release(input);
            break;
    }
}

void MainWindow::updateMarkers() {
    std::vector<viewers::ClickMarker> markers;
    const auto active = editor_.activeSegment();
    for (const auto& h : controller_.history())
        if (h.applied && h.segment == active && h.isClick())
            markers.push_back({h.world, h.isPositiveClick()});
    state_.setMarkers(std::move(markers));
}

void MainWindow::onPreviewChanged() {
    const std::uint8_t label = controller_.previewSegment();
    state_.setPreviewLabel(label);
    acceptPreview_->setEnabled(label != 0);
    discardPreview_->setEnabled(label != 0);
    previewInfo_->setVisible(label != 0);
    if (label == 0) return;
    const Segment* s = controller_.segments().find(label);
    previewInfo_->setText(tr("AI preview of %1: Enter accepts, Esc discards")
                              .arg(s ? QString::fromStdString(s->name) : QString::number(label)));
}

bool MainWindow::checkRecovery(std::optional<bool> restore) {
    const auto orphans = workspace_.recoveryOrphans();
    if (orphans.empty()) return false;
    bool yes = restore.value_or(false);
    if (!restore && options_.interactive) {
        yes = QMessageBox::question(this, tr("Restore work"),
                                    tr("Engram did not close normally last time. Restore the work autosaved "
                                       "at %1?")
                                        .arg(QFileInfo(QString::fromStdString(orphans.front().string()))
                                                 .lastModified()
                                                 .toString())) == QMessageBox::Yes;
    } else if (!restore) {
        return false;  // scripted runs leave recovery files alone unless told
    }
    if (!yes) {
        workspace_.discardRecoveries();
        return false;
    }
    workspace_.restoreRecovery(orphans.front());
    return true;
}

void MainWindow::reportError(const QString& title, const QString& message) {
    lastError_ = message;
    spdlog::error("{}: {}", title.toStdString(), message.toStdString());
    statusBar()->showMessage(message, 15000);
    if (options_.interactive) QMessageBox::warning(this, title, message);
}

void MainWindow::setBusy(bool busy, const QString& what, bool cancellable) {
    progress_->setVisible(busy);
    cancel_->setVisible(busy && cancellable);
    if (busy) progress_->setRange(0, 0);  // indeterminate until progress is reported
    if (!what.isEmpty())
        statusBar()->showMessage(what);
    else if (!busy)
        statusBar()->clearMessage();
}

void MainWindow::updateTitle() {
    QString title = "Engram";
    if (volume()) {
        title += " - " + QString::fromStdString(volume()->metadata().description);
        if (!workspace_.sessionPath().isEmpty())
            title += " [" + QFileInfo(workspace_.sessionPath()).fileName() + "]";
        if (controller_.isModified()) title += " *";
    }
    setWindowTitle(title);
}

bool MainWindow::confirmDiscard() {
    if (!volume() || !controller_.isModified() || !options_.interactive) return true;
    const auto answer = QMessageBox::question(
        this, tr("Unsaved changes"), tr("The annotation has unsaved changes. Save them as a session?"),
        QMessageBox::Save | QMessageBox::Discard | QMessageBox::Cancel);
    if (answer == QMessageBox::Cancel) return false;
    if (answer == QMessageBox::Discard) return true;
    QString p = workspace_.sessionPath();
    if (p.isEmpty())
        p = QFileDialog::getSaveFileName(this, tr("Save session"), {}, tr("Engram sessions (*.engram)"));
    return !p.isEmpty() && workspace_.saveSession(p);
}

void MainWindow::closeEvent(QCloseEvent* e) {
    if (!confirmDiscard()) {
        e->ignore();
        return;
    }
    workspace_.shutDown();
    e->accept();
}

void MainWindow::dragEnterEvent(QDragEnterEvent* e) {
    if (e->mimeData()->hasUrls()) e->acceptProposedAction();
}

void MainWindow::dropEvent(QDropEvent* e) {
    const auto urls = e->mimeData()->urls();
    if (!urls.isEmpty()) openDropped(urls.front().toLocalFile());
}

bool MainWindow::openDropped(const QString& path) {
    const std::string p = path.toStdString();
    if (volume() && isDicomSegFile(p)) return openSegmentation(path);
    if (volume() && isVolumeFile(p)) {
        bool asSegmentation = true;
        if (options_.interactive) {
            QMessageBox box(QMessageBox::Question, tr("Open %1").arg(QFileInfo(path).fileName()),
                            tr("Open %1 as a segmentation of the open volume, or as a new volume?").arg(path),
                            QMessageBox::Cancel, this);
            auto* segmentation = box.addButton(tr("As Segmentation"), QMessageBox::AcceptRole);
            auto* image = box.addButton(tr("As New Volume"), QMessageBox::AcceptRole);
            box.setDefaultButton(segmentation);
            box.exec();
            if (box.clickedButton() != segmentation && box.clickedButton() != image) return false;
            asSegmentation = box.clickedButton() == segmentation;
        }
        if (asSegmentation) return openSegmentation(path);
    }
    if (!confirmDiscard()) return false;
    if (path.endsWith(".engram"))
        workspace_.openSession(path);
    else
        workspace_.open(path);
    return true;
}

void MainWindow::finishFineTune(bool ok, const QString& message, const QString& path) {
    fineTuneProgress_->hide();
    fineTuneStop_->hide();
    if (!ok) return;  // reported by the workspace
    statusBar()->showMessage(message, 15000);
    const bool use = !options_.interactive ||
                     QMessageBox::question(this, tr("Fine-tuning finished"),
                                           message + "\n\n" + tr("Use the fine-tuned model now?")) ==
                         QMessageBox::Yes;
    if (use) workspace_.useModel(path);
}

}  // namespace engram::ui
