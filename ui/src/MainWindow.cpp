#include <engram/annotation/DicomSeg.h>
#include <engram/annotation/Errors.h>
#include <engram/annotation/LabelTable.h>
#include <engram/annotation/VolumeIO.h>
#include <engram/ui/AppSettings.h>
#include <engram/ui/FineTuneDialog.h>
#include <engram/ui/HistoryPanel.h>
#include <engram/ui/MainWindow.h>
#include <engram/ui/PacsBrowser.h>
#include <engram/ui/SegmentPanel.h>
#include <engram/ui/StatisticsDialog.h>

#include <QAction>
#include <QActionGroup>
#include <QApplication>
#include <QCheckBox>
#include <QCloseEvent>
#include <QComboBox>
#include <QDateTime>
#include <QDialog>
#include <QDir>
#include <QDockWidget>
#include <QDoubleSpinBox>
#include <QFileDialog>
#include <QFileInfo>
#include <QGridLayout>
#include <QHBoxLayout>
#include <QInputDialog>
#include <QLabel>
#include <QLineEdit>
#include <QMenuBar>
#include <QMessageBox>
#include <QMimeData>
#include <QProgressBar>
#include <QPushButton>
#include <QSlider>
#include <QStandardPaths>
#include <QStatusBar>
#include <QToolBar>
#include <QToolButton>
#include <QtConcurrent/QtConcurrentRun>

#include <spdlog/spdlog.h>

#include <cmath>

#ifndef ENGRAM_DEFAULT_MODEL
#define ENGRAM_DEFAULT_MODEL ""
#endif
#ifndef ENGRAM_DEFAULT_PROPAGATOR
#define ENGRAM_DEFAULT_PROPAGATOR ""
#endif

