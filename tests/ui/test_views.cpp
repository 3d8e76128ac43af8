// Qt Test suite for the viewers and the main window (run under xvfb-run: the views are OpenGL widgets).
// The geometry tests click known voxels in every view, for LPS, RAS, LIA and oblique volumes, and check both
// the voxel the view reports and the pixels it draws there.
#include <engram/annotation/VolumeIO.h>
#include <engram/ui/AppSettings.h>
#include <engram/ui/HistoryPanel.h>
#include <engram/ui/MainWindow.h>
#include <engram/ui/PacsBrowser.h>
#include <engram/ui/SegmentPanel.h>
#include <engram/viewers/SliceFrame.h>
#include <engram/viewers/SliceView.h>
#include <engram/viewers/SurfaceView.h>

#include <QComboBox>
#include <QLineEdit>
#include <QPushButton>
#include <QSettings>
#include <QSignalSpy>
#include <QTableWidget>
#include <QTemporaryDir>
#include <QTreeWidget>
#include <QtTest>

#include <spdlog/spdlog.h>

#include <cmath>
#include <fstream>

using namespace engram;
using namespace engram::viewers;
using engram::ui::PacsBrowser;
using engram::ui::PacsNodesDialog;
using engram::ui::PacsSettings;

namespace {

Mat3 rotation(double degZ, double degX) {
    const double a = degZ * M_PI / 180, b = degX * M_PI / 180;
    const Mat3 rz{{{std::cos(a), -std::sin(a), 0}, {std::sin(a), std::cos(a), 0}, {0, 0, 1}}};
    const Mat3 rx{{{1, 0, 0}, {0, std::cos(b), -std::sin(b)}, {0, std::sin(b), std::cos(b)}}};
    Mat3 m{};
    for (int r = 0; r < 3; ++r)
        for (int c = 0; c < 3; ++c)
            for (int k = 0; k < 3; ++k) m[r][c] += rz[r][k] * rx[k][c];
    return m;
}

ImageGeometry grid(const std::string& kind) {
    ImageGeometry g;
    g.size = {18, 14, 11};
    g.spacing = {1.5, 2.0, 2.5};
    g.origin = {10, -20, 30};
    if (kind == "RAS") g.direction = {{{-1, 0, 0}, {0, -1, 0}, {0, 0, 1}}};
    if (kind == "LIA") g.direction = {{{-1, 0, 0}, {0, 0, 1}, {0, -1, 0}}};  // FreeSurfer's conformed space
    if (kind == "oblique") g.direction = rotation(25, 15);
    return g;
}

// Zero everywhere but one bright voxel.
std::shared_ptr<const Volume> spot(const ImageGeometry& g, const Index3& v) {
    std::vector<float> data(static_cast<std::size_t>(g.voxelCount()), 0.0f);
    data[static_cast<std::size_t>(g.offset(v[0], v[1], v[2]))] = 1000.0f;
    return std::make_shared<const Volume>(g, std::move(data));
}

// A white LPS volume under one red segment, "Liver", at half opacity in an axial view (made by show(), once
// the voxels are painted).
struct RedSegmentScene {
    ImageGeometry g = grid("LPS");
    ViewerState state;
    LabelMap labels{g};
    SegmentList segments;
    Segment& liver = segments.add("Liver");
    std::unique_ptr<SliceView> view;
    RedSegmentScene() { liver.color = {255, 0, 0}; }
    void show(const Index3& cursor) {
        state.setDocument(std::make_shared<const Volume>(g, std::vector<float>(g.voxelCount(), 1000.0f)),
                          &labels, &segments);
        state.setWindowLevel({400, 40});
        state.setCursor(cursor);
        state.setOverlayOpacity(0.5);
        view = std::make_unique<SliceView>(state, ViewKind::Axial);
        view->resize(300, 300);
        view->show();
    }
    QColor colourAt(const QPointF& pos) const {
        return view->grabFramebuffer().pixelColor((pos * view->devicePixelRatioF()).toPoint());
    }
};

// Grey level at a widget position of a grabbed frame.
int greyAt(const QImage& frame, const QPointF& pos, double ratio) {
    const QColor c = frame.pixelColor(int(pos.x() * ratio), int(pos.y() * ratio));
    return c.red();
}

}  // namespace

class ViewTests : public QObject {
    Q_OBJECT
  private Q_SLOTS:
    void initTestCase() { spdlog::set_level(spdlog::level::warn); }

