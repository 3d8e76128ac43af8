// Session files and crash recovery: the format's round trip (labels, segments, history, view), the label
// runs, and plain messages for damaged or foreign files; recovery files of ended processes.
#include "../support/TestSupport.h"
#include "EditingDocument.h"

#include <engram/annotation/Errors.h>
#include <engram/annotation/Recovery.h>
#include <engram/annotation/Session.h>

#include <fstream>

using namespace engram;
using engram::test::Doc;
using engram::test::ramp;

TEST(Session, InteractionKindsAreTextOnlyInTheFile) {
    // Every kind's label reads back as that kind; any other text is a segment edit named by it.
    for (const InteractionKind k :
         {InteractionKind::AiClick, InteractionKind::SeedsClick, InteractionKind::Propagation,
          InteractionKind::Brush, InteractionKind::Erase, InteractionKind::ThresholdFill,
          InteractionKind::DeleteSegment})
        for (const bool positive : {true, false}) {
            Interaction i;
            i.kind = k;
            i.positive = positive;
            Interaction back;
            back.setFromLabel(i.label());
            EXPECT_EQ(back.kind, k) << i.label().toStdString();
            EXPECT_EQ(back.isPositiveClick(), i.isPositiveClick()) << i.label().toStdString();
        }
    Interaction edit;
    edit.setFromLabel("Open segmentation: Liver");
    EXPECT_EQ(edit.kind, InteractionKind::SegmentEdit);
    EXPECT_EQ(edit.label(), "Open segmentation: Liver");
    EXPECT_FALSE(edit.isClick());
}

TEST(Session, RoundTripKeepsLabelsSegmentsHistoryAndView) {
    Doc d;
    const auto s = d.c.addSegment("Liver");
    ASSERT_TRUE(d.c.thresholdFill(s, {7, 3, 3}, 5, 9, -1, ""));
    d.c.beginStroke(d.c.addSegment("Spleen"), false, "coronal");
    d.c.strokeAt({30, 10, 10}, 5, 1);
    d.c.endStroke();

    SessionDocument doc;
    doc.volumePath = "/data/ramp.nii.gz";
    doc.labels = d.c.labels();
    doc.segments = d.c.segments();
    doc.history = d.c.history();
    doc.cursor = Index3{3, 4, 5};
    doc.windowLevel = std::array<double, 2>{400, 40};
    const auto dir = test::freshDir("session");
    writeSession(doc, dir / "a.engram");
    const auto back = readSession(dir / "a.engram");
    EXPECT_EQ(back.volumePath, doc.volumePath);
    EXPECT_TRUE(back.labels.geometry().sameGrid(doc.labels.geometry(), 0));
    EXPECT_EQ(back.labels.labels(), doc.labels.labels());
    ASSERT_EQ(back.segments.segments().size(), 2u);
    EXPECT_EQ(back.segments.segments()[0].name, "Liver");
    EXPECT_EQ(back.segments.segments()[0].type.value, doc.segments.segments()[0].type.value);
    EXPECT_EQ(back.segments.segments()[0].color, doc.segments.segments()[0].color);
    ASSERT_EQ(back.history.size(), 2u);
    EXPECT_EQ(back.history[1].kind, InteractionKind::Brush);
    EXPECT_EQ(back.history[1].view, "coronal");
    EXPECT_EQ(back.history[1].changedVoxels, doc.history[1].changedVoxels);
    EXPECT_TRUE(back.history[1].restored);
    ASSERT_TRUE(back.cursor.has_value());
    EXPECT_EQ((*back.cursor)[2], 5);

    // Restoring into a controller on the same volume: labels, counts, and the history listed first.
    Doc e;
    e.c.restore(back.labels, back.segments, back.history);
    EXPECT_EQ(e.c.labels().labels(), doc.labels.labels());
    EXPECT_EQ(e.c.voxelCount(s), 5 * 30 * 20);
    EXPECT_EQ(e.c.history().size(), 2u);
    EXPECT_EQ(e.c.restoredCount(), 2);
    EXPECT_FALSE(e.c.isModified());
    // A label map on another grid is refused.
    ImageGeometry other = back.labels.geometry();
    other.size[0] = 10;
    test::expectError<InputError>([&] { e.c.restore(LabelMap(other), {}, {}); }, {"different grid"});
}

