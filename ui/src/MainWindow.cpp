#include <engram/annotation/DicomSeg.h>
#include <engram/annotation/Errors.h>
#include <engram/annotation/VolumeIO.h>
#include <engram/ui/AppSettings.h>
#include <engram/ui/EditTools.h>
#include <engram/ui/FineTuneDialog.h>
#include <engram/ui/HistoryPanel.h>
#include <engram/ui/MainWindow.h>
#include <engram/ui/PacsBrowser.h>
#include <engram/ui/SegmentPanel.h>
#include <engram/ui/SettingsDialog.h>
#include <engram/ui/StatisticsDialog.h>

#include <QAction>
#include <QActionGroup>
#include <QApplication>
#include <QCheckBox>
#include <QCloseEvent>
#include <QComboBox>
#include <QDialog>
#include <QDockWidget>
#include <QDoubleSpinBox>
#include <QFileDialog>
#include <QFileInfo>
#include <QGridLayout>
#include <QHBoxLayout>
#include <QInputDialog>
#include <QLabel>
#include <QMenuBar>
#include <QMessageBox>
#include <QMimeData>
#include <QProgressBar>
#include <QPushButton>
#include <QSlider>
#include <QStatusBar>
#include <QToolBar>
#include <QToolButton>

#include <spdlog/spdlog.h>

#include <cmath>