    // Each setting's key and default are written once: defaults with no settings file, values kept.
    void appSettingsHaveOneDefaultAndRoundTrip() {
        QSettings().clear();
        const engram::ui::AppSettings d = engram::ui::AppSettings::load();
        QCOMPARE(d.memoryCapacity, 60);
        QCOMPARE(d.autosaveMinutes, 2);
        QCOMPARE(d.autosaveEvery, 5);
        QCOMPARE(d.device, QString("cpu"));
        QVERIFY(d.model.isEmpty());
        engram::ui::AppSettings s = d;
        s.memoryCapacity = 12;
        s.clickMethod = 1;
        s.recent = {"/a.nii.gz", "/b"};
        s.save();
        const auto back = engram::ui::AppSettings::load();
        QCOMPARE(back.memoryCapacity, 12);
        QCOMPARE(back.clickMethod, 1);
        QCOMPARE(back.recent, (QStringList{"/a.nii.gz", "/b"}));
        QSettings().clear();
    }

    // Settings > DICOM Nodes: rows are checked before they are kept, and kept across runs.
    void pacsNodeListIsCheckedAndKept() {
        QSettings().remove("pacs");
        PacsNodesDialog dialog;
        auto* table = dialog.findChild<QTableWidget*>();
        QVERIFY(table);
        QCOMPARE(table->rowCount(), 0);
        for (auto* b : dialog.findChildren<QPushButton*>())
            if (b->text() == "Add") b->click();
        QCOMPARE(table->rowCount(), 1);
        table->item(0, 0)->setText("Hospital PACS");
        table->item(0, 1)->setText("ORTHANC");
        table->item(0, 2)->setText("127.0.0.1");
        table->item(0, 3)->setText("99999");
        try {
            dialog.settings();
            QFAIL("a port of 99999 was accepted");
        } catch (const PacsError& e) {
            QVERIFY(QString(e.what()).contains("99999"));
        }
        table->item(0, 3)->setText("4242");
        auto* ae = dialog.findChild<QLineEdit*>();
        QVERIFY(ae);
        ae->setText("READER1");
        dialog.settings().save();
        const PacsSettings kept = PacsSettings::load();
        QCOMPARE(kept.aeTitle, QString("READER1"));
        QCOMPARE(kept.nodes.size(), std::size_t(1));
        QCOMPARE(QString::fromStdString(kept.find("Hospital PACS")->node.describe()),
                 QString("ORTHANC@127.0.0.1:4242"));
        QCOMPARE(kept.options().callingAeTitle, std::string("READER1"));
        PacsBrowser browser;  // lists the kept node
        QCOMPARE(browser.findChild<QComboBox*>()->count(), 1);
        QSettings().remove("pacs");
    }

    void sliceFrameFollowsTheRadiologicalConvention_data() {
        QTest::addColumn<QString>("kind");
        QTest::addColumn<QString>("axial");
        QTest::addColumn<QString>("coronal");
        QTest::addColumn<QString>("sagittal");
        // Edge letters left, right, bottom, top.
        QTest::newRow("LPS") << "LPS"
                             << "RLPA"
                             << "RLIS"
                             << "APIS";
        QTest::newRow("RAS") << "RAS"
                             << "RLPA"
                             << "RLIS"
                             << "APIS";
        QTest::newRow("LIA") << "LIA"
                             << "RLPA"
                             << "RLIS"
                             << "APIS";
    }
    void sliceFrameFollowsTheRadiologicalConvention() {
        QFETCH(QString, kind);
        const ImageGeometry g = grid(kind.toStdString());
        QFETCH(QString, axial);
        QFETCH(QString, coronal);
        QFETCH(QString, sagittal);
        const std::pair<ViewKind, QString> cases[] = {
            {ViewKind::Axial, axial}, {ViewKind::Coronal, coronal}, {ViewKind::Sagittal, sagittal}};
        for (const auto& [view, letters] : cases) {
            const SliceFrame f = SliceFrame::forView(view, g);
            QString got;
            for (const auto& e : f.edges) got += QString::fromStdString(e);
            QCOMPARE(got, letters);
            // The three axes are a permutation, and pixel <-> index round-trips.
            QCOMPARE(f.normal + f.horizontal + f.vertical, 3);
            const Vec3 idx = f.indexAt(g, 3.25, 7.5, 4);
            const auto p = f.pixelOf(g, idx);
            QCOMPARE(p[0], 3.25);
            QCOMPARE(p[1], 7.5);
            QCOMPARE(p[2], 4.0);
        }
        // LIA: the axial view's normal is the index axis along S-I (j), the sagittal's is i.
        if (kind == "LIA") {
            QCOMPARE(SliceFrame::forView(ViewKind::Axial, g).normal, 1);
            QCOMPARE(SliceFrame::forView(ViewKind::Sagittal, g).normal, 0);
        }
    }