TEST(Session, LabelRunsRoundTripAndRejectDamage) {
    std::vector<std::uint8_t> labels(100000, 0);
    for (std::size_t i = 500; i < 70000; ++i) labels[i] = static_cast<std::uint8_t>(1 + (i / 1000) % 3);
    const auto runs = encodeLabelRuns(labels);
    EXPECT_LT(runs.size(), 400u);
    EXPECT_EQ(decodeLabelRuns(runs, labels.size()), labels);
    test::expectError<InputError>([&] { decodeLabelRuns(runs, labels.size() + 1); }, {"cover"});
    auto cut = runs;
    cut.pop_back();
    EXPECT_THROW(decodeLabelRuns(cut, labels.size()), InputError);
}

TEST(Session, LabelRunsAreMaximalAtEveryLengthAndAlignment) {
    // Runs of 1 to 40 voxels of alternating values, so every run starts at every offset within a word.
    std::vector<std::uint8_t> labels;
    std::vector<std::size_t> lengths;
    for (int repeat = 0; repeat < 9; ++repeat)
        for (std::size_t n = 1; n <= 40; ++n) {
            labels.insert(labels.end(), n, static_cast<std::uint8_t>(lengths.size() % 2 ? 7 : 0));
            lengths.push_back(n);
        }
    const auto runs = encodeLabelRuns(labels);
    EXPECT_EQ(decodeLabelRuns(runs, labels.size()), labels);
    // One (value, length) pair per run, no run split: each length fits one LEB128 byte here.
    ASSERT_EQ(runs.size(), 2 * lengths.size());
    for (std::size_t r = 0; r < lengths.size(); ++r) EXPECT_EQ(runs[2 * r + 1], lengths[r]) << r;
}

TEST(Session, DamagedOrForeignFilesGetPlainMessagesAndFailedWritesLeaveNoFile) {
    const auto dir = test::freshDir("session-bad");
    test::expectError<InputError>([&] { readSession(dir / "missing.engram"); }, {"Cannot open the session"});
    std::ofstream(dir / "junk.engram") << "{ not json";
    test::expectError<InputError>([&] { readSession(dir / "junk.engram"); }, {"damaged"});
    std::ofstream(dir / "other.engram") << R"({"format": "something-else"})";
    test::expectError<InputError>([&] { readSession(dir / "other.engram"); }, {"not an Engram session"});
    std::ofstream(dir / "newer.engram") << R"({"format": "engram-session", "version": 99})";
    test::expectError<InputError>([&] { readSession(dir / "newer.engram"); }, {"newer Engram"});

    // A valid file with its label data cut short.
    Doc d;
    SessionDocument doc;
    doc.volumePath = "ramp.nii.gz";
    doc.labels = d.c.labels();
    writeSession(doc, dir / "good.engram");
    std::ifstream in(dir / "good.engram");
    std::string text((std::istreambuf_iterator<char>(in)), {});
    const auto at = text.find("\"data\": \"") + 12;
    text.erase(at, 8);
    std::ofstream(dir / "cut.engram") << text;
    test::expectError<InputError>([&] { readSession(dir / "cut.engram"); }, {"damaged"});
    // A relative volume path is resolved against the session's folder.
    EXPECT_EQ(readSession(dir / "good.engram").volumePath, (dir / "ramp.nii.gz").string());

    test::expectError<OutputError>([&] { writeSession(doc, dir / "no-such-folder" / "x.engram"); },
                                   {"x.engram"});
    EXPECT_FALSE(std::filesystem::exists(dir / "no-such-folder"));
}

TEST(Recovery, OwnFileIsNotAnOrphanAndALeftoverIs) {
    const auto dir = test::freshDir("recovery");
    RecoveryStore store(dir);
    std::ofstream(store.file()) << "x";
    EXPECT_TRUE(store.orphans().empty());
    // A recovery file whose lock is held by nobody: left by a process that is gone.
    std::ofstream(dir / "session-999999.engram") << "x";
    const auto orphans = store.orphans();
    ASSERT_EQ(orphans.size(), 1u);
    EXPECT_EQ(orphans[0].filename(), "session-999999.engram");
    RecoveryStore::remove(orphans[0]);
    EXPECT_TRUE(store.orphans().empty());
    store.discard();
    EXPECT_FALSE(std::filesystem::exists(store.file()));
}
