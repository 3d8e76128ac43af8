// The app's flows through the Workspace, without a window or an X server: open (a file, a missing file, a
// folder of several series with the choice answered or declined), sessions (save, reopen with the view and
// the history), autosave and recovery after a crash, and exports (written in the background, refused while
// one runs or with nothing open).
#include "../support/TestSupport.h"

#include <engram/annotation/Session.h>
#include <engram/annotation/VolumeIO.h>
#include <engram/ui/EditTools.h>
#include <engram/ui/Workspace.h>

#include <gtest/gtest.h>
#include <spdlog/spdlog.h>

#include <QCoreApplication>

#include <filesystem>

namespace fs = std::filesystem;
using namespace engram;
using engram::ui::ViewSnapshot;
using engram::ui::Workspace;
using engram::ui::WorkspaceOptions;

namespace {

using engram::test::shared;

fs::path freshDir(const std::string& name) { return engram::test::freshDir("workspace-" + name); }

QString q(const fs::path& p) { return QString::fromStdString(p.string()); }

// Runs the event loop until `done` holds (or 60 s pass).
bool waitFor(const std::function<bool()>& done) {
    engram::test::spinUntil(done, 60000);
    return done();
}

WorkspaceOptions optionsIn(const fs::path& dir) {
    WorkspaceOptions o;
    o.recoveryDirectory = dir / "recovery";
    o.rememberModels = false;
    return o;
}

// Opens `path` and waits for the volume (or a failure).
bool openAndWait(Workspace& w, const fs::path& path, const QString& seriesKey = {}) {
    bool ended = false, ok = false;
    const auto a = QObject::connect(&w, &Workspace::volumeChanged, [&] { ended = ok = true; });
    const auto b = QObject::connect(&w, &Workspace::loadFailed, [&] { ended = true; });
    const auto c = QObject::connect(&w, &Workspace::loadCancelled, [&] { ended = true; });
    w.open(q(path), seriesKey);
    const bool finished = waitFor([&] { return ended; });
    QObject::disconnect(a);
    QObject::disconnect(b);
    QObject::disconnect(c);
    return finished && ok;
}

// A segment painted with a brush stroke at the volume's centre: one interaction.
std::uint8_t paint(Workspace& w) {
    auto& c = w.controller();
    const std::uint8_t segment = c.addSegment("Lesion");
    const auto size = w.volume()->geometry().size;
    c.beginStroke(segment, false, "axial");
    c.strokeAt({size[0] / 2, size[1] / 2, size[2] / 2}, 6.0, 2);
    c.endStroke();
    EXPECT_EQ(c.labels().labelsPresent(), std::vector<std::uint8_t>{segment});
    return segment;
}

}  // namespace

TEST(Workspace, OpensAFileAndReportsAMissingOne) {
    const fs::path dir = freshDir("open");
    Workspace w(optionsIn(dir));
    QStringList opened, failures;
    QObject::connect(&w, &Workspace::opened, [&](const QString& p) { opened << p; });
    QObject::connect(&w, &Workspace::failed, [&](const QString&, const QString& m) { failures << m; });
    int attached = 0;
    QObject::connect(&w, &Workspace::volumeOpened, [&](const std::shared_ptr<Volume>& v) {
        EXPECT_EQ(v.get(), w.volume());  // the document holds it when the views attach
        ++attached;
    });

    ASSERT_TRUE(openAndWait(w, shared("ct-abdomen/example_ct_sm.nii.gz")));
    EXPECT_EQ(attached, 1);
    EXPECT_EQ(opened.size(), 1);
    EXPECT_TRUE(w.sessionPath().isEmpty());
    EXPECT_TRUE(w.isIdle());

    EXPECT_FALSE(openAndWait(w, dir / "absent.nii.gz"));
    ASSERT_EQ(failures.size(), 1);
    EXPECT_TRUE(failures[0].contains("absent.nii.gz")) << failures[0].toStdString();
    EXPECT_EQ(w.lastError(), failures[0]);
    EXPECT_NE(w.volume(), nullptr);  // the open volume stays
    EXPECT_TRUE(w.isIdle());
}

