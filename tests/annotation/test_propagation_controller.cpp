// Propagation through the worker and the controller (issue 6 app hook): the segment's slice mask goes to the
// worker's propagator, the slab it reaches comes back as one undoable interaction; progress, cancel,
// errors. The propagation network is the SAM 2 parity case's with its object score forced to "present" or
// "absent" (tests/support/Sam2TestModel.h), so the extent of the result is known.
#include "../support/Sam2TestModel.h"
#include "../support/TestSupport.h"

#include <engram/annotation/AnnotationController.h>
#include <engram/annotation/SegmentationService.h>

using namespace engram;

namespace {

// A bright ellipsoid over axial slices 10..30 of a 40 x 36 x 40 volume.
std::shared_ptr<const Volume> ellipsoid() {
    ImageGeometry g;
    g.size = {40, 36, 40};
    g.spacing = {1, 1, 2};
    std::vector<float> v(static_cast<std::size_t>(g.voxelCount()));
    std::size_t n = 0;
    for (int k = 0; k < 40; ++k)
        for (int j = 0; j < 36; ++j)
            for (int i = 0; i < 40; ++i, ++n) {
                const double x = (i - 20) / 12.0, y = (j - 18) / 10.0, z = (k - 20) / 10.0;
                v[n] = x * x + y * y + z * z <= 1 ? 300.f : float((i + 2 * j + 3 * k) % 30);
            }
    return std::make_shared<const Volume>(g, std::move(v));
}

struct Doc {
    SegmentationService service;
    AnnotationController c{service};
    QString lastError;
    bool ready = false, finished = false, applied = false;
    std::vector<std::pair<int, int>> progress;
    explicit Doc(float scoreBias) {
        QObject::connect(&c, &AnnotationController::errorOccurred,
                         [this](const QString& m) { lastError = m; });
        QObject::connect(&service, &SegmentationService::propagatorReady, [this] { ready = true; });
        QObject::connect(&service, &SegmentationService::propagatorFailed,
                         [this](const QString& m) { lastError = m; });
        QObject::connect(&c, &AnnotationController::propagationProgress, [this](int done, int total) {
            progress.push_back({done, total});
        });
        QObject::connect(&c, &AnnotationController::propagationFinished, [this](bool a) {
            finished = true;
            applied = a;
        });
        c.setVolume(ellipsoid());
        const auto model = test::writeSam2TestModel(scoreBias, false,
                                                    std::string(ENGRAM_TEST_OUT) + "/controller-sam2-" +
                                                        std::to_string(int(scoreBias)) + ".safetensors");
        service.loadPropagator(model);
        test::spinUntil([this] { return ready || !lastError.isEmpty(); }, 60000);
    }
    // Paints the ellipsoid's cross-section on axial slice k for `segment` with the threshold fill.
    void drawSlice(std::uint8_t segment, std::int64_t k) {
        ASSERT_TRUE(c.thresholdFill(segment, {20, 18, k}, 200, 400, 2, "axial")) << lastError.toStdString();
    }
    std::int64_t countOnSlice(std::uint8_t label, std::int64_t k) const {
        std::int64_t n = 0;
        const auto& g = c.labels().geometry();
        for (std::int64_t j = 0; j < g.size[1]; ++j)
            for (std::int64_t i = 0; i < g.size[0]; ++i)
                n += c.labels().labels()[std::size_t(g.offset(i, j, k))] == label;
        return n;
    }
};

}  // namespace

TEST(PropagationController, ResultIsOneUndoableInteractionOverTheSlicesReached) {
    Doc d(50);  // the target is "present" on every slice: propagation reaches both ends
    ASSERT_TRUE(d.ready) << d.lastError.toStdString();
    const auto liver = d.c.addSegment("Liver");
    d.drawSlice(liver, 20);
    const auto drawn = d.c.labels().labels();
    ASSERT_GT(d.countOnSlice(liver, 20), 100);
    const int before = d.c.undoStack().count();

    ASSERT_TRUE(d.c.propagate(liver, 2, 20, true, true, "axial"));
    EXPECT_TRUE(d.c.propagationRunning());
    EXPECT_FALSE(d.c.propagate(liver, 2, 20)) << "one propagation at a time";
    test::spinUntil([&] { return d.finished; }, 120000);
    ASSERT_TRUE(d.applied) << d.lastError.toStdString();
    ASSERT_EQ(d.c.undoStack().count(), before + 1);
    const auto h = d.c.history();
    EXPECT_EQ(h.back().kind, InteractionKind::Propagation);
    EXPECT_EQ(h.back().view, "axial");
    EXPECT_EQ(h.back().segment, liver);
    EXPECT_GT(h.back().milliseconds, 0);
    // Progress for every slice, ending at the total (forward 20..39 and backward 20..0).
    ASSERT_FALSE(d.progress.empty());
    EXPECT_EQ(d.progress.back().first, d.progress.back().second);
    EXPECT_EQ(d.progress.back().second, 20 + 21);
    // The prompt slice is the user's drawing, unchanged.
    EXPECT_EQ(d.countOnSlice(liver, 20), LabelMap(d.c.labels().geometry(), drawn).histogram()[liver]);
    const auto propagated = d.c.labels().labels();

    d.c.undoStack().undo();
    EXPECT_EQ(d.c.labels().labels(), drawn);
    d.c.undoStack().redo();
    EXPECT_EQ(d.c.labels().labels(), propagated);
}

