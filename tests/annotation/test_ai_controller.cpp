#include "../support/TestSupport.h"

#include <engram/annotation/AnnotationController.h>
#include <engram/annotation/FineTuner.h>
#include <engram/annotation/SegmentationService.h>
#include <engram/annotation/Session.h>
#include <engram/annotation/TrainingData.h>
#include <engram/annotation/VolumeIO.h>
#include <engram/model/training/ClickNetTraining.h>

#include <QCoreApplication>
#include <QElapsedTimer>

#include <cmath>
#include <filesystem>
#include <fstream>

using namespace engram;

namespace {

const std::string kWeights = std::string(ENGRAM_SHARED_DIR) + "/parity/sam-med3d-tiny-seed1.safetensors";

// A bright ellipsoid in a 1 mm LPS volume.
std::shared_ptr<const Volume> phantom() {
    ImageGeometry g;
    g.size = {120, 110, 90};
    g.origin = {-60, -55, -45};
    std::vector<float> v(static_cast<std::size_t>(g.voxelCount()));
    std::size_t n = 0;
    for (int k = 0; k < 90; ++k)
        for (int j = 0; j < 110; ++j)
            for (int i = 0; i < 120; ++i, ++n) {
                const double x = (i - 60) / 25.0, y = (j - 55) / 18.0, z = (k - 45) / 20.0;
                v[n] = (x * x + y * y + z * z < 1 ? 250.0f : 10.0f) + float((i * 7 + j * 13 + k * 3) % 17);
            }
    return std::make_shared<const Volume>(g, std::move(v));
}

int spinUntil(const std::function<bool()>& done) { return test::spinUntil(done, 60000); }

struct Fixture {
    SegmentationService service;
    AnnotationController controller{service};
    std::shared_ptr<const Volume> volume = phantom();
    QString lastError;
    bool ready = false;
    Fixture() {
        QObject::connect(&controller, &AnnotationController::errorOccurred,
                         [this](const QString& m) { lastError = m; });
        QObject::connect(&service, &SegmentationService::engineReady, [this] { ready = true; });
        model::EngineOptions o;
        o.weights = kWeights;
        service.loadEngine(o);
        controller.setVolume(volume);
        spinUntil([this] { return ready; });
    }
    Vec3 at(double i, double j, double k) const { return volume->geometry().indexToWorld({i, j, k}); }
    void clickAndWait(std::uint8_t segment, const Vec3& w, bool positive) {
        const auto before = controller.undoStack().index();
        ASSERT_TRUE(controller.aiClick(segment, w, positive));
        spinUntil([&] { return controller.pendingClicks() == 0; });
        ASSERT_EQ(controller.undoStack().index(), before + 1) << lastError.toStdString();
    }
};

}  // namespace

TEST(AiController, ClicksBecomeUndoableEditsAndTheHistory) {
    Fixture f;
    ASSERT_TRUE(f.ready);
    f.clickAndWait(1, f.at(60, 55, 45), true);
    const auto afterFirst = f.controller.labels().labels();
    f.clickAndWait(1, f.at(70, 58, 44), false);
    const auto afterSecond = f.controller.labels().labels();

    const auto h = f.controller.history();
    ASSERT_EQ(h.size(), 2u);
    EXPECT_EQ(h[0].label(), "AI click +");
    EXPECT_EQ(h[1].label(), "AI click -");
    EXPECT_EQ(h[0].segment, 1);
    EXPECT_EQ(h[0].segmentVoxels, LabelMap(f.volume->geometry(), afterFirst).histogram()[1]);
    EXPECT_EQ(h[1].segmentVoxels, f.controller.labels().histogram()[1]);
    EXPECT_GT(h[0].changedVoxels, 0);
    EXPECT_GT(h[0].milliseconds, 0);

    f.controller.undoStack().undo();
    EXPECT_EQ(f.controller.labels().labels(), afterFirst);
    EXPECT_EQ(f.controller.voxelCount(1), f.controller.labels().histogram()[1]);  // counts kept by undo
    EXPECT_FALSE(f.controller.history()[1].applied);
    f.controller.undoStack().redo();
    EXPECT_EQ(f.controller.labels().labels(), afterSecond);

    // After undoing the second click, the same click again gives the same labels: the engine went back too.
    f.controller.undoStack().undo();
    f.clickAndWait(1, f.at(70, 58, 44), false);
    EXPECT_EQ(f.controller.labels().labels(), afterSecond);
    f.controller.undoStack().undo();
    f.controller.undoStack().undo();
    EXPECT_EQ(f.controller.labels().histogram()[1], 0);
}