    void clickingAVoxelReportsThatVoxelAndItIsDrawnThere_data() {
        QTest::addColumn<QString>("kind");
        QTest::addColumn<int>("view");
        for (const char* k : {"LPS", "RAS", "LIA", "oblique"})
            for (int v = 0; v < 3; ++v)
                QTest::newRow(QString("%1 %2").arg(k, viewName(ViewKind(v))).toUtf8().constData())
                    << QString(k) << v;
    }
    void clickingAVoxelReportsThatVoxelAndItIsDrawnThere() {
        QFETCH(QString, kind);
        QFETCH(int, view);
        const ImageGeometry g = grid(kind.toStdString());
        for (const Index3 target : {Index3{4, 9, 3}, Index3{15, 2, 8}, Index3{0, 13, 10}}) {
            ViewerState state;
            LabelMap labels(g);
            SegmentList segments;
            state.setDocument(spot(g, target), &labels, &segments);
            state.setWindowLevel({1000, 500});
            SliceView v(state, ViewKind(view));
            v.resize(420, 380);
            v.show();
            QVERIFY(QTest::qWaitForWindowExposed(&v));
            state.setCursor(target);  // shows the target's slice
            v.setToolActive(true);
            QSignalSpy spy(&v, &SliceView::toolEvent);
            const Vec3 world = g.indexToWorld({double(target[0]), double(target[1]), double(target[2])});
            const QPointF pos = v.widgetPosOf(world);
            QVERIFY(QRectF(v.rect()).contains(pos));
            QTest::mouseClick(&v, Qt::LeftButton, Qt::NoModifier, pos.toPoint());
            QCOMPARE(spy.count(), 2);  // press and release
            const auto e = spy.at(0).at(0).value<ToolEvent>();
            QCOMPARE(e.voxel[0], target[0]);
            QCOMPARE(e.voxel[1], target[1]);
            QCOMPARE(e.voxel[2], target[2]);
            QVERIFY(e.inside);
            for (int a = 0; a < 3; ++a) QVERIFY(std::abs(e.world[a] - world[a]) < 2.0);
            // The bright voxel is drawn under the click, its neighbours are dark. Samples are taken a third
            // of a voxel off the centre, towards the middle of the image: away from the crosshair lines
            // through the centre and from the text in the corners.
            const QImage frame = v.grabFramebuffer();
            const double r = v.devicePixelRatioF();
            const SliceFrame f = v.frame();
            auto offCentre = [&](Index3 voxel) {
                Vec3 idx{double(voxel[0]), double(voxel[1]), double(voxel[2])};
                for (int a : {f.horizontal, f.vertical}) idx[a] += voxel[a] < g.size[a] / 2 ? 0.3 : -0.3;
                return v.widgetPosOf(g.indexToWorld(idx));
            };
            QVERIFY2(greyAt(frame, offCentre(target), r) > 200,
                     "the clicked voxel is not the bright one on screen");
            for (int axis : {f.horizontal, f.vertical}) {
                Index3 n = target;
                n[axis] += target[axis] > 0 ? -1 : 1;
                QVERIFY(greyAt(frame, offCentre(n), r) < 50);
            }
        }
    }