namespace engram::ui {
namespace {

constexpr int kMaxRecent = 8;

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

void MainWindow::buildToolBars() {
    QToolBar* toolBar = addToolBar(tr("Tools"));
    toolBar->setObjectName("toolsToolBar");
    tools_ = new QActionGroup(this);
    struct ToolDef {
        Tool tool;
        QString name, key, tip;
    };
    const ToolDef defs[] = {
        {Tool::Navigate, tr("Navigate"), "N",
         tr("Left: move the cursor; right-drag: zoom; middle-drag: pan")},
        {Tool::AiClick, tr("AI click"), "A", tr("Left click: include; right or Shift+click: exclude")},
        {Tool::Brush, tr("Brush"), "B", tr("Paint the active segment (right button erases)")},
        {Tool::Eraser, tr("Eraser"), "E", tr("Erase the active segment")},
        {Tool::Fill, tr("Fill"), "F", tr("Fill the connected region within the value range")},
    };
    for (const auto& d : defs) {
        QAction* a = toolBar->addAction(d.name);
        a->setCheckable(true);
        a->setShortcut(QKeySequence(d.key));
        a->setToolTip(QString("%1 (%2): %3").arg(d.name, d.key, d.tip));
        a->setData(static_cast<int>(d.tool));
        tools_->addAction(a);
        if (d.tool == Tool::Navigate) a->setChecked(true);
    }
    connect(tools_, &QActionGroup::triggered, this,
            [this](QAction* a) { editor_.setTool(static_cast<Tool>(a->data().toInt())); });

    // The open AI preview: accept it into the segment, or take all its clicks back.
    acceptPreview_ = toolBar->addAction(tr("Accept"));
    acceptPreview_->setShortcuts({QKeySequence(Qt::Key_Return), QKeySequence(Qt::Key_Enter)});
    acceptPreview_->setToolTip(tr("Accept the AI preview (Enter)"));
    connect(acceptPreview_, &QAction::triggered, &controller_, &AnnotationController::acceptPreview);
    discardPreview_ = toolBar->addAction(tr("Discard"));
    discardPreview_->setShortcut(QKeySequence(Qt::Key_Escape));
    discardPreview_->setToolTip(tr("Discard the AI preview: undo all its clicks, memory included (Esc)"));
    connect(discardPreview_, &QAction::triggered, &controller_, &AnnotationController::discardPreview);
    // Enter and Esc act on the preview only while the views have the focus (not, e.g., in a segment's name).
    for (QAction* a : {acceptPreview_, discardPreview_}) {
        a->setShortcutContext(Qt::WidgetWithChildrenShortcut);
        viewArea_->addAction(a);
    }
    onPreviewChanged();
    clickMethod_ = new QComboBox(this);
    clickMethod_->addItem(tr("Engram model"), static_cast<int>(ClickMethod::Model));
    clickMethod_->addItem(tr("Grow from seeds"), static_cast<int>(ClickMethod::GrowFromSeeds));
    clickMethod_->setToolTip(
        tr("What AI clicks segment with: the AI model, or the classical grow from seeds "
           "(used whenever no model is loaded)"));
    editor_.setClickMethod(static_cast<ClickMethod>(AppSettings::load().clickMethod));
    connect(clickMethod_, &QComboBox::activated, this, [this](int index) {
        editor_.setClickMethod(static_cast<ClickMethod>(clickMethod_->itemData(index).toInt()));
        auto settings = AppSettings::load();
        settings.clickMethod = index;
        settings.save();
    });
    toolBar->addWidget(clickMethod_);

    toolBar->addSeparator();
    toolBar->addWidget(new QLabel(tr(" Brush "), this));
    brushRadius_ = new QDoubleSpinBox(this);
    brushRadius_->setRange(EditorState::kMinBrushRadius, EditorState::kMaxBrushRadius);
    brushRadius_->setSuffix(" mm");
    brushRadius_->setToolTip(tr("Brush and eraser radius"));
    toolBar->addWidget(brushRadius_);
    toolBar->addWidget(new QLabel(tr(" Fill range "), this));
    fillLow_ = new QDoubleSpinBox(this);
    fillHigh_ = new QDoubleSpinBox(this);
    for (auto* s : {fillLow_, fillHigh_}) {
        s->setRange(-100000, 100000);
        s->setDecimals(1);
        toolBar->addWidget(s);
    }
    fill3D_ = new QCheckBox(tr("3D"), this);
    fill3D_->setToolTip(tr("Fill the connected region through the volume, not only within the slice"));
    toolBar->addWidget(fill3D_);
    // The widgets show the editor state and set it (scripts set it too).
    const auto showOptions = [this] {
        const QSignalBlocker b1(brushRadius_), b2(fillLow_), b3(fillHigh_), b4(fill3D_), b5(clickMethod_);
        brushRadius_->setValue(editor_.brushRadius());
        fillLow_->setValue(editor_.fillLow());
        fillHigh_->setValue(editor_.fillHigh());
        fill3D_->setChecked(editor_.fill3D());
        clickMethod_->setCurrentIndex(clickMethod_->findData(static_cast<int>(editor_.clickMethod())));
    };
    showOptions();
    connect(&editor_, &EditorState::optionsChanged, this, showOptions);
    connect(brushRadius_, &QDoubleSpinBox::valueChanged, &editor_, &EditorState::setBrushRadius);
    for (auto* s : {fillLow_, fillHigh_})
        connect(s, &QDoubleSpinBox::valueChanged, this,
                [this] { editor_.setFillRange(fillLow_->value(), fillHigh_->value()); });
    connect(fill3D_, &QCheckBox::toggled, &editor_, &EditorState::setFill3D);

    toolBar->addSeparator();
    propagateAxis_ = new QComboBox(this);
    propagateAxis_->addItems({tr("Axial"), tr("Coronal"), tr("Sagittal")});
    propagateAxis_->setToolTip(tr("The slices propagation runs through"));
    auto* propagateButton = new QToolButton(this);
    propagateButton->setText(tr("Propagate"));
    propagateButton->setPopupMode(QToolButton::MenuButtonPopup);
    propagateButton->setToolTip(
        tr("Propagate (P): carry the active segment's mask on the cursor's slice up and down the volume"));
    auto* propagateMenu = new QMenu(propagateButton);
    auto axisOf = [this] { return 2 - propagateAxis_->currentIndex(); };  // axial k, coronal j, sagittal i
    auto* both = new QAction(tr("Propagate"), this);
    both->setShortcut(QKeySequence("P"));
    connect(both, &QAction::triggered, this, [this, axisOf] { propagate(axisOf(), true, true); });
    connect(propagateMenu->addAction(tr("Propagate up only")), &QAction::triggered, this,
            [this, axisOf] { propagate(axisOf(), true, false); });
    connect(propagateMenu->addAction(tr("Propagate down only")), &QAction::triggered, this,
            [this, axisOf] { propagate(axisOf(), false, true); });
    propagateButton->setDefaultAction(both);
    propagateButton->setMenu(propagateMenu);
    toolBar->addWidget(propagateButton);
    toolBar->addWidget(propagateAxis_);

    QToolBar* viewBar = addToolBar(tr("View"));
    viewBar->setObjectName("viewToolBar");
    viewBar->addWidget(new QLabel(tr(" Window "), this));
    windowPresets_ = new QComboBox(this);
    for (const auto& p : viewers::ctWindowPresets()) windowPresets_->addItem(p.name);
    windowPresets_->addItem(tr("Auto (histogram)"));
    viewBar->addWidget(windowPresets_);
    connect(windowPresets_, &QComboBox::activated, this, [this](int i) {
        if (!volume()) return;
        const auto& presets = viewers::ctWindowPresets();
        state_.setWindowLevel(i < int(presets.size()) ? presets[std::size_t(i)].value
                                                      : viewers::autoWindow(*volume()));
    });
    viewBar->addWidget(new QLabel(tr(" Opacity "), this));
    auto* opacity = new QSlider(Qt::Horizontal, this);
    opacity->setRange(0, 100);
    opacity->setValue(50);
    opacity->setMaximumWidth(120);
    connect(opacity, &QSlider::valueChanged, this, [this](int v) { state_.setOverlayOpacity(v / 100.0); });
    viewBar->addWidget(opacity);
    auto* outline = new QCheckBox(tr("Outline"), this);
    connect(outline, &QCheckBox::toggled, &state_, &viewers::ViewerState::setOutline);
    viewBar->addWidget(outline);
}

void MainWindow::buildMenus() {
    QMenu* file = menuBar()->addMenu(tr("&File"));
    QAction* openFile = file->addAction(tr("&Open Volume..."));
    openFile->setShortcut(QKeySequence::Open);
    connect(openFile, &QAction::triggered, this, [this] {
        if (!confirmDiscard()) return;
        const QString p = QFileDialog::getOpenFileName(
            this, tr("Open volume"), {},
            tr("Volumes (*.nii *.nii.gz *.nrrd *.nhdr *.mha *.mhd *.mgh *.mgz)"));
        if (!p.isEmpty()) workspace_.open(p);
    });
    connect(file->addAction(tr("Open Se&gmentation...")), &QAction::triggered, this, [this] {
        const QString p = QFileDialog::getOpenFileName(
            this, tr("Open a segmentation of this volume"), {},
            tr("Segmentations (*.dcm *.nii *.nii.gz *.nrrd *.nhdr *.mha *.mhd *.mgz);;All files (*)"));
        if (!p.isEmpty()) openSegmentation(p);
    });
    QAction* openDicom = file->addAction(tr("Open &DICOM Folder..."));
    connect(openDicom, &QAction::triggered, this, [this] {
        if (!confirmDiscard()) return;
        const QString p = QFileDialog::getExistingDirectory(this, tr("Open DICOM folder"));
        if (!p.isEmpty()) workspace_.open(p);
    });
    recentMenu_ = file->addMenu(tr("Open &Recent"));
    rebuildRecentMenu();
    file->addSeparator();
    QAction* openSess = file->addAction(tr("Open &Session..."));
    connect(openSess, &QAction::triggered, this, [this] {
        if (!confirmDiscard()) return;
        const QString p =
            QFileDialog::getOpenFileName(this, tr("Open session"), {}, tr("Engram sessions (*.engram)"));
        if (!p.isEmpty()) workspace_.openSession(p);
    });
    QAction* save = file->addAction(tr("&Save Session"));
    save->setShortcut(QKeySequence::Save);
    QAction* saveAs = file->addAction(tr("Save Session &As..."));
    saveAs->setShortcut(QKeySequence::SaveAs);
    auto saveTo = [this](bool ask) {
        if (!volume()) return;
        QString p = workspace_.sessionPath();
        if (ask || p.isEmpty())
            p = QFileDialog::getSaveFileName(this, tr("Save session"), p, tr("Engram sessions (*.engram)"));
        if (p.isEmpty()) return;
        if (!p.endsWith(".engram")) p += ".engram";
        workspace_.saveSession(p);
    };
    connect(save, &QAction::triggered, this, [saveTo] { saveTo(false); });
    connect(saveAs, &QAction::triggered, this, [saveTo] { saveTo(true); });
    file->addSeparator();
    QAction* exportNifti = file->addAction(tr("Export Labels as &NIfTI..."));
    connect(exportNifti, &QAction::triggered, this, [this] {
        if (!volume()) return;
        const QString p =
            QFileDialog::getSaveFileName(this, tr("Export labels"), {}, tr("NIfTI (*.nii.gz *.nii)"));
        if (!p.isEmpty()) workspace_.exportLabels(p);
    });
    QAction* exportSeg = file->addAction(tr("Export Labels as DICOM-&SEG..."));
    connect(exportSeg, &QAction::triggered, this, [this] {
        if (!volume()) return;
        const QString p = QFileDialog::getSaveFileName(this, tr("Export DICOM-SEG"), {}, tr("DICOM (*.dcm)"));
        if (!p.isEmpty()) workspace_.exportLabels(p.endsWith(".dcm") ? p : p + ".dcm");
    });
    file->addSeparator();
    connect(file->addAction(tr("Open from &PACS...")), &QAction::triggered, this, [this] {
        PacsBrowser browser(this);
        if (browser.exec() != QDialog::Accepted) return;
        const auto chosen = browser.choice();
        if (chosen && confirmDiscard())
            workspace_.retrieveFromPacs(chosen->node, chosen->study, chosen->series);
    });
    connect(file->addAction(tr("Send Segmentation to PACS...")), &QAction::triggered, this,
            &MainWindow::chooseNodeAndSend);
    file->addSeparator();
    connect(file->addAction(tr("Se&ttings...")), &QAction::triggered, this, &MainWindow::openSettings);
    connect(file->addAction(tr("DICOM &Nodes...")), &QAction::triggered, this, [this] {
        PacsNodesDialog dialog(this);
        dialog.exec();
    });
    QAction* quit = file->addAction(tr("&Quit"));
    quit->setShortcut(QKeySequence::Quit);
    connect(quit, &QAction::triggered, this, &QWidget::close);

    QMenu* edit = menuBar()->addMenu(tr("&Edit"));
    QAction* undo = controller_.undoStack().createUndoAction(this, tr("&Undo"));
    undo->setShortcut(QKeySequence::Undo);
    QAction* redo = controller_.undoStack().createRedoAction(this, tr("&Redo"));
    redo->setShortcuts({QKeySequence("Ctrl+Shift+Z"), QKeySequence::Redo});
    edit->addAction(undo);
    edit->addAction(redo);
    edit->addSeparator();
    edit->addAction(acceptPreview_);
    edit->addAction(discardPreview_);

    QMenu* view = menuBar()->addMenu(tr("&View"));
    connect(view->addAction(tr("Four views (2x2)")), &QAction::triggered, this,
            [this] { setLayoutMode(Layout::Grid); });
    connect(view->addAction(tr("Three slices + 3D")), &QAction::triggered, this,
            [this] { setLayoutMode(Layout::RowPlus3D); });
    const char* names[] = {"Axial", "Coronal", "Sagittal", "3D"};
    for (int i = 0; i < 4; ++i) {
        QAction* a = view->addAction(tr("Only %1").arg(names[i]));
        a->setShortcut(QKeySequence(QString("F%1").arg(i + 5)));
        connect(a, &QAction::triggered, this, [this, i] { setLayoutMode(Layout::Single, i); });
    }
    view->addSeparator();
    connect(view->addAction(tr("Reset Views")), &QAction::triggered, this, [this] {
        for (auto* s : slices_) s->resetView();
        surface_->resetView();
    });

    QMenu* segment = menuBar()->addMenu(tr("&Segment"));
    QAction* inSlice = segment->addAction(tr("Within the Current Slice"));
    inSlice->setCheckable(true);
    inSlice->setToolTip(tr("Segment tools act on the cursor's slice (of the propagation axis) only"));
    segment->addSeparator();
    for (const auto& d : segmentTools()) {
        if (d.tool == SegmentTool::FillBetweenSlices) segment->addSeparator();
        connect(segment->addAction(QCoreApplication::translate("SegmentTools", d.menu)), &QAction::triggered,
                this, [this, &d, inSlice] {
                    double value = d.value;
                    if (d.parameter && options_.interactive) {
                        bool ok = false;
                        value = QInputDialog::getDouble(this, d.title(), tr("Size (%1):").arg(d.parameter),
                                                        d.value, 0, d.maximum, 1, &ok);
                        if (!ok) return;
                    }
                    runSegmentTool(d.tool, value, inSlice->isChecked(), 2 - propagateAxis_->currentIndex());
                });
    }

    segment->addSeparator();
    connect(segment->addAction(tr("Combine with a Label File...")), &QAction::triggered, this, [this] {
        const QString path =
            QFileDialog::getOpenFileName(this, tr("Label file on this volume's grid"), {},
                                         tr("Label images (*.nii *.nii.gz *.nrrd *.mha *.mhd *.mgz)"));
        if (path.isEmpty()) return;
        bool ok = false;
        const int label =
            QInputDialog::getInt(this, tr("Combine"), tr("Label value in the file:"), 1, 1, 255, 1, &ok);
        if (!ok) return;
        const QStringList operations{tr("Union (add its voxels)"),
                                     tr("Intersect (keep only the common voxels)"),
                                     tr("Subtract (remove its voxels)")};
        const QString chosen =
            QInputDialog::getItem(this, tr("Combine"), tr("Operation:"), operations, 0, false, &ok);
        if (!ok) return;
        combineWithLabelFile(path, label, static_cast<LogicalOperation>(operations.indexOf(chosen)));
    });
    connect(segment->addAction(tr("Segment &Statistics...")), &QAction::triggered, this, [this] {
        if (!controller_.volume()) return reportError(tr("Segment statistics"), tr("Open a volume first."));
        if (statistics_) {
            statistics_->refresh();
            statistics_->raise();
            return;
        }
        statistics_ =
            new StatisticsDialog(*controller_.volume(), controller_.labels(), controller_.segments(), this);
        statistics_->setAttribute(Qt::WA_DeleteOnClose);
        statistics_->show();
    });
    // The dialog holds the document it was opened on.
    connect(&workspace_, &Workspace::volumeChanged, this, [this] {
        if (statistics_) statistics_->close();
    });

    QMenu* tools = menuBar()->addMenu(tr("&Tools"));
    tools->addActions(tools_->actions());
    tools->addSeparator();
    connect(tools->addAction(tr("Fine-tune AI Model...")), &QAction::triggered, this, &MainWindow::openFineTune);
    QMenu* help = menuBar()->addMenu(tr("&Help"));
    connect(help->addAction(tr("&About Engram")), &QAction::triggered, this, [this] {
        QMessageBox::about(
            this, tr("About Engram"),
            tr("<b>Engram %1</b><br>3D annotation of CT and MR volumes with AI that remembers.")
                .arg(QApplication::applicationVersion()));
    });
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

void MainWindow::chooseNodeAndSend() {
    const PacsSettings settings = PacsSettings::load();
    if (settings.nodes.empty()) {
        reportError(tr("Send to PACS"), tr("No DICOM node yet: add one in File > DICOM Nodes."));
        return;
    }
    QStringList names;
    for (const auto& n : settings.nodes) names << n.name;
    bool ok = false;
    const QString name = QInputDialog::getItem(this, tr("Send to PACS"), tr("Send the segmentation to:"),
                                               names, 0, false, &ok);
    if (ok) workspace_.sendToPacs(settings.find(name)->node);
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

void MainWindow::addRecent(const QString& path) {
    auto settings = AppSettings::load();
    settings.recent.removeAll(path);
    settings.recent.prepend(path);
    while (settings.recent.size() > kMaxRecent) settings.recent.removeLast();
    settings.save();
    rebuildRecentMenu();
}

void MainWindow::rebuildRecentMenu() {
    recentMenu_->clear();
    for (const QString& p : AppSettings::load().recent)
        connect(recentMenu_->addAction(p), &QAction::triggered, this, [this, p] {
            if (confirmDiscard()) workspace_.open(p);
        });
    recentMenu_->setEnabled(!recentMenu_->isEmpty());
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

void MainWindow::openSettings() {
    const AppSettings before = AppSettings::load();
    const auto after = editSettings(this, before);
    if (!after) return;
    after->save();
    workspace_.applySettings(before, *after);
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

void MainWindow::openFineTune() {
    auto choice = askFineTune(this, volume() != nullptr);
    if (!choice) return;
    model::TrainOptions o;
    o.epochs = choice->epochs;
    workspace_.fineTune(choice->document, std::move(choice->sessions), std::move(o));
}

}  // namespace engram::ui