TEST(Workspace, AFolderOfSeveralSeriesAsksWhichOne) {
    const fs::path dir = freshDir("series");
    // Two series in one folder: the 20-slice CT and the 3-slice dcmqi CT.
    for (const char* series : {"dicom/ct-abdomen-20slice", "dicom/dcmqi/ct-3slice"})
        for (const auto& f : fs::directory_iterator(shared(series)))
            fs::copy_file(f.path(),
                          dir / (fs::path(series).filename().string() + "-" + f.path().filename().string()));
    Workspace w(optionsIn(dir));
    std::size_t offered = 0;
    w.setSeriesChooser([&](const std::vector<DicomSeriesInfo>& images) -> std::optional<std::size_t> {
        offered = images.size();
        for (std::size_t i = 0; i < images.size(); ++i)
            if (images[i].imageCount() == 3) return i;
        return std::nullopt;
    });
    ASSERT_TRUE(openAndWait(w, dir));
    EXPECT_EQ(offered, 2u);
    EXPECT_EQ(w.volume()->geometry().size[2], 3);

    // Declined: the loading ends, nothing is opened instead, the workspace is idle.
    w.setSeriesChooser([](const std::vector<DicomSeriesInfo>&) { return std::nullopt; });
    const Volume* before = w.volume();
    EXPECT_FALSE(openAndWait(w, dir));
    EXPECT_EQ(w.volume(), before);
    EXPECT_TRUE(w.isIdle());
}

TEST(Workspace, ASessionKeepsLabelsHistoryAndView) {
    const fs::path dir = freshDir("session");
    const fs::path session = dir / "work.engram";
    LabelMap labels;
    {
        Workspace w(optionsIn(dir));
        w.setViewProvider([] { return ViewSnapshot{Index3{10, 20, 5}, std::array<double, 2>{350, 50}}; });
        EXPECT_FALSE(w.saveSession(q(session)));  // nothing open
        ASSERT_TRUE(openAndWait(w, shared("ct-abdomen/example_ct_sm.nii.gz")));
        paint(w);
        EXPECT_TRUE(w.controller().isModified());
        ASSERT_TRUE(w.saveSession(q(session))) << w.lastError().toStdString();
        EXPECT_FALSE(w.controller().isModified());
        EXPECT_EQ(w.sessionPath(), q(fs::absolute(session)));
        labels = w.controller().labels();
        EXPECT_FALSE(w.saveSession(q(dir / "no-such-folder" / "x.engram")));
        EXPECT_TRUE(w.lastError().contains("no-such-folder")) << w.lastError().toStdString();
        EXPECT_TRUE(fs::exists(session));  // the good session stays
    }
    Workspace w(optionsIn(dir));
    std::optional<ViewSnapshot> restored;
    QObject::connect(&w, &Workspace::sessionRestored, [&](const ViewSnapshot& v) { restored = v; });
    bool changed = false;
    QObject::connect(&w, &Workspace::volumeChanged, [&] { changed = true; });
    w.openSession(q(session));
    ASSERT_TRUE(waitFor([&] { return changed; }));
    ASSERT_TRUE(restored.has_value());
    EXPECT_EQ(restored->cursor, (Index3{10, 20, 5}));
    EXPECT_EQ(restored->windowLevel, (std::array<double, 2>{350, 50}));
    EXPECT_EQ(w.controller().labels().labels(), labels.labels());
    EXPECT_EQ(w.controller().history().size(), 1u);
    EXPECT_EQ(w.controller().segments().find(1)->name, "Lesion");
    EXPECT_EQ(w.sessionPath(), q(fs::absolute(session)));
}

TEST(Workspace, AutosavedWorkIsRestoredAfterACrash) {
    const fs::path dir = freshDir("recovery");
    const fs::path orphan = dir / "recovery" / "session-999999.engram";
    LabelMap labels;
    {
        Workspace w(optionsIn(dir));
        ASSERT_TRUE(openAndWait(w, shared("ct-abdomen/example_ct_sm.nii.gz")));
        EXPECT_FALSE(w.autosave());  // nothing changed yet
        paint(w);
        ASSERT_TRUE(w.autosave());
        EXPECT_FALSE(w.autosave());  // written already
        labels = w.controller().labels();
        // A process that ended without closing: its recovery file stays, unlocked.
        fs::copy_file(w.recovery()->file(), orphan);
    }
    Workspace w(optionsIn(dir));
    const auto orphans = w.recoveryOrphans();
    ASSERT_EQ(orphans.size(), 1u);
    EXPECT_EQ(orphans[0], orphan);
    bool restored = false;
    QObject::connect(&w, &Workspace::sessionRestored, [&] { restored = true; });
    w.restoreRecovery(orphans[0]);
    ASSERT_TRUE(waitFor([&] { return restored && w.isIdle(); }));
    EXPECT_EQ(w.controller().labels().labels(), labels.labels());
    EXPECT_FALSE(fs::exists(orphan));               // the work now lives in this process's file
    EXPECT_TRUE(fs::exists(w.recovery()->file()));  // written at once
    EXPECT_TRUE(w.sessionPath().isEmpty());         // not a session the user saved
    EXPECT_EQ(readSession(w.recovery()->file()).labels.labels(), labels.labels());

    // A clean close removes it; declining a recovery removes the orphans.
    w.shutDown();
    EXPECT_FALSE(fs::exists(w.recovery()->file()));
    fs::copy_file(shared("ct-abdomen/example_ct_sm.nii.gz"), dir / "recovery" / "session-999998.engram");
    EXPECT_EQ(w.recoveryOrphans().size(), 1u);
    w.discardRecoveries();
    EXPECT_TRUE(w.recoveryOrphans().empty());
}