TEST(AiController, AResultSupersededByAnUndoIsDropped) {
    Fixture f;
    f.clickAndWait(2, f.at(60, 55, 45), true);
    const auto afterFirst = f.controller.labels().labels();
    ASSERT_TRUE(f.controller.aiClick(2, f.at(65, 50, 47), true));
    f.controller.undoStack().undo();  // while the second click is in flight
    spinUntil([&] { return f.controller.pendingClicks() == 0; });
    EXPECT_EQ(f.controller.undoStack().count(), 1);
    EXPECT_EQ(f.controller.undoStack().index(), 0);
    EXPECT_EQ(f.controller.labels().histogram()[2], 0);
    // The engine is back at step 0 too: redo restores the first click, and a new click continues from it.
    f.controller.undoStack().redo();
    EXPECT_EQ(f.controller.labels().labels(), afterFirst);
}

TEST(AiController, APreviewIsAcceptedOrDiscardedAsAWhole) {
    Fixture f;
    f.clickAndWait(1, f.at(60, 55, 45), true);
    EXPECT_EQ(f.controller.previewSegment(), 1);
    f.clickAndWait(1, f.at(70, 58, 44), false);
    EXPECT_EQ(f.controller.previewClicks(), 2);
    EXPECT_TRUE(f.controller.history()[0].preview && f.controller.history()[1].preview);

    // Accepting keeps the voxels and the history, and only ends the preview.
    const auto accepted = f.controller.labels().labels();
    f.controller.acceptPreview();
    EXPECT_EQ(f.controller.previewSegment(), 0);
    EXPECT_EQ(f.controller.labels().labels(), accepted);
    EXPECT_FALSE(f.controller.history()[1].preview);
    EXPECT_EQ(f.controller.undoStack().index(), 2);

    // A new preview on the same segment, discarded: the accepted voxels are back, and so is the memory (the
    // same clicks again give the same voxels).
    f.clickAndWait(1, f.at(50, 50, 45), false);
    f.clickAndWait(1, f.at(66, 60, 40), true);
    EXPECT_EQ(f.controller.previewClicks(), 2);
    const auto discarded = f.controller.labels().labels();
    ASSERT_NE(discarded, accepted);
    f.controller.discardPreview();
    EXPECT_EQ(f.controller.previewSegment(), 0);
    EXPECT_EQ(f.controller.labels().labels(), accepted);
    EXPECT_EQ(f.controller.undoStack().index(), 2);
    EXPECT_EQ(f.controller.voxelCount(1), f.controller.labels().histogram()[1]);
    f.clickAndWait(1, f.at(50, 50, 45), false);
    f.clickAndWait(1, f.at(66, 60, 40), true);
    EXPECT_EQ(f.controller.labels().labels(), discarded);

    // A click for another segment accepts the open preview and starts its own.
    f.clickAndWait(2, f.at(30, 40, 50), true);
    EXPECT_EQ(f.controller.previewSegment(), 2);
    EXPECT_EQ(f.controller.previewClicks(), 1);
    EXPECT_FALSE(f.controller.history()[3].preview);
    EXPECT_TRUE(f.controller.history()[4].preview);
    // A manual edit accepts it too.
    f.controller.beginStroke(3, false, "axial");
    f.controller.strokeAt({5, 5, 5}, 2.0, 2);
    f.controller.endStroke();
    EXPECT_EQ(f.controller.previewSegment(), 0);
    EXPECT_FALSE(f.controller.history()[4].preview);

    // Undoing every click of a preview ends it; redo brings the click back accepted.
    f.clickAndWait(2, f.at(35, 40, 50), true);
    EXPECT_EQ(f.controller.previewSegment(), 2);
    f.controller.undoStack().undo();
    EXPECT_EQ(f.controller.previewSegment(), 0);
    f.controller.undoStack().redo();
    EXPECT_EQ(f.controller.previewSegment(), 0);
    EXPECT_FALSE(f.controller.history().back().preview);
}