namespace engram::ui {
namespace {

constexpr int kMaxRecent = 8;

// A bundled model file: next to an installed executable (../share/engram/models), else the build's default.
QString bundled(const QString& buildDefault) {
    const QString installed = QCoreApplication::applicationDirPath() + "/../share/engram/models/" +
                              QFileInfo(buildDefault).fileName();
    if (QFileInfo::exists(installed)) return QFileInfo(installed).canonicalFilePath();
    return buildDefault;
}
QString bundledModel() { return bundled(QString(ENGRAM_DEFAULT_MODEL)); }
QString bundledPropagator() { return bundled(QString(ENGRAM_DEFAULT_PROPAGATOR)); }

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

struct SegmentToolDef {
    SegmentTool tool;
    const char* name;       // in scripts
    const char* menu;       // menu entry (translated)
    const char* parameter;  // unit of its parameter, or null
    double value = 0, maximum = 0;
};
const SegmentToolDef kSegmentTools[] = {
    {SegmentTool::KeepLargestIsland, "keep-largest-island",
     QT_TRANSLATE_NOOP("MainWindow", "Keep Largest Island"), nullptr},
    {SegmentTool::RemoveSmallIslands, "remove-small-islands",
     QT_TRANSLATE_NOOP("MainWindow", "Remove Small Islands..."), "mL", 1, 100000},
    {SegmentTool::FillHoles, "fill-holes", QT_TRANSLATE_NOOP("MainWindow", "Fill Holes"), nullptr},
    {SegmentTool::Median, "median", QT_TRANSLATE_NOOP("MainWindow", "Smooth (Median)..."), "mm", 2, 50},
    {SegmentTool::Opening, "opening", QT_TRANSLATE_NOOP("MainWindow", "Smooth (Opening: Remove Spurs)..."),
     "mm", 2, 50},
    {SegmentTool::Closing, "closing", QT_TRANSLATE_NOOP("MainWindow", "Smooth (Closing: Fill Gaps)..."), "mm",
     2, 50},
    {SegmentTool::Grow, "grow", QT_TRANSLATE_NOOP("MainWindow", "Grow by..."), "mm", 3, 100},
    {SegmentTool::Shrink, "shrink", QT_TRANSLATE_NOOP("MainWindow", "Shrink by..."), "mm", 3, 100},
    {SegmentTool::FillBetweenSlices, "fill-between-slices",
     QT_TRANSLATE_NOOP("MainWindow", "Fill Between Slices"), nullptr},
};

const SegmentToolDef& definitionOf(SegmentTool tool) {
    return *std::find_if(std::begin(kSegmentTools), std::end(kSegmentTools),
                         [&](const SegmentToolDef& d) { return d.tool == tool; });
}

}  // namespace

MainWindow::MainWindow(MainWindowOptions options, QWidget* parent)
    : QMainWindow(parent), options_(std::move(options)) {
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

    // Loading.
    connect(cancel_, &QPushButton::clicked, this, [this] {
        if (loading_) loader_.cancel();
        if (aiBusy_ || controller_.propagationRunning()) service_.cancel();
        if (pacsBusy_) pacsProgress_.cancel();
    });
    connect(fineTuneStop_, &QPushButton::clicked, &fineTuner_, &FineTuner::stop);
    connect(&loader_, &AsyncVolumeLoader::progress, this, [this](double f, const QString& stage) {
        progress_->setRange(0, 1000);
        progress_->setValue(static_cast<int>(f * 1000));
        statusBar()->showMessage(stage);
    });
    connect(&loader_, &AsyncVolumeLoader::volumeLoaded, this, &MainWindow::showVolume);
    connect(&loader_, &AsyncVolumeLoader::failed, this, [this](const QString& message) {
        loading_ = false;
        pendingSession_.reset();
        setBusy(false);
        reportError(tr("Cannot open"), message);
        Q_EMIT loadFailed(message);
    });
    connect(&loader_, &AsyncVolumeLoader::cancelled, this, [this] {
        loading_ = false;
        pendingSession_.reset();
        setBusy(false);
        statusBar()->showMessage(tr("Loading cancelled"), 5000);
    });
    connect(&loader_, &AsyncVolumeLoader::seriesFound, this, [this](std::vector<DicomSeriesInfo> all) {
        std::vector<DicomSeriesInfo> images;
        for (auto& s : all)
            if (!s.isSegmentation) images.push_back(std::move(s));
        if (images.empty()) {
            loader_.cancel();
            loading_ = false;
            setBusy(false);
            reportError(tr("Cannot open"), tr("The folder %1 holds no DICOM image series.").arg(volumePath_));
            Q_EMIT loadFailed(lastError_);
            return;
        }
        std::size_t pick = 0;
        for (std::size_t i = 0; i < images.size(); ++i)
            if (QString::fromStdString(images[i].key) == seriesKey_) pick = i;
        if (images.size() > 1 && seriesKey_.isEmpty() && options_.interactive) {
            QStringList items;
            for (const auto& s : images) items << QString::fromStdString(s.summary());
            bool ok = false;
            const QString chosen = QInputDialog::getItem(
                this, tr("Choose a series"), tr("This folder holds %1 series:").arg(images.size()), items, 0,
                false, &ok);
            if (!ok) {
                loading_ = false;
                setBusy(false);
                return;
            }
            pick = static_cast<std::size_t>(items.indexOf(chosen));
        } else if (images.size() > 1 && seriesKey_.isEmpty()) {
            spdlog::warn("{} holds {} series; opening the first", volumePath_.toStdString(), images.size());
        }
        seriesKey_ = QString::fromStdString(images[pick].key);
        loader_.loadDicomSeries(images[pick]);
    });

    // The document and its views.
    connect(&controller_, &AnnotationController::labelsChanged, &state_,
            [this](const Index3& b, const Index3& s) { state_.notifyLabelsChanged(b, s); });
    connect(&controller_, &AnnotationController::segmentsChanged, this, [this] {
        state_.notifySegmentsChanged();
        updateMarkers();
        onPreviewChanged();  // the preview's segment may have been renamed
    });
    connect(&controller_, &AnnotationController::historyChanged, this, [this] {
        updateMarkers();
        updateTitle();
    });
    connect(&controller_, &AnnotationController::errorOccurred, this,
            [this](const QString& m) { reportError(tr("Segmentation"), m); });
    connect(&controller_, &AnnotationController::noticeOccurred, this,
            [this](const QString& m) { statusBar()->showMessage(m, 10000); });
    connect(&controller_, &AnnotationController::busyChanged, this, [this](bool busy) {
        aiBusy_ = busy;
        setBusy(busy || loading_, busy ? tr("AI working...") : QString());
    });
    connect(segments_, &SegmentPanel::activeSegmentChanged, this, [this] { updateMarkers(); });
    connect(&controller_, &AnnotationController::previewChanged, this, &MainWindow::onPreviewChanged);

    // The AI engine.
    connect(&service_, &SegmentationService::engineReady, this,
            [this](const QString& device, bool memory, const QString& notice) {
                engineLoading_ = false;
                engineReady_ = true;
                aiStatus_->setText(tr("AI: %1, memory %2").arg(device, memory ? tr("on") : tr("off")));
                if (!notice.isEmpty()) statusBar()->showMessage(notice, 10000);
            });
    connect(&service_, &SegmentationService::engineFailed, this, [this](const QString& message) {
        engineLoading_ = false;
        engineReady_ = false;
        aiStatus_->setText(tr("AI: grow from seeds (model failed)"));
        aiStatus_->setToolTip(message);
        spdlog::warn("AI engine: {}", message.toStdString());
        statusBar()->showMessage(tr("The AI model could not be loaded: %1").arg(message), 15000);
    });
    loadEngine();

    // Slice propagation (the default slicenet, or a SAM 2 model from the settings).
    connect(&service_, &SegmentationService::propagatorReady, this,
            [this](const QString& device, bool shortTerm, const QString&) {
                propagatorReady_ = true;
                propagatorLoading_ = false;
                spdlog::info("propagation model ready on {} (short-term memory {})", device.toStdString(),
                             shortTerm ? "on" : "off");
            });
    connect(&service_, &SegmentationService::propagatorFailed, this, [this](const QString& message) {
        propagatorReady_ = false;
        propagatorLoading_ = false;
        spdlog::warn("propagation model: {}", message.toStdString());
        statusBar()->showMessage(tr("The propagation model could not be loaded: %1").arg(message), 15000);
    });
    connect(&controller_, &AnnotationController::propagationProgress, this, [this](int done, int total) {
        progress_->setRange(0, total);
        progress_->setValue(done);
        statusBar()->showMessage(tr("Propagating: slice %1 of %2").arg(done).arg(total));
    });
    connect(&controller_, &AnnotationController::propagationFinished, this, [this](bool applied) {
        statusBar()->showMessage(applied ? tr("Propagation done.") : tr("Propagation stopped."), 5000);
    });
    loadPropagator();

    // Autosave: every few minutes and after every N interactions, when something changed.
    try {
        recovery_ = std::make_unique<RecoveryStore>(options_.recoveryDirectory.empty()
                                                        ? RecoveryStore::defaultDirectory()
                                                        : options_.recoveryDirectory);
    } catch (const OutputError& e) {
        spdlog::error("autosave is off: {}", e.what());
    }
    connect(&exportWatcher_, &QFutureWatcher<ExportOutcome>::finished, this, &MainWindow::finishExport);
    connect(&pacsWatcher_, &QFutureWatcher<PacsOutcome>::finished, this, &MainWindow::finishPacs);
    connect(&fineTuner_, &FineTuner::epochFinished, this,
            [this](int epoch, int epochs, double, double dice, double eta) {
                fineTuneProgress_->setRange(0, epochs);
                fineTuneProgress_->setValue(epoch);
                statusBar()->showMessage(tr("Fine-tuning: epoch %1 of %2, training Dice %3, about %4 min left")
                                             .arg(epoch)
                                             .arg(epochs)
                                             .arg(dice, 0, 'f', 3)
                                             .arg(std::ceil(eta / 60)));
            });
    connect(&fineTuner_, &FineTuner::finished, this, &MainWindow::finishFineTune);
    connect(&autosaveTimer_, &QTimer::timeout, this, &MainWindow::autosave);
    autosaveTimer_.start(AppSettings::load().autosaveMinutes * 60 * 1000);
    connect(&controller_, &AnnotationController::edited, this, [this] {
        autosavedSinceEdit_ = false;
        if (++editsSinceAutosave_ >= AppSettings::load().autosaveEvery) autosave();
    });
}

MainWindow::~MainWindow() {
    // Views and panels refer to the document members, which are destroyed before child widgets: they go
    // first, and nothing hears the controller's last signals.
    disconnect(&controller_, nullptr, nullptr, nullptr);
    delete takeCentralWidget();
    for (auto* dock : findChildren<QDockWidget*>()) delete dock;
}

viewers::SliceView& MainWindow::sliceView(viewers::ViewKind kind) {
    for (auto* v : slices_)
        if (v->kind() == kind) return *v;
    return *slices_[0];
}

void MainWindow::buildDocks() {
    segments_ = new SegmentPanel(controller_, this);
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
            [this](QAction* a) { setTool(static_cast<Tool>(a->data().toInt())); });

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
    clickMethod_->setCurrentIndex(AppSettings::load().clickMethod);
    connect(clickMethod_, &QComboBox::currentIndexChanged, this, [](int index) {
        auto settings = AppSettings::load();
        settings.clickMethod = index;
        settings.save();
    });
    toolBar->addWidget(clickMethod_);