TEST(Workspace, ExportsRunInTheBackgroundOneAtATime) {
    const fs::path dir = freshDir("export");
    Workspace w(optionsIn(dir));
    EXPECT_FALSE(w.exportLabels(q(dir / "none.nii.gz")));
    EXPECT_TRUE(w.lastError().contains("No volume")) << w.lastError().toStdString();
    ASSERT_TRUE(openAndWait(w, shared("ct-abdomen/example_ct_sm.nii.gz")));
    paint(w);
    std::vector<std::pair<bool, QString>> outcomes;
    QObject::connect(&w, &Workspace::exportFinished,
                     [&](bool ok, const QString& message) { outcomes.emplace_back(ok, message); });

    const fs::path out = dir / "labels.nii.gz";
    ASSERT_TRUE(w.exportLabels(q(out)));
    EXPECT_TRUE(w.exportRunning());
    EXPECT_FALSE(w.isIdle());
    EXPECT_FALSE(w.exportLabels(q(dir / "second.nii.gz")));  // one at a time
    EXPECT_TRUE(w.lastError().contains("still being written")) << w.lastError().toStdString();
    ASSERT_TRUE(waitFor([&] { return !outcomes.empty(); }));
    EXPECT_TRUE(outcomes[0].first) << outcomes[0].second.toStdString();
    EXPECT_FALSE(w.exportRunning());
    EXPECT_TRUE(w.isIdle());
    EXPECT_EQ(readLabelFile(out).labels.labels(), w.controller().labels().labels());
    EXPECT_TRUE(fs::exists(dir / "labels_labels.txt"));  // ITK-SNAP's label table beside it
    EXPECT_FALSE(fs::exists(dir / "second.nii.gz"));

    // A failed write is reported and leaves nothing.
    ASSERT_TRUE(w.exportLabels(q(dir / "no-such-folder" / "x.nii.gz")));
    ASSERT_TRUE(waitFor([&] { return outcomes.size() == 2; }));
    EXPECT_FALSE(outcomes[1].first);
    EXPECT_TRUE(outcomes[1].second.contains("no-such-folder")) << outcomes[1].second.toStdString();
}