    void navigationChangesSliceWindowAndAsksToMaximize() {
        const ImageGeometry g = grid("LPS");
        ViewerState state;
        LabelMap labels(g);
        SegmentList segments;
        state.setDocument(spot(g, {1, 1, 1}), &labels, &segments);
        SliceView v(state, ViewKind::Axial);
        v.resize(300, 300);
        v.show();
        QVERIFY(QTest::qWaitForWindowExposed(&v));
        const auto k0 = state.cursor()[2];
        QTest::keyClick(&v, Qt::Key_Up);
        QCOMPARE(state.cursor()[2], k0 + 1);
        QWheelEvent wheel(QPointF(150, 150), v.mapToGlobal(QPointF(150, 150)), {}, {0, -240}, Qt::NoButton,
                          Qt::NoModifier, Qt::NoScrollPhase, false);
        QApplication::sendEvent(&v, &wheel);
        QCOMPARE(state.cursor()[2], k0 - 1);
        QTest::keyClick(&v, Qt::Key_PageDown);
        QCOMPARE(state.cursor()[2], 0);  // clamped
        // Navigation mode: a left click moves the linked cursor to the voxel under it.
        const QPointF pos = v.widgetPosOf(g.indexToWorld({12, 5, 0}));
        QTest::mouseClick(&v, Qt::LeftButton, Qt::NoModifier, pos.toPoint());
        QCOMPARE(state.cursor()[0], 12);
        QCOMPARE(state.cursor()[1], 5);
        // Ctrl+drag changes window/level.
        const auto before = state.windowLevel();
        QTest::mousePress(&v, Qt::LeftButton, Qt::ControlModifier, QPoint(100, 100));
        QMouseEvent move(QEvent::MouseMove, QPointF(140, 80), v.mapToGlobal(QPointF(140, 80)), Qt::NoButton,
                         Qt::LeftButton, Qt::ControlModifier);
        QApplication::sendEvent(&v, &move);
        QTest::mouseRelease(&v, Qt::LeftButton, Qt::ControlModifier, QPoint(140, 80));
        QVERIFY(state.windowLevel().window > before.window);
        QVERIFY(state.windowLevel().level > before.level);
        QSignalSpy maximize(&v, &SliceView::maximizeRequested);
        QTest::mouseDClick(&v, Qt::LeftButton, Qt::NoModifier, QPoint(150, 150));
        QCOMPARE(maximize.count(), 1);
    }

    void overlayShowsVisibleSegmentsInTheirColour() {
        RedSegmentScene scene;  // a bright image under the overlay: the blend must keep the segment's hue
        scene.labels.set(5, 6, 3, scene.liver.label);
        scene.show({5, 6, 3});
        QVERIFY(QTest::qWaitForWindowExposed(scene.view.get()));
        const QPointF pos =
            scene.view->widgetPosOf(scene.g.indexToWorld({5, 6, 3})) + QPointF(4, 4);  // off the crosshair
        QColor c = scene.colourAt(pos);
        QVERIFY2(c.red() > 240 && c.green() > 100 && c.green() < 160 && c.blue() == c.green(),
                 qPrintable(c.name()));
        scene.liver.visible = false;
        scene.state.notifySegmentsChanged();
        c = scene.colourAt(pos);
        QVERIFY2(c.red() == 255 && c.green() == 255 && c.blue() == 255, qPrintable(c.name()));  // no overlay
    }

    void anAiPreviewIsDrawnAsAnOutlineAndStripes() {
        RedSegmentScene scene;
        for (std::int64_t j = 2; j < 12; ++j)
            for (std::int64_t i = 2; i < 15; ++i) scene.labels.set(i, j, 3, scene.liver.label);
        scene.show({0, 0, 3});  // the crosshair away from the block
        QVERIFY(QTest::qWaitForWindowExposed(scene.view.get()));
        auto colourAt = [&](double i, double j) {
            return scene.colourAt(scene.view->widgetPosOf(scene.g.indexToWorld({i, j, 3})));
        };
        auto blended = [](const QColor& c) { return c.red() > 240 && c.green() > 100 && c.green() < 160; };
        auto plain = [](const QColor& c) { return c.red() == 255 && c.green() == 255 && c.blue() == 255; };
        for (int i = 4; i < 10; ++i) QVERIFY2(blended(colourAt(i, 6)), qPrintable(colourAt(i, 6).name()));
        scene.state.setPreviewLabel(scene.liver.label);
        const QColor edge = colourAt(2, 6);
        QVERIFY2(edge.red() > 240 && edge.green() < 30, qPrintable(edge.name()));
        // Six voxels in a row cross every phase of the stripes: some filled, some left plain.
        int filled = 0, empty = 0;
        for (int i = 4; i < 10; ++i) {
            const QColor c = colourAt(i, 6);
            filled += blended(c);
            empty += plain(c);
        }
        QCOMPARE(filled + empty, 6);
        QVERIFY(filled >= 2 && empty >= 2);
    }