TEST(AiController, DiscardingAPreviewDropsItsClicksInFlight) {
    Fixture f;
    f.clickAndWait(1, f.at(60, 55, 45), true);
    ASSERT_TRUE(f.controller.aiClick(1, f.at(65, 50, 47), true));
    f.controller.discardPreview();  // while the second click is in flight
    spinUntil([&] { return f.controller.pendingClicks() == 0; });
    EXPECT_EQ(f.controller.undoStack().index(), 0);
    EXPECT_EQ(f.controller.previewSegment(), 0);
    EXPECT_EQ(f.controller.labels().histogram()[1], 0);
}

TEST(AiController, BadRequestsAreRejectedWithAMessage) {
    SegmentationService service;
    AnnotationController controller(service);
    QString error;
    QObject::connect(&controller, &AnnotationController::errorOccurred, [&](const QString& m) { error = m; });
    EXPECT_FALSE(controller.aiClick(1, {0, 0, 0}, true));
    EXPECT_TRUE(error.contains("Open a volume"));
    Fixture f;
    EXPECT_FALSE(f.controller.aiClick(1, f.at(-10, 5, 5), true));
    EXPECT_TRUE(f.lastError.contains("outside the volume"));
    EXPECT_FALSE(f.controller.aiClick(0, f.at(10, 5, 5), true));
    EXPECT_EQ(f.controller.pendingClicks(), 0);
}

TEST(AiController, TheEventLoopKeepsTurningWhileTheWorkerEncodes) {
    Fixture f;
    ASSERT_TRUE(f.controller.aiClick(1, f.at(60, 55, 45), true));
    ASSERT_TRUE(f.controller.aiClick(1, f.at(62, 57, 45), true));  // queued behind the encoding, not lost
    QElapsedTimer t;
    t.start();
    const int turns = spinUntil([&] { return f.controller.pendingClicks() == 0; });
    EXPECT_EQ(f.controller.undoStack().count(), 2);
    EXPECT_GT(turns, 5) << "the GUI thread waited on the worker";
}

TEST(AiController, MissingWeightsAreReportedAndShutdownJoinsTheThread) {
    SegmentationService service;
    QString failure;
    QObject::connect(&service, &SegmentationService::engineFailed, [&](const QString& m) { failure = m; });
    model::EngineOptions o;
    o.weights = "/nonexistent/engram.safetensors";
    service.loadEngine(o);
    spinUntil([&] { return !failure.isEmpty(); });
    EXPECT_TRUE(failure.contains("engram.safetensors"));
    // A click without an engine fails with a message instead of crashing.
    QString clickError;
    QObject::connect(&service, &SegmentationService::clickFailed,
                     [&](quint64, int, const QString& m, bool) { clickError = m; });
    service.click(1, {0, 0, 0}, true);
    spinUntil([&] { return !clickError.isEmpty(); });
    EXPECT_TRUE(clickError.contains("not loaded"));
}