TEST(Workspace, SegmentationsFromElsewhereAskWhatTheyNeed) {
    const fs::path dir = freshDir("segmentation");
    Workspace w(optionsIn(dir));
    const QString overlapping = q(shared("dicom/dcmqi/partial_overlaps.dcm"));
    EXPECT_FALSE(w.openSegmentation(overlapping, {}));
    EXPECT_TRUE(w.lastError().contains("volume")) << w.lastError().toStdString();
    ASSERT_TRUE(openAndWait(w, shared("dicom/dcmqi/ct-3slice")));

    // Overlapping segments: the question gets the count; declining loads nothing and is no error.
    std::int64_t asked = 0;
    ui::SegmentationQuestions ask;
    ask.overlaps = [&](std::int64_t voxels) -> std::optional<ui::SegmentationChoices::Overlaps> {
        asked = voxels;
        return std::nullopt;
    };
    int failures = 0;
    QObject::connect(&w, &Workspace::failed, [&] { ++failures; });
    EXPECT_FALSE(w.openSegmentation(overlapping, {}, ask));
    EXPECT_EQ(asked, 3106);  // dcmqi's partial_overlaps.dcm (engram-cli info says the same)
    EXPECT_EQ(w.lastError(), "cancelled");
    EXPECT_EQ(failures, 0);
    EXPECT_TRUE(w.controller().history().empty());
    ui::SegmentationChoices refuse;
    refuse.overlaps = ui::SegmentationChoices::Overlaps::Refuse;
    EXPECT_FALSE(w.openSegmentation(overlapping, refuse));
    EXPECT_EQ(failures, 1);
    ask.overlaps = [](std::int64_t) { return ui::SegmentationChoices::Overlaps::Separate; };
    ASSERT_TRUE(w.openSegmentation(overlapping, refuse, ask))
        << w.lastError().toStdString();  // the answer wins
    bool combined = false;
    for (const auto& segment : w.controller().segments().segments())
        combined |= segment.name.find(" + ") != std::string::npos;
    EXPECT_TRUE(combined);
    EXPECT_EQ(w.controller().history().size(), w.controller().segments().segments().size());  // one step each

    // A label file on another grid: refused unless resampling is chosen or answered yes.
    ASSERT_TRUE(openAndWait(w, shared("ct-abdomen/example_ct_sm.nii.gz")));
    const fs::path other = dir / "other-grid.nii.gz";
    {
        const Volume ct = readVolumeFile(shared("ct-abdomen/example_ct_sm.nii.gz"));
        ImageGeometry half = ct.geometry();
        for (int a = 0; a < 3; ++a) {
            half.size[std::size_t(a)] = (half.size[std::size_t(a)] + 1) / 2;
            half.spacing[std::size_t(a)] *= 2;
        }
        LabelMap labels(half);
        labels.labels()[labels.labels().size() / 2] = 3;
        writeLabelFile(labels, other);
    }
    std::string grids;
    ask = {};
    ask.resample = [&](const std::string& g) {
        grids = g;
        return false;
    };
    EXPECT_FALSE(w.openSegmentation(q(other), {}, ask));
    EXPECT_FALSE(grids.empty());
    EXPECT_EQ(w.lastError(), "cancelled");
    EXPECT_FALSE(w.openSegmentation(q(other), {}));
    EXPECT_TRUE(w.lastError().contains("resample")) << w.lastError().toStdString();
    ui::SegmentationChoices resample;
    resample.resample = true;
    ASSERT_TRUE(w.openSegmentation(q(other), resample)) << w.lastError().toStdString();
    EXPECT_EQ(w.controller().labels().labelsPresent().size(), 1u);
}

TEST(Workspace, TheActiveSegmentFollowsTheDocument) {
    const fs::path dir = freshDir("editor");
    Workspace w(optionsIn(dir));
    ASSERT_TRUE(openAndWait(w, shared("ct-abdomen/example_ct_sm.nii.gz")));
    auto& editor = w.editor();
    auto& c = w.controller();
    EXPECT_EQ(editor.activeSegment(), 0);
    std::vector<std::uint8_t> changes;
    QObject::connect(&editor, &ui::EditorState::activeSegmentChanged,
                     [&](std::uint8_t l) { changes.push_back(l); });
    const auto liver = c.addSegment("Liver");
    EXPECT_EQ(editor.activeSegment(), liver);  // the first segment becomes active
    const auto spleen = c.addSegment("Spleen");
    EXPECT_EQ(editor.activeSegment(), liver);  // and stays so while others are added
    editor.setActiveSegment(spleen);
    editor.setActiveSegment(77);  // not a segment: ignored
    EXPECT_EQ(editor.activeSegment(), spleen);
    c.deleteSegment(spleen);
    EXPECT_EQ(editor.activeSegment(), liver);  // the last one left
    c.deleteSegment(liver);
    EXPECT_EQ(editor.activeSegment(), 0);
    EXPECT_EQ(changes, (std::vector<std::uint8_t>{liver, spleen, liver, 0}));
    const auto created = editor.activeOrNewSegment();
    EXPECT_EQ(c.segments().find(created)->name, "Segment 1");
    editor.setBrushRadius(500);
    EXPECT_EQ(editor.brushRadius(), ui::EditorState::kMaxBrushRadius);
}