    void surfacesAreBuiltOffTheGuiThread() {
        const ImageGeometry g = grid("oblique");
        ViewerState state;
        LabelMap labels(g);
        SegmentList segments;
        for (std::int64_t k = 3; k < 7; ++k)
            for (std::int64_t j = 3; j < 9; ++j)
                for (std::int64_t i = 4; i < 12; ++i) labels.set(i, j, k, 1);
        state.setDocument(std::make_shared<const Volume>(g, std::vector<float>(g.voxelCount(), 0.0f)),
                          &labels, &segments);
        SurfaceView v(state);
        v.resize(300, 300);
        v.show();
        QVERIFY(QTest::qWaitForWindowExposed(&v));
        QSignalSpy updated(&v, &SurfaceView::surfacesUpdated);
        QVERIFY(updated.wait(10000));
        QVERIFY(v.triangleCount() > 50);
        // Clearing the labels removes the surface.
        std::fill(labels.labels().begin(), labels.labels().end(), 0);
        state.notifyLabelsChanged({0, 0, 0}, g.size);
        QVERIFY(updated.wait(10000));
        QCOMPARE(v.triangleCount(), 0);
    }

    void mainWindowEditsUndoesExportsAndReportsBadInput() {
        QTemporaryDir dir;
        // A small CT-like volume on disk.
        const ImageGeometry g = grid("RAS");
        std::vector<float> data(static_cast<std::size_t>(g.voxelCount()), 40.0f);
        VolumeMetadata m;
        m.modality = "CT";
        Volume source(g, data, m);
        const QString volumePath = dir.filePath("ct.nii.gz");
        writeVolumeFile(source, volumePath.toStdString());

        ui::MainWindowOptions o;
        o.interactive = false;
        o.workspace.modelPath =
            dir.filePath("no-model.safetensors");  // AI unavailable: manual tools still work
        o.workspace.recoveryDirectory = dir.filePath("recovery").toStdString();
        ui::MainWindow w(o);
        w.resize(1200, 800);
        w.show();
        QVERIFY(QTest::qWaitForWindowExposed(&w));
        QSignalSpy loaded(&w.workspace(), &ui::Workspace::volumeChanged);
        w.workspace().open(volumePath);
        QVERIFY(loaded.wait(20000));
        QVERIFY(w.volume() != nullptr);

        // A brush stroke through the real axial view.
        auto& axial = w.sliceView(ViewKind::Axial);
        w.workspace().editor().setTool(ui::Tool::Brush);
        w.workspace().editor().setBrushRadius(3);
        const Vec3 at = g.indexToWorld({9, 7, double(w.viewerState().cursor()[2])});
        QTest::mouseClick(&axial, Qt::LeftButton, Qt::NoModifier, axial.widgetPosOf(at).toPoint());
        const auto label = w.workspace().editor().activeSegment();
        QVERIFY(label != 0);
        QVERIFY(w.controller().voxelCount(label) > 0);
        QCOMPARE(w.historyPanel().entryCount(), 1);
        QVERIFY(w.windowTitle().endsWith("*"));
        // The window as composed (and screenshotted) shows the overlay exactly as the view drew it.
        {
            const QPointF p = axial.widgetPosOf(at) + QPointF(3, 3);
            const double r = axial.devicePixelRatioF();
            const QColor drawn = axial.grabFramebuffer().pixelColor((p * r).toPoint());
            const QColor composed =
                w.grab().toImage().pixelColor((QPointF(axial.mapTo(&w, p.toPoint())) * r).toPoint());
            QVERIFY2(drawn != QColor(Qt::black) && std::abs(drawn.red() - composed.red()) <= 2 &&
                         std::abs(drawn.green() - composed.green()) <= 2,
                     qPrintable(drawn.name() + " vs " + composed.name()));
        }
        // Undo and redo through the actions bound to Ctrl+Z and Ctrl+Shift+Z (a window without a window
        // manager is never active, so the key presses themselves would not reach the shortcut map).
        auto byShortcut = [&](const QKeySequence& k) -> QAction* {
            for (QAction* a : w.findChildren<QAction*>())
                if (a->shortcuts().contains(k)) return a;
            return nullptr;
        };
        QAction* undo = byShortcut(QKeySequence("Ctrl+Z"));
        QAction* redo = byShortcut(QKeySequence("Ctrl+Shift+Z"));
        QVERIFY(undo && redo);
        // Enter and Esc accept and discard an AI preview; a brush stroke opens none.
        QAction* accept = byShortcut(QKeySequence(Qt::Key_Return));
        QAction* discard = byShortcut(QKeySequence(Qt::Key_Escape));
        QVERIFY(accept && discard && !accept->isEnabled() && !discard->isEnabled());
        undo->trigger();
        QCOMPARE(w.controller().voxelCount(label), 0);
        QVERIFY(w.historyPanel().entryCount() == 1);  // undone entries stay listed until a new edit
        redo->trigger();
        QVERIFY(w.controller().voxelCount(label) > 0);

        // Selecting a history entry shows the state right after it.
        const auto afterOne = w.controller().voxelCount(label);
        for (double di : {4.0, 8.0}) {
            const Vec3 p = g.indexToWorld({9 - di / 2, 7 + di / 4, double(w.viewerState().cursor()[2])});
            QTest::mouseClick(&axial, Qt::LeftButton, Qt::NoModifier, axial.widgetPosOf(p).toPoint());
        }
        QCOMPARE(w.historyPanel().entryCount(), 3);
        const auto afterThree = w.controller().voxelCount(label);
        QVERIFY(afterThree > afterOne);
        auto* list = w.historyPanel().findChild<QTreeWidget*>();
        QVERIFY(list);
        QTest::mouseClick(list->viewport(), Qt::LeftButton, Qt::NoModifier,
                          list->visualItemRect(list->topLevelItem(0)).center());
        QCOMPARE(w.controller().voxelCount(label), afterOne);
        QCOMPARE(w.controller().undoStack().index(), 1);
        QTest::mouseClick(list->viewport(), Qt::LeftButton, Qt::NoModifier,
                          list->visualItemRect(list->topLevelItem(2)).center());
        QCOMPARE(w.controller().voxelCount(label), afterThree);

        // With no model the AI click tool grows from seeds: a preview, which Esc takes back.
        w.workspace().editor().setTool(ui::Tool::AiClick);
        const int beforeClick = w.controller().undoStack().index();
        const Vec3 seed = g.indexToWorld({3, 3, double(w.viewerState().cursor()[2])});
        QTest::mouseClick(&axial, Qt::LeftButton, Qt::NoModifier, axial.widgetPosOf(seed).toPoint());
        QTRY_VERIFY_WITH_TIMEOUT(w.controller().undoStack().index() == beforeClick + 1, 20000);
        QVERIFY(w.controller().history().back().kind == InteractionKind::SeedsClick);
        QVERIFY(discard->isEnabled());
        discard->trigger();
        QCOMPARE(w.controller().undoStack().index(), beforeClick);
        QCOMPARE(w.controller().voxelCount(label), afterThree);
        w.workspace().editor().setTool(ui::Tool::Navigate);

        // Export (written in the background): a good one, then into a read-only folder (refused, nothing
        // written).
        QSignalSpy exported(&w.workspace(), &ui::Workspace::exportFinished);
        auto exportTo = [&](const QString& path) {
            if (!w.workspace().exportLabels(path)) return false;
            if (!exported.wait(20000)) return false;
            return exported.takeLast()[0].toBool();
        };
        QVERIFY(exportTo(dir.filePath("labels.nii.gz")));
        QVERIFY(QFileInfo::exists(dir.filePath("labels.nii.gz")));
        QVERIFY(!w.workspace().exportRunning());
        QDir(dir.path()).mkdir("ro");
        QFile::setPermissions(dir.filePath("ro"), QFileDevice::ReadOwner | QFileDevice::ExeOwner);
        // root writes through permission bits; /proc refuses new files to everyone.
        const QString readOnly = QFileInfo(dir.filePath("ro")).isWritable() ? "/proc" : dir.filePath("ro");
        QVERIFY(!exportTo(readOnly + "/labels.nii.gz"));
        QVERIFY2(w.lastError().contains("labels.nii.gz"), qPrintable(w.lastError()));
        QVERIFY(!QFileInfo::exists(readOnly + "/labels.nii.gz"));
        // DICOM-SEG needs a DICOM source.
        QVERIFY(!exportTo(dir.filePath("seg.dcm")));
        QVERIFY(!QFileInfo::exists(dir.filePath("seg.dcm")));

        // A corrupt file: a clear message, and the open document stays.
        QFile bad(dir.filePath("bad.nii.gz"));
        QVERIFY(bad.open(QIODevice::WriteOnly));
        bad.write("this is not a volume");
        bad.close();
        QSignalSpy failed(&w.workspace(), &ui::Workspace::loadFailed);
        w.workspace().open(dir.filePath("bad.nii.gz"));
        QVERIFY(failed.wait(20000));
        QVERIFY2(failed.at(0).at(0).toString().contains("bad.nii.gz"),
                 qPrintable(failed.at(0).at(0).toString()));
        QVERIFY(w.volume() != nullptr);
        QVERIFY(w.controller().voxelCount(label) > 0);
    }
};

QTEST_MAIN(ViewTests)
#include "test_views.moc"