// Fine-tuning from the app: the open document and a saved session become training volumes, each epoch is
// reported and the model file written; stop() ends a run early; an unreadable session is named.
TEST(FineTuner, TrainsOnTheDocumentAndSessionsReportsEpochsAndStops) {
    namespace fs = std::filesystem;
    const auto volume = phantom();
    LabelMap labels(volume->geometry());
    for (std::size_t n = 0; n < labels.labels().size(); ++n) labels.labels()[n] = volume->voxels()[n] > 200;
    const fs::path dir = fs::path(ENGRAM_TEST_OUT) / "fine-tuner";
    fs::remove_all(dir);
    fs::create_directories(dir);
    writeVolumeFile(*volume, dir / "phantom.nii.gz");
    SessionDocument finished;
    finished.volumePath = (dir / "phantom.nii.gz").string();
    finished.labels = labels;
    writeSession(finished, dir / "finished.engram");

    FineTuner tuner;
    std::vector<int> epochs;
    bool done = false, ok = false, stopAtFirstEpoch = false;
    QString message;
    QObject::connect(&tuner, &FineTuner::epochFinished, [&](int epoch, int, double, double, double) {
        epochs.push_back(epoch);
        if (stopAtFirstEpoch) tuner.stop();
    });
    QObject::connect(&tuner, &FineTuner::finished, [&](bool good, const QString& m, const QString&) {
        done = true;
        ok = good;
        message = m;
    });
    FineTuner::Request r;
    r.volume = volume;
    r.labels = labels;
    r.sessions = {dir / "finished.engram"};
    r.options.initialWeights = kWeights;
    r.options.output = (dir / "tuned.safetensors").string();
    r.options.epochs = 2;
    r.options.samplesPerEpoch = 2;
    r.options.clicks = 2;
    r.options.keepBest = true;
    ASSERT_TRUE(tuner.start(r));
    QString why;
    EXPECT_FALSE(tuner.start(r, &why));
    EXPECT_TRUE(why.contains("already")) << why.toStdString();
    spinUntil([&] { return done; });
    ASSERT_TRUE(ok) << message.toStdString();
    EXPECT_EQ(epochs, (std::vector<int>{1, 2}));
    EXPECT_FALSE(tuner.running());
    // The engine takes the fine-tuned model.
    SegmentationService service;
    bool ready = false;
    QObject::connect(&service, &SegmentationService::engineReady, [&] { ready = true; });
    model::EngineOptions o;
    o.weights = r.options.output;
    service.loadEngine(o);
    spinUntil([&] { return ready; });
    EXPECT_TRUE(ready);

    // Stopped after its first epoch: no model file, the reason says so.
    done = false;
    epochs.clear();
    stopAtFirstEpoch = true;
    r.options.epochs = 500;
    r.options.keepBest = false;
    r.options.output = (dir / "stopped.safetensors").string();
    ASSERT_TRUE(tuner.start(r));
    spinUntil([&] { return done; });
    EXPECT_FALSE(ok);
    EXPECT_TRUE(message.contains("stopped")) << message.toStdString();
    EXPECT_LE(epochs.size(), 2u);
    EXPECT_FALSE(fs::exists(r.options.output));

    // A damaged session is reported by its name.
    std::ofstream(dir / "damaged.engram") << "{ not json";
    done = false;
    r.volume = nullptr;
    r.sessions = {dir / "damaged.engram"};
    r.options.epochs = 1;
    ASSERT_TRUE(tuner.start(r));
    spinUntil([&] { return done; });
    EXPECT_FALSE(ok);
    EXPECT_TRUE(message.contains("damaged.engram")) << message.toStdString();
    r.sessions.clear();
    EXPECT_FALSE(tuner.start(r, &why));
    EXPECT_TRUE(why.contains("finished volume")) << why.toStdString();
}

// The default model's family (clicknet) is fine-tuned by its own trainer, reported per epoch of samples.
TEST(FineTuner, FineTunesAClickNetModelWithItsOwnTrainer) {
    namespace fs = std::filesystem;
    const auto volume = phantom();
    LabelMap labels(volume->geometry());
    for (std::size_t n = 0; n < labels.labels().size(); ++n) labels.labels()[n] = volume->voxels()[n] > 200;
    const fs::path dir = fs::path(ENGRAM_TEST_OUT) / "fine-tuner-clicknet";
    fs::remove_all(dir);
    fs::create_directories(dir);
    // A small clicknet file to start from.
    model::ClickNetTrainOptions base;
    base.config.widths = {4, 8, 16};
    base.config.heads = 2;
    base.config.memoryCells = 2;
    base.config.cropSize = 16;
    base.config.maxCropSize = 32;
    base.config.spacing = 4;
    base.steps = 2;
    base.maxClicks = 2;
    base.longClicks = 2;
    base.output = (dir / "start.safetensors").string();
    model::trainClickNet({labelledVolumeOf(*volume, labels, "phantom")}, base);
    ASSERT_TRUE(model::isClickNetFile(base.output));

    FineTuner tuner;
    std::vector<int> epochs;
    bool done = false, ok = false;
    QString message;
    QObject::connect(&tuner, &FineTuner::epochFinished,
                     [&](int epoch, int, double, double, double) { epochs.push_back(epoch); });
    QObject::connect(&tuner, &FineTuner::finished, [&](bool good, const QString& m, const QString&) {
        done = true;
        ok = good;
        message = m;
    });
    FineTuner::Request r;
    r.volume = volume;
    r.labels = labels;
    r.options.initialWeights = base.output;
    r.options.output = (dir / "tuned.safetensors").string();
    r.options.epochs = 2;
    r.options.samplesPerEpoch = 4;
    ASSERT_TRUE(tuner.start(r));
    spinUntil([&] { return done; });
    ASSERT_TRUE(ok) << message.toStdString();
    EXPECT_EQ(epochs, (std::vector<int>{1, 2}));
    EXPECT_TRUE(message.contains("4 steps")) << message.toStdString();
    EXPECT_TRUE(model::isClickNetFile(r.options.output));
}