TEST(Workspace, ToolsEditTheActiveSegmentWithTheEditorsOptions) {
    const fs::path dir = freshDir("tools");
    Workspace w(optionsIn(dir));
    ASSERT_TRUE(openAndWait(w, shared("ct-abdomen/example_ct_sm.nii.gz")));
    auto& c = w.controller();
    auto& editor = w.editor();
    const auto size = w.volume()->geometry().size;
    const Index3 centre{size[0] / 2, size[1] / 2, size[2] / 2};
    ui::ToolInput at;
    at.voxel = centre;
    at.world = w.volume()->geometry().indexToWorld({double(centre[0]), double(centre[1]), double(centre[2])});
    at.inside = true;
    at.view = "axial";
    EXPECT_EQ(ui::makeTool(ui::Tool::Navigate, w), nullptr);

    // A brush stroke (press, drag, release) is one interaction in the active segment, in the slice.
    editor.setBrushRadius(3);
    auto brush = ui::makeTool(ui::Tool::Brush, w);
    brush->press(at);
    ui::ToolInput along = at;
    along.voxel[0] += 8;
    brush->drag(along);
    brush->release(along);
    const auto segment = editor.activeSegment();
    ASSERT_NE(segment, 0);
    EXPECT_EQ(c.history().size(), 1u);
    const std::int64_t painted = c.voxelCount(segment);
    EXPECT_GT(painted, 0);
    const auto& grid = w.volume()->geometry();
    const auto& labels = c.labels().labels();
    for (std::size_t o = 0; o < labels.size(); ++o) {
        if (labels[o]) {
            ASSERT_EQ(std::int64_t(o) / (grid.size[0] * grid.size[1]), centre[2]);  // this slice only
        }
    }

    // The secondary button erases what the brush painted; the eraser too.
    ui::ToolInput erase = at;
    erase.secondary = true;
    brush->press(erase);
    brush->release(erase);
    const std::int64_t afterErase = c.voxelCount(segment);
    EXPECT_LT(afterErase, painted);
    auto eraser = ui::makeTool(ui::Tool::Eraser, w);
    eraser->press(along);
    eraser->release(along);
    EXPECT_LT(c.voxelCount(segment), afterErase);
    EXPECT_EQ(c.history().size(), 3u);

    // A fill takes the connected voxels in the editor's range: an empty range takes none.
    const float value = w.volume()->at(centre[0], centre[1], centre[2]);
    editor.setFillRange(value + 5000, value + 6000);
    auto fill = ui::makeTool(ui::Tool::Fill, w);
    const std::int64_t beforeFill = c.voxelCount(segment);
    fill->press(at);
    EXPECT_EQ(c.voxelCount(segment), beforeFill);
    editor.setFillRange(value - 50, value + 50);
    fill->press(at);
    EXPECT_GT(c.voxelCount(segment), beforeFill);

    // An AI click with no model loaded grows from seeds, and says so.
    QStringList notices;
    QObject::connect(&w, &Workspace::notice, [&](const QString& m, int) { notices << m; });
    const auto ai = c.addSegment("Grown");
    editor.setActiveSegment(ai);
    auto click = ui::makeTool(ui::Tool::AiClick, w);
    click->press(at);
    ASSERT_TRUE(waitFor([&] { return w.isIdle(); }));
    EXPECT_TRUE(notices.join(" ").contains("grow from seeds")) << notices.join(" ").toStdString();
    EXPECT_GT(c.voxelCount(ai) + c.voxelCount(c.previewSegment()), 0);
}

TEST(Workspace, SegmentToolsAndPropagationWorkOnTheActiveSegment) {
    const fs::path dir = freshDir("segment-tools");
    Workspace w(optionsIn(dir));
    EXPECT_FALSE(w.runSegmentTool(ui::SegmentTool::FillHoles, 0, 2));
    EXPECT_TRUE(w.lastError().contains("Open a volume")) << w.lastError().toStdString();
    ASSERT_TRUE(openAndWait(w, shared("ct-abdomen/example_ct_sm.nii.gz")));
    EXPECT_FALSE(w.runSegmentTool(ui::SegmentTool::Grow, 3, 2));
    EXPECT_TRUE(w.lastError().contains("segment list")) << w.lastError().toStdString();
    const auto segment = paint(w);
    const std::int64_t before = w.controller().voxelCount(segment);
    const auto slice = w.volume()->geometry().size[2] / 2;
    ASSERT_TRUE(w.runSegmentTool(ui::SegmentTool::Grow, 3, 2, slice)) << w.lastError().toStdString();
    EXPECT_GT(w.controller().voxelCount(segment), before);
    EXPECT_EQ(w.controller().history().back().detail.toStdString(), "Grow by 3 mm (slice)");
    EXPECT_FALSE(w.runSegmentTool(ui::SegmentTool::FillHoles, 0, 2, slice));  // a disc has no holes
    EXPECT_TRUE(w.lastError().contains("nothing to change")) << w.lastError().toStdString();
    EXPECT_EQ(ui::segmentToolNamed("fill-between-slices"), ui::SegmentTool::FillBetweenSlices);
    EXPECT_FALSE(ui::segmentToolNamed("sharpen").has_value());
    // No propagation model was loaded.
    EXPECT_FALSE(w.propagate(2, slice, true, true));
    EXPECT_TRUE(w.lastError().contains("propagation model")) << w.lastError().toStdString();
}

int main(int argc, char** argv) {
    QCoreApplication app(argc, argv);
    spdlog::set_level(spdlog::level::warn);
    ::testing::InitGoogleTest(&argc, argv);
    return RUN_ALL_TESTS();
}