    toolBar->addSeparator();
    toolBar->addWidget(new QLabel(tr(" Brush "), this));
    brushRadius_ = new QDoubleSpinBox(this);
    brushRadius_->setRange(0.5, 50);
    brushRadius_->setValue(4);
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
    fillLow_->setValue(100);
    fillHigh_->setValue(300);
    fill3D_ = new QCheckBox(tr("3D"), this);
    fill3D_->setToolTip(tr("Fill the connected region through the volume, not only within the slice"));
    toolBar->addWidget(fill3D_);

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
        if (!p.isEmpty()) open(p);
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
        if (!p.isEmpty()) open(p);
    });
    recentMenu_ = file->addMenu(tr("Open &Recent"));
    rebuildRecentMenu();
    file->addSeparator();
    QAction* openSess = file->addAction(tr("Open &Session..."));
    connect(openSess, &QAction::triggered, this, [this] {
        if (!confirmDiscard()) return;
        const QString p =
            QFileDialog::getOpenFileName(this, tr("Open session"), {}, tr("Engram sessions (*.engram)"));
        if (!p.isEmpty()) openSession(p);
    });
    QAction* save = file->addAction(tr("&Save Session"));
    save->setShortcut(QKeySequence::Save);
    QAction* saveAs = file->addAction(tr("Save Session &As..."));
    saveAs->setShortcut(QKeySequence::SaveAs);
    auto saveTo = [this](bool ask) {
        if (!volume()) return;
        QString p = sessionPath_;
        if (ask || p.isEmpty())
            p = QFileDialog::getSaveFileName(this, tr("Save session"), p, tr("Engram sessions (*.engram)"));
        if (p.isEmpty()) return;
        if (!p.endsWith(".engram")) p += ".engram";
        saveSession(p);
    };
    connect(save, &QAction::triggered, this, [saveTo] { saveTo(false); });
    connect(saveAs, &QAction::triggered, this, [saveTo] { saveTo(true); });
    file->addSeparator();
    QAction* exportNifti = file->addAction(tr("Export Labels as &NIfTI..."));
    connect(exportNifti, &QAction::triggered, this, [this] {
        if (!volume()) return;
        const QString p =
            QFileDialog::getSaveFileName(this, tr("Export labels"), {}, tr("NIfTI (*.nii.gz *.nii)"));
        if (!p.isEmpty()) exportLabels(p);
    });
    QAction* exportSeg = file->addAction(tr("Export Labels as DICOM-&SEG..."));
    connect(exportSeg, &QAction::triggered, this, [this] {
        if (!volume()) return;
        const QString p = QFileDialog::getSaveFileName(this, tr("Export DICOM-SEG"), {}, tr("DICOM (*.dcm)"));
        if (!p.isEmpty()) exportLabels(p.endsWith(".dcm") ? p : p + ".dcm");
    });
    file->addSeparator();
    connect(file->addAction(tr("Open from &PACS...")), &QAction::triggered, this, [this] {
        PacsBrowser browser(this);
        if (browser.exec() != QDialog::Accepted) return;
        const auto chosen = browser.choice();
        if (chosen && confirmDiscard()) retrieveFromPacs(chosen->node, chosen->study, chosen->series);
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
    for (const auto& d : kSegmentTools) {
        if (d.tool == SegmentTool::FillBetweenSlices) segment->addSeparator();
        connect(segment->addAction(tr(d.menu)), &QAction::triggered, this, [this, &d, inSlice] {
            double value = d.value;
            if (d.parameter && options_.interactive) {
                bool ok = false;
                value =
                    QInputDialog::getDouble(this, tr(d.menu).remove("..."), tr("Size (%1):").arg(d.parameter),
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
    connect(this, &MainWindow::volumeChanged, this, [this] {
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

std::optional<SegmentTool> MainWindow::segmentToolNamed(const QString& name) {
    for (const auto& d : kSegmentTools)
        if (name == d.name) return d.tool;
    return std::nullopt;
}

bool MainWindow::runSegmentTool(SegmentTool tool, double value, bool inSlice, int axis) {
    const auto segment = segments_->activeSegment();
    const auto& def = definitionOf(tool);
    const QString title = tr(def.menu).remove("...");
    if (!volume() || segment == 0 || axis < 0 || axis > 2) {
        reportError(title, !volume()      ? tr("Open a volume first.")
                           : segment == 0 ? tr("Choose the segment in the segment list.")
                                          : tr("Unknown slice axis."));
        return false;
    }
    static const char* views[] = {"sagittal", "coronal", "axial"};
    if (tool == SegmentTool::FillBetweenSlices)
        return controller_.fillBetweenSlices(segment, axis, views[axis]);
    const SegmentScope scope =
        inSlice ? SegmentScope::sliceOf(axis, state_.cursor()[std::size_t(axis)]) : SegmentScope::volume();
    QString kind = title;
    if (def.parameter) kind += QString(" %1 %2").arg(value).arg(def.parameter);
    if (inSlice) kind += tr(" (slice)");
    auto op = [=](const LabelMap& labels) -> SegmentEdit {
        switch (tool) {
            case SegmentTool::KeepLargestIsland:
                return keepLargestIsland(labels, segment, scope);
            case SegmentTool::RemoveSmallIslands:
                return removeSmallIslands(labels, segment, value, scope);
            case SegmentTool::FillHoles:
                return fillHoles(labels, segment, scope);
            case SegmentTool::Median:
                return smoothSegment(labels, segment, Smoothing::Median, value, scope);
            case SegmentTool::Opening:
                return smoothSegment(labels, segment, Smoothing::Opening, value, scope);
            case SegmentTool::Closing:
                return smoothSegment(labels, segment, Smoothing::Closing, value, scope);
            case SegmentTool::Grow:
                return growSegment(labels, segment, value, scope);
            case SegmentTool::Shrink:
                return shrinkSegment(labels, segment, value, scope);
            case SegmentTool::FillBetweenSlices:
                break;
        }
        throw std::logic_error("unhandled segment tool");
    };
    return controller_.editSegment(segment, kind, op, false, inSlice ? views[axis] : "");
}

bool MainWindow::openSegmentation(const QString& path, std::optional<SegmentationChoices> choices) {
    const QString title = tr("Open segmentation");
    if (!volume()) {
        reportError(title, tr("Open the volume it segments first."));
        return false;
    }
    const ImageGeometry& grid = volume()->geometry();
    // Each segment to load: its entry (name, colour, codes) and a label map holding it as `value`.
    struct Loaded {
        Segment segment;
        std::shared_ptr<const LabelMap> map;
        std::uint8_t value;
    };
    std::vector<Loaded> loaded;
    const std::string file = QFileInfo(path).fileName().toStdString();
    const SegmentationChoices defaults = choices.value_or(SegmentationChoices{});
    const bool ask = !choices && options_.interactive;
    try {
        if (isDicomFile(path.toStdString())) {
            DicomSegImport seg = readDicomSeg(path.toStdString(), grid);
            const auto& dicom = volume()->metadata().dicom;
            if (!dicom || dicom->seriesInstanceUid != seg.referencedSeriesUid)
                throw InputError(file + " segments the series " + seg.referencedSeriesUid +
                                 ", not the open one (" + (dicom ? dicom->seriesInstanceUid : "not DICOM") +
                                 ").");
            if (const auto overlapping = seg.overlappingVoxels(); overlapping > 0) {
                auto rule = defaults.overlaps;
                if (ask) {
                    QMessageBox box(QMessageBox::Question, title,
                                    tr("%1 voxels of %2 belong to more than one of its segments.")
                                        .arg(overlapping)
                                        .arg(path),
                                    QMessageBox::Cancel, this);
                    auto* separate =
                        box.addButton(tr("Overlaps as Segments of Their Own"), QMessageBox::AcceptRole);
                    auto* first =
                        box.addButton(tr("Keep Each Voxel in Its First Segment"), QMessageBox::AcceptRole);
                    box.exec();
                    if (box.clickedButton() != separate && box.clickedButton() != first) {
                        lastError_ = tr("cancelled");  // the user's choice: no error to report
                        return false;
                    }
                    rule = box.clickedButton() == separate ? SegmentationChoices::Overlaps::Separate
                                                           : SegmentationChoices::Overlaps::First;
                }
                if (rule == SegmentationChoices::Overlaps::Refuse)
                    throw InputError(file + ": " + std::to_string(overlapping) +
                                     " voxels belong to more than one segment; nothing was loaded.");
                if (rule == SegmentationChoices::Overlaps::Separate) seg.separateOverlaps();
            }
            for (auto& s : seg.segments)
                loaded.push_back({s.segment, std::make_shared<LabelMap>(grid, std::move(s.mask)), 1});
        } else {
            LabelFileImport in;
            try {
                in = readLabelFile(path.toStdString(), grid,
                                   defaults.resample ? GridRule::ResampleNearest : GridRule::Exact);
            } catch (const GridMismatch& e) {
                if (!ask) throw;
                if (QMessageBox::question(this, title,
                                          QString::fromStdString(e.grids()) +
                                              tr("\n\nResample the labels onto the volume's grid by nearest "
                                                 "neighbour?")) != QMessageBox::Yes) {
                    lastError_ = tr("cancelled");  // the user's choice: no error to report
                    return false;
                }
                in = readLabelFile(path.toStdString(), grid, GridRule::ResampleNearest);
            }
            if (!in.summary().empty())
                statusBar()->showMessage(QString::fromStdString(file + ": " + in.summary()), 10000);
            // Names and colours from a label table beside the file (keyed by the file's values).
            SegmentList table;
            if (const auto tableFile = findLabelTable(path.toStdString())) try {
                    table = readLabelTable(*tableFile);
                    spdlog::info("{}: names and colours from {}", file, tableFile->string());
                } catch (const InputError& e) {
                    spdlog::warn("{} (label table not used)", e.what());
                }
            std::map<std::uint8_t, std::int64_t> fileValue;
            for (const auto& [original, label] : in.renumbered) fileValue[label] = original;
            auto map = std::make_shared<LabelMap>(in.labels);
            for (const auto value : map->labelsPresent()) {
                const auto original = fileValue.count(value) ? fileValue[value] : value;
                const Segment* named =
                    original <= 255 ? table.find(static_cast<std::uint8_t>(original)) : nullptr;
                Segment s;
                if (named)
                    s = *named;
                else
                    s.name = file + " " + std::to_string(original);
                s.algorithm = SegmentAlgorithm::Manual;
                s.algorithmName.clear();
                loaded.push_back({s, map, value});
            }
        }
    } catch (const InputError& e) {
        reportError(title, QString::fromStdString(e.what()));
        return false;
    }
    if (loaded.empty()) {
        reportError(title, tr("%1 holds no segment.").arg(path));
        return false;
    }
    std::int64_t overlapping = 0;
    for (const auto& l : loaded) {
        // Voxels that are some segment's already keep it (no edit overwrites a segment).
        const auto& here = controller_.labels().labels();
        std::int64_t wanted = 0, free = 0;
        for (std::size_t o = 0; o < here.size(); ++o)
            if (l.map->labels()[o] == l.value) {
                ++wanted;
                free += here[o] == 0;
            }
        overlapping += wanted - free;
        if (free == 0) continue;
        const std::uint8_t label = controller_.addSegment(l.segment.name);
        Segment entry = l.segment;
        entry.label = label;
        if (entry.color == Rgb{}) entry.color = controller_.segments().find(label)->color;
        controller_.updateSegment(entry);
        controller_.editSegment(label, tr("Open segmentation: %1").arg(QString::fromStdString(entry.name)),
                                [&](const LabelMap& labels) {
                                    return combineSegments(labels, label, LogicalOperation::Union, *l.map,
                                                           l.value);
                                });
    }
    if (overlapping > 0)
        statusBar()->showMessage(
            tr("%1 voxels belong to more than one segment of %2 or to segments already here: "
               "they kept their first segment.")
                .arg(overlapping)
                .arg(path),
            15000);
    spdlog::info("opened segmentation {}: {} segments, {} overlapping voxels", path.toStdString(),
                 loaded.size(), overlapping);
    return true;
}

bool MainWindow::combineWithLabelFile(const QString& path, int fileLabel, LogicalOperation operation) {
    const auto segment = segments_->activeSegment();
    const QString title = tr("Combine with a label file");
    if (!volume() || segment == 0) {
        reportError(title,
                    !volume() ? tr("Open a volume first.") : tr("Choose the segment in the segment list."));
        return false;
    }
    if (fileLabel < 1 || fileLabel > 255) {
        reportError(title, tr("Label values are 1 to 255."));
        return false;
    }
    std::optional<LabelMap> other;
    try {
        other = readLabelFile(path.toStdString(), volume()->geometry()).labels;
    } catch (const InputError& e) {
        reportError(title, QString::fromStdString(e.what()));
        return false;
    }
    static const char* names[] = {"Union", "Intersect", "Subtract"};
    const QString kind = tr("%1 with %2 (label %3)")
                             .arg(names[static_cast<int>(operation)], QFileInfo(path).fileName())
                             .arg(fileLabel);
    return controller_.editSegment(segment, kind, [&](const LabelMap& labels) {
        return combineSegments(labels, segment, operation, *other, static_cast<std::uint8_t>(fileLabel));
    });
}

void MainWindow::setTool(Tool tool) {
    tool_ = tool;
    for (auto* a : tools_->actions()) a->setChecked(a->data().toInt() == static_cast<int>(tool));
    for (auto* s : slices_) {
        s->setToolActive(tool != Tool::Navigate);
        s->setCursor(tool == Tool::Navigate ? Qt::ArrowCursor : Qt::CrossCursor);
    }
    if (controller_.strokeActive()) controller_.endStroke();
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

double MainWindow::brushRadius() const { return brushRadius_->value(); }
void MainWindow::setBrushRadius(double mm) { brushRadius_->setValue(mm); }
void MainWindow::setFillRange(double low, double high) {
    fillLow_->setValue(low);
    fillHigh_->setValue(high);
}
void MainWindow::setFill3D(bool on) { fill3D_->setChecked(on); }
void MainWindow::setClickMethod(ClickMethod method) {
    clickMethod_->setCurrentIndex(clickMethod_->findData(static_cast<int>(method)));
}
ClickMethod MainWindow::clickMethod() const {
    return static_cast<ClickMethod>(clickMethod_->currentData().toInt());
}

bool MainWindow::isIdle() const {
    return !loading_ && !engineLoading_ && !propagatorLoading_ && !aiBusy_ &&
           controller_.pendingClicks() == 0 && !controller_.propagationRunning() && !exportRunning() &&
           !fineTuner_.running() && !surface_->isUpdating() && !pacsBusy_;
}

void MainWindow::loadEngine() {
    QString model = options_.modelPath;
    if (model.isEmpty()) model = AppSettings::load().model;
    if (model.isEmpty()) model = bundledModel();
    if (model.isEmpty() || !QFileInfo::exists(model)) {
        engineReady_ = false;
        aiStatus_->setText(tr("AI: grow from seeds (no model)"));
        aiStatus_->setToolTip(tr("No model file (%1): AI clicks grow from seeds. Choose a model in File > "
                                 "Settings.")
                                  .arg(model));
        spdlog::warn("no AI model file found ({}); AI clicks grow from seeds", model.toStdString());
        return;
    }
    enginePath_ = model;
    model::EngineOptions o;
    o.weights = model.toStdString();
    o.device = aiDevice().toStdString();
    o.memoryCapacity = AppSettings::load().memoryCapacity;
    engineLoading_ = true;
    engineReady_ = false;
    aiStatus_->setText(tr("AI: loading..."));
    service_.loadEngine(o);
}

void MainWindow::loadPropagator() {
    QString model = options_.propagationModelPath;
    if (model.isEmpty()) model = AppSettings::load().propagationModel;
    if (model.isEmpty()) model = bundledPropagator();
    propagatorReady_ = false;
    if (model.isEmpty()) return;  // a build without a default propagator, none configured
    if (!QFileInfo::exists(model)) {
        statusBar()->showMessage(
            tr("Propagation model %1 not found; choose one in File > Settings.").arg(model), 15000);
        return;
    }
    propagatorLoading_ = true;
    service_.loadPropagator(model.toStdString(), aiDevice().toStdString());
}

QString MainWindow::aiDevice() const {
    return options_.device.isEmpty() ? AppSettings::load().device : options_.device;
}

bool MainWindow::propagate(int axis, bool up, bool down) {
    if (!propagatorReady_) {
        reportError(tr("Propagation"), tr("No propagation model is loaded; choose one in File > Settings."));
        return false;
    }
    const auto segment = segments_->activeSegment();
    if (segment == 0) {
        reportError(tr("Propagation"), tr("Choose the segment to propagate in the segment list."));
        return false;
    }
    static const char* names[] = {"sagittal", "coronal", "axial"};
    return controller_.propagate(segment, axis, state_.cursor()[std::size_t(axis)], up, down, names[axis]);
}

void MainWindow::open(const QString& path, const QString& seriesKey) {
    if (!QFileInfo::exists(path)) {
        reportError(tr("Cannot open"), tr("%1 does not exist.").arg(path));
        Q_EMIT loadFailed(lastError_);
        return;
    }
    volumePath_ = QFileInfo(path).absoluteFilePath();
    seriesKey_ = seriesKey;
    loading_ = true;
    setBusy(true, tr("Loading %1").arg(QFileInfo(path).fileName()));
    if (QFileInfo(path).isDir())
        loader_.scanFolder(volumePath_);
    else
        loader_.loadPath(volumePath_);
}

void MainWindow::openSession(const QString& path) {
    try {
        SessionDocument s = readSession(path.toStdString());
        sessionPath_ = QFileInfo(path).absoluteFilePath();
        const QString volumePath = QString::fromStdString(s.volumePath);
        const QString key = QString::fromStdString(s.seriesKey);
        pendingSession_ = std::move(s);
        open(volumePath, key);
    } catch (const InputError& e) {
        reportError(tr("Cannot open session"), QString::fromStdString(e.what()));
        Q_EMIT loadFailed(lastError_);
    }
}

void MainWindow::showVolume(std::shared_ptr<Volume> volume) {
    loading_ = false;
    setBusy(aiBusy_);
    controller_.setVolume(volume);
    state_.setDocument(volume, &controller_.labels(), &controller_.segments());
    windowPresets_->setCurrentIndex(viewers::looksLikeCt(*volume) ? 0 : windowPresets_->count() - 1);
    editsSinceAutosave_ = 0;
    autosavedSinceEdit_ = true;
    if (pendingSession_) {
        SessionDocument s = std::move(*pendingSession_);
        pendingSession_.reset();
        try {
            controller_.restore(std::move(s.labels), std::move(s.segments), std::move(s.history));
            if (s.cursor) state_.setCursor(*s.cursor);
            if (s.windowLevel) state_.setWindowLevel({(*s.windowLevel)[0], (*s.windowLevel)[1]});
            if (!pendingRecoveryOrphan_.empty()) {
                // The restored work now lives in this process's recovery file.
                RecoveryStore::remove(pendingRecoveryOrphan_);
                pendingRecoveryOrphan_.clear();
                autosavedSinceEdit_ = false;
                autosave();
                sessionPath_.clear();
            }
            Q_EMIT sessionRestored();
        } catch (const InputError& e) {
            reportError(tr("Cannot restore the session"), QString::fromStdString(e.what()));
        }
    } else {
        sessionPath_.clear();
        addRecent(volumePath_);
    }
    updateTitle();
    const auto& m = volume->metadata();
    for (const auto& w : m.warnings) statusBar()->showMessage(QString::fromStdString(w), 15000);
    spdlog::info("opened {}: {}", volumePath_.toStdString(), volume->geometry().describe());
    Q_EMIT volumeChanged();
}

void MainWindow::onToolEvent(const viewers::ToolEvent& e) {
    if (!volume()) return;
    const QString view = viewers::viewName(e.view);
    const bool secondary = e.button == Qt::RightButton || (e.modifiers & Qt::ShiftModifier);
    switch (tool_) {
        case Tool::Navigate:
            break;
        case Tool::AiClick: {
            if (e.type != viewers::ToolEvent::Type::Press) break;
            ClickMethod method = clickMethod();
            if (method == ClickMethod::Model && !engineReady_) {
                method = ClickMethod::GrowFromSeeds;
                statusBar()->showMessage(engineLoading_
                                             ? tr("The AI model is still loading: this click grows "
                                                  "from seeds.")
                                             : tr("No AI model is loaded: clicks grow from seeds."),
                                         5000);
            }
            controller_.aiClick(segments_->activeOrNewSegment(), e.world, !secondary, view, method);
            break;
        }
        case Tool::Brush:
        case Tool::Eraser:
            if (e.type == viewers::ToolEvent::Type::Press)
                controller_.beginStroke(segments_->activeOrNewSegment(), tool_ == Tool::Eraser || secondary,
                                        view);
            if (e.inside) controller_.strokeAt(e.voxel, brushRadius_->value(), e.normalAxis);
            if (e.type == viewers::ToolEvent::Type::Release) controller_.endStroke();
            break;
        case Tool::Fill:
            if (e.type == viewers::ToolEvent::Type::Press)
                controller_.thresholdFill(segments_->activeOrNewSegment(), e.voxel, float(fillLow_->value()),
                                          float(fillHigh_->value()), fill3D_->isChecked() ? -1 : e.normalAxis,
                                          view);
            break;
    }
}

void MainWindow::updateMarkers() {
    std::vector<viewers::ClickMarker> markers;
    const auto active = segments_->activeSegment();
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

PackedSession MainWindow::currentSession() const {
    SessionInfo s;
    s.volumePath = volumePath_.toStdString();
    s.seriesKey = seriesKey_.toStdString();
    s.segments = controller_.segments();
    for (auto& h : controller_.history())
        if (h.applied) s.history.push_back(h);
    s.cursor = state_.cursor();
    s.windowLevel = std::array<double, 2>{state_.windowLevel().window, state_.windowLevel().level};
    return packSession(std::move(s), controller_.labels());
}

bool MainWindow::saveSession(const QString& path) {
    if (!volume()) return false;
    controller_.acceptPreview();  // what is saved is what the user sees, accepted
    try {
        writeSession(currentSession(), path.toStdString());
        sessionPath_ = QFileInfo(path).absoluteFilePath();
        controller_.markSaved();
        updateTitle();
        statusBar()->showMessage(tr("Saved %1").arg(path), 5000);
        spdlog::info("saved session {}", path.toStdString());
        return true;
    } catch (const std::exception& e) {
        reportError(tr("Cannot save the session"), QString::fromStdString(e.what()));
        return false;
    }
}

bool MainWindow::autosave() {
    if (!volume() || !recovery_ || autosavedSinceEdit_) return false;
    try {
        writeSession(currentSession(), recovery_->file());
        editsSinceAutosave_ = 0;
        autosavedSinceEdit_ = true;
        spdlog::debug("autosaved to {}", recovery_->file().string());
        return true;
    } catch (const std::exception& e) {
        spdlog::error("autosave failed: {}", e.what());
        statusBar()->showMessage(tr("Autosave failed: %1").arg(e.what()), 10000);
        return false;
    }
}

bool MainWindow::checkRecovery(std::optional<bool> restore) {
    if (!recovery_) return false;
    const auto orphans = recovery_->orphans();
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
        for (const auto& o : orphans) RecoveryStore::remove(o);
        return false;
    }
    pendingRecoveryOrphan_ = orphans.front();
    spdlog::info("restoring {}", orphans.front().string());
    openSession(QString::fromStdString(orphans.front().string()));
    return true;
}

bool MainWindow::exportLabels(const QString& path) {
    if (!volume()) {
        reportError(tr("Export failed"), tr("No volume is open."));
        return false;
    }
    if (exportRunning()) {
        reportError(tr("Export failed"),
                    tr("The export to %1 is still being written; export again when it has finished.")
                        .arg(exportPath_));
        return false;
    }
    controller_.acceptPreview();
    // The copies are the document at this moment: the user may go on editing while they are written.
    auto job = [source = controller_.volumePointer(), labels = controller_.labels(),
                segments = controller_.segments(), file = path.toStdString(),
                dicomSeg = path.endsWith(".dcm", Qt::CaseInsensitive)] {
        ExportOutcome outcome;
        try {
            if (dicomSeg) {
                const auto report = writeDicomSeg(*source, labels, segments, file);
                outcome.segments = report.segments;
                outcome.frames = report.frames;
            } else {
                writeLabelFile(labels, file);
                writeLabelTables(segments, labels, file);
            }
        } catch (const std::exception& e) {  // reported by the finished handler
            outcome.error = QString::fromStdString(e.what());
        }
        return outcome;
    };
    exportPath_ = path;
    setBusy(true, tr("Exporting labels to %1...").arg(path));
    cancel_->setVisible(false);  // a write is not cancelled half way
    exportBusy_ = true;
    exportWatcher_.setFuture(QtConcurrent::run(std::move(job)));
    return true;
}

void MainWindow::finishExport() {
    const ExportOutcome outcome = exportWatcher_.result();
    exportBusy_ = false;
    if (isIdle()) setBusy(false);
    if (!outcome.error.isEmpty()) {
        reportError(tr("Export failed"), outcome.error);
        Q_EMIT exportFinished(false, outcome.error);
        return;
    }
    const QString message = outcome.segments >= 0
                                ? tr("Exported %1 segments (%2 frames) to %3")
                                      .arg(outcome.segments)
                                      .arg(outcome.frames)
                                      .arg(exportPath_)
                                : tr("Exported labels to %1, with ITK-SNAP and Slicer label "
                                     "tables beside it")
                                      .arg(exportPath_);
    statusBar()->showMessage(message, 8000);
    spdlog::info("exported labels to {}", exportPath_.toStdString());
    Q_EMIT exportFinished(true, message);
}

void MainWindow::startPacs(const QString& what, std::function<PacsOutcome(const ProgressReporter&)> job) {
    QPointer<MainWindow> self(this);
    pacsProgress_ = ProgressReporter([self](double f, const std::string& stage) {
        QMetaObject::invokeMethod(
            self,
            [self, f, stage = QString::fromStdString(stage)] {
                if (!self) return;
                self->progress_->setRange(0, 1000);
                self->progress_->setValue(static_cast<int>(f * 1000));
                self->statusBar()->showMessage(stage);
            },
            Qt::QueuedConnection);
    });
    pacsBusy_ = true;
    setBusy(true, what);
    pacsWatcher_.setFuture(QtConcurrent::run([job = std::move(job), progress = pacsProgress_] {
        PacsOutcome outcome;
        try {
            outcome = job(progress);
        } catch (const Cancelled&) {
            outcome.cancelled = true;
        } catch (const std::exception& e) {  // PacsError, InputError, OutputError: reported by finishPacs
            outcome.error = QString::fromStdString(e.what());
        }
        return outcome;
    }));
}

bool MainWindow::retrieveFromPacs(const DicomNode& node, const QString& studyUid, const QString& seriesUid) {
    if (pacsBusy_) {
        reportError(tr("Open from PACS"), tr("A PACS transfer is still running."));
        return false;
    }
    const std::filesystem::path cache =
        QStandardPaths::writableLocation(QStandardPaths::CacheLocation).toStdString() + "/pacs";
    startPacs(tr("Retrieving from %1...").arg(QString::fromStdString(node.describe())),
              [node, study = studyUid.toStdString(), series = seriesUid.toStdString(), cache,
               options = PacsSettings::load().options()](const ProgressReporter& progress) {
                  PacsOutcome o;
                  o.folder = QString::fromStdString(
                      retrieveSeries(node, study, series, cache, options, progress).string());
                  o.message = tr("Retrieved the series into %1").arg(o.folder);
                  return o;
              });
    return true;
}

bool MainWindow::sendToPacs(const DicomNode& node) {
    const QString title = tr("Send to PACS");
    if (pacsBusy_) {
        reportError(title, tr("A PACS transfer is still running."));
        return false;
    }
    if (!volume() || !volume()->metadata().dicom) {
        reportError(title,
                    tr("The open volume did not come from DICOM: a DICOM-SEG needs the series it segments."));
        return false;
    }
    controller_.acceptPreview();
    if (controller_.labels().labelsPresent().empty()) {
        reportError(title, tr("There is no segment to send."));
        return false;
    }
    const std::filesystem::path outgoing =
        QStandardPaths::writableLocation(QStandardPaths::CacheLocation).toStdString() + "/pacs-outgoing";
    startPacs(tr("Sending the segmentation to %1...").arg(QString::fromStdString(node.describe())),
              [node, outgoing, source = controller_.volumePointer(), labels = controller_.labels(),
               segments = controller_.segments(),
               options = PacsSettings::load().options()](const ProgressReporter& progress) {
                  std::filesystem::create_directories(outgoing);
                  const auto file =
                      outgoing / ("seg-" + std::to_string(QDateTime::currentMSecsSinceEpoch()) + ".dcm");
                  const auto report = writeDicomSeg(*source, labels, segments, file);
                  PacsOutcome o;
                  std::error_code ignored;
                  try {
                      storeFiles(node, {file}, options, progress);
                  } catch (...) {
                      std::filesystem::remove(file, ignored);
                      throw;
                  }
                  std::filesystem::remove(file, ignored);
                  o.message = tr("Sent the segmentation (%1 segments) to %2")
                                  .arg(report.segments)
                                  .arg(QString::fromStdString(node.describe()));
                  return o;
              });
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
    if (ok) sendToPacs(settings.find(name)->node);
}

void MainWindow::finishPacs() {
    const PacsOutcome outcome = pacsWatcher_.result();
    pacsBusy_ = false;
    if (isIdle()) setBusy(false);
    if (outcome.cancelled) {
        statusBar()->showMessage(tr("PACS transfer cancelled; nothing of it was kept"), 8000);
        Q_EMIT pacsFinished(false, tr("cancelled"));
        return;
    }
    if (!outcome.error.isEmpty()) {
        reportError(tr("PACS"), outcome.error);
        Q_EMIT pacsFinished(false, outcome.error);
        return;
    }
    statusBar()->showMessage(outcome.message, 8000);
    spdlog::info("{}", outcome.message.toStdString());
    // Edits made while the series arrived are the user's to keep or drop before it replaces them.
    if (!outcome.folder.isEmpty() && confirmDiscard()) open(outcome.folder);
    Q_EMIT pacsFinished(true, outcome.message);
}

void MainWindow::reportError(const QString& title, const QString& message) {
    lastError_ = message;
    spdlog::error("{}: {}", title.toStdString(), message.toStdString());
    statusBar()->showMessage(message, 15000);
    if (options_.interactive) QMessageBox::warning(this, title, message);
}

void MainWindow::setBusy(bool busy, const QString& what) {
    progress_->setVisible(busy);
    cancel_->setVisible(busy);
    if (busy && !loading_) progress_->setRange(0, 0);  // indeterminate while the AI works
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
            if (confirmDiscard()) open(p);
        });
    recentMenu_->setEnabled(!recentMenu_->isEmpty());
}

void MainWindow::updateTitle() {
    QString title = "Engram";
    if (volume()) {
        title += " - " + QString::fromStdString(volume()->metadata().description);
        if (!sessionPath_.isEmpty()) title += " [" + QFileInfo(sessionPath_).fileName() + "]";
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
    QString p = sessionPath_;
    if (p.isEmpty())
        p = QFileDialog::getSaveFileName(this, tr("Save session"), {}, tr("Engram sessions (*.engram)"));
    return !p.isEmpty() && saveSession(p);
}

void MainWindow::closeEvent(QCloseEvent* e) {
    if (!confirmDiscard()) {
        e->ignore();
        return;
    }
    exportWatcher_.waitForFinished();  // a started export is completed, not cut off
    pacsProgress_.cancel();            // a transfer is cancelled (a retrieval keeps nothing of it)
    pacsWatcher_.waitForFinished();
    fineTuner_.stop();                 // ends before its next sample; the destructor waits for it
    if (recovery_) recovery_->discard();
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
        openSession(path);
    else
        open(path);
    return true;
}

void MainWindow::openSettings() {
    const AppSettings before = AppSettings::load();
    const auto after = editSettings(this, before, bundledModel(), bundledPropagator());
    if (!after) return;
    after->save();
    autosaveTimer_.start(after->autosaveMinutes * 60 * 1000);
    const bool engineChanged = after->model != before.model || after->device != before.device ||
                               after->memoryCapacity != before.memoryCapacity;
    if (engineChanged) {
        options_.modelPath.clear();
        options_.device.clear();
        loadEngine();
    }
    if (after->propagationModel != before.propagationModel || engineChanged) {
        options_.propagationModelPath.clear();
        loadPropagator();
    }
}

bool MainWindow::fineTune(bool document, std::vector<std::filesystem::path> sessions,
                          model::TrainOptions options) {
    FineTuner::Request r;
    if (document && volume()) {
        controller_.acceptPreview();  // what trains is what the user accepted
        r.volume = controller_.volumePointer();
        r.labels = controller_.labels();
    }
    r.sessions = std::move(sessions);
    auto& o = r.options = std::move(options);
    if (engineReady_) o.initialWeights = enginePath_.toStdString();
    o.device = aiDevice().toStdString();
    if (o.output.empty()) {
        const QString folder = QStandardPaths::writableLocation(QStandardPaths::AppDataLocation) + "/models";
        QDir().mkpath(folder);
        o.output = QString("%1/fine-tuned-%2.safetensors")
                       .arg(folder, QDateTime::currentDateTime().toString("yyyyMMdd-HHmmss"))
                       .toStdString();
    }
    o.keepBest = true;  // a run that degrades late still leaves its best epoch
    QString why;
    if (!fineTuner_.start(std::move(r), &why)) {
        reportError(tr("Cannot fine-tune the AI model"), why);
        return false;
    }
    fineTuneProgress_->setRange(0, 0);  // busy until the first epoch ends
    fineTuneProgress_->show();
    fineTuneStop_->show();
    statusBar()->showMessage(tr("Fine-tuning the AI model..."), 10000);
    return true;
}

void MainWindow::finishFineTune(bool ok, const QString& message, const QString& path) {
    fineTuneProgress_->hide();
    fineTuneStop_->hide();
    if (!ok) {
        reportError(tr("AI model"), message);
        Q_EMIT fineTuneFinished(false, message);
        return;
    }
    statusBar()->showMessage(message, 15000);
    Q_EMIT fineTuneFinished(true, message);
    const bool use = !options_.interactive ||
                     QMessageBox::question(this, tr("Fine-tuning finished"),
                                           message + "\n\n" + tr("Use the fine-tuned model now?")) ==
                         QMessageBox::Yes;
    if (!use) return;
    if (options_.interactive) {
        auto settings = AppSettings::load();
        settings.model = path;
        settings.save();
        options_.modelPath.clear();
    } else {
        options_.modelPath = path;  // scripted runs leave the settings alone
    }
    spdlog::info("AI model in use: {}", path.toStdString());
    loadEngine();
}

void MainWindow::openFineTune() {
    auto choice = askFineTune(this, volume() != nullptr);
    if (!choice) return;
    model::TrainOptions o;
    o.epochs = choice->epochs;
    fineTune(choice->document, std::move(choice->sessions), std::move(o));
}

}  // namespace engram::ui