TEST(PropagationController, AbsentTargetStopsNextToThePromptAndLeavesOtherSlicesAlone) {
    Doc d(-50);
    ASSERT_TRUE(d.ready) << d.lastError.toStdString();
    const auto s = d.c.addSegment("Kidney");
    d.drawSlice(s, 20);
    ASSERT_TRUE(d.c.propagate(s, 2, 20));
    test::spinUntil([&] { return d.finished; }, 120000);
    ASSERT_TRUE(d.applied);
    // Absent on 21, 22 (and 19, 18): two slices each way, then it stops (the prompt counts once per
    // direction); only slice 20 keeps voxels.
    EXPECT_EQ(d.progress.back().first, 6);
    for (std::int64_t k = 0; k < 40; ++k)
        if (k != 20) {
            EXPECT_EQ(d.countOnSlice(s, k), 0) << k;
        }
    EXPECT_GT(d.countOnSlice(s, 20), 100);
}

TEST(PropagationController, BadRequestsAreRefusedWithAReasonAndCancelLeavesNothing) {
    Doc d(50);
    ASSERT_TRUE(d.ready);
    const auto s = d.c.addSegment("Spleen");
    EXPECT_FALSE(d.c.propagate(s, 2, 20));
    EXPECT_TRUE(d.lastError.contains("no voxels")) << d.lastError.toStdString();
    EXPECT_FALSE(d.c.propagate(s, 2, 40));
    EXPECT_TRUE(d.lastError.contains("outside")) << d.lastError.toStdString();
    EXPECT_FALSE(d.c.propagate(s, 3, 10));

    d.drawSlice(s, 20);
    const auto drawn = d.c.labels().labels();
    const int count = d.c.undoStack().count();
    QObject::connect(&d.c, &AnnotationController::propagationProgress, [&](int done, int) {
        if (done == 2) d.service.cancel();
    });
    d.lastError.clear();
    ASSERT_TRUE(d.c.propagate(s, 2, 20));
    test::spinUntil([&] { return d.finished; }, 120000);
    EXPECT_FALSE(d.applied);
    EXPECT_TRUE(d.lastError.isEmpty()) << "a cancel is not an error";
    EXPECT_EQ(d.c.undoStack().count(), count);
    EXPECT_EQ(d.c.labels().labels(), drawn);
}

TEST(PropagationController, WithoutAPropagationModelTheWorkerSaysSo) {
    SegmentationService service;
    AnnotationController c{service};
    QString error;
    bool finished = false;
    QObject::connect(&c, &AnnotationController::errorOccurred, [&](const QString& m) { error = m; });
    QObject::connect(&c, &AnnotationController::propagationFinished, [&](bool) { finished = true; });
    c.setVolume(ellipsoid());
    const auto s = c.addSegment("Aorta");
    ASSERT_TRUE(c.thresholdFill(s, {20, 18, 20}, 200, 400, 2, "axial"));
    ASSERT_TRUE(c.propagate(s, 2, 20));
    test::spinUntil([&] { return finished; }, 30000);
    EXPECT_TRUE(error.contains("No propagation model")) << error.toStdString();

    QString loadError;
    QObject::connect(&service, &SegmentationService::propagatorFailed,
                     [&](const QString& m) { loadError = m; });
    service.loadPropagator(std::string(ENGRAM_TEST_OUT) + "/missing-propagator.safetensors");
    test::spinUntil([&] { return !loadError.isEmpty(); }, 30000);
    EXPECT_TRUE(loadError.contains("missing-propagator")) << loadError.toStdString();
}
