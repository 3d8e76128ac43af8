// The main window's menus and tool bars: every action, its shortcut, and what it calls (the workspace, the
// editor state, or a dialog). The window's layout, status bar and the workspace's reports are in
// MainWindow.cpp.
#include <engram/ui/AppSettings.h>
#include <engram/ui/FineTuneDialog.h>
#include <engram/ui/MainWindow.h>
#include <engram/ui/PacsBrowser.h>
#include <engram/ui/SettingsDialog.h>
#include <engram/ui/StatisticsDialog.h>

#include <QAction>
#include <QActionGroup>
#include <QApplication>
#include <QCheckBox>
#include <QComboBox>
#include <QDoubleSpinBox>
#include <QFileDialog>
#include <QInputDialog>
#include <QLabel>
#include <QMenuBar>
#include <QMessageBox>
#include <QSlider>
#include <QToolBar>
#include <QToolButton>

namespace engram::ui {

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
    connect(tools->addAction(tr("Fine-tune AI Model...")), &QAction::triggered, this,
            &MainWindow::openFineTune);
    QMenu* help = menuBar()->addMenu(tr("&Help"));
    connect(help->addAction(tr("&About Engram")), &QAction::triggered, this, [this] {
        QMessageBox::about(
            this, tr("About Engram"),
            tr("<b>Engram %1</b><br>3D annotation of CT and MR volumes with AI that remembers.")
                .arg(QApplication::applicationVersion()));
    });
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

void MainWindow::addRecent(const QString& path) {
    auto settings = AppSettings::load();
    settings.rememberRecent(path);
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

void MainWindow::openSettings() {
    const AppSettings before = AppSettings::load();
    const auto after = editSettings(this, before);
    if (!after) return;
    after->save();
    workspace_.applySettings(before, *after);
}

void MainWindow::openFineTune() {
    auto choice = askFineTune(this, volume() != nullptr);
    if (!choice) return;
    model::TrainOptions o;
    o.epochs = choice->epochs;
    workspace_.fineTune(choice->document, std::move(choice->sessions), std::move(o));
}
}  // namespace engram::ui
