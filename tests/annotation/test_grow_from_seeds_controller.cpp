// Grow from seeds in the app's controller and worker, with no model loaded: clicks on a real CT become an
// undoable preview whose undo takes the seeds session back, other segments stay untouched and hold the
// growth back, and bad clicks change nothing.
#include "../support/TestSupport.h"

#include <engram/annotation/AnnotationController.h>
#include <engram/annotation/SegmentationService.h>
#include <engram/annotation/VolumeIO.h>
#include <engram/model/metrics/MaskMetrics.h>
#include <engram/model/metrics/SimulatedClicks.h>

using namespace engram;

namespace {

struct Document {
    SegmentationService service;  // no model: grow from seeds needs none
    AnnotationController controller{service};
    std::shared_ptr<const Volume> volume;
    QString lastError;
    explicit Document(std::shared_ptr<const Volume> v) : volume(std::move(v)) {
        QObject::connect(&controller, &AnnotationController::errorOccurred,
                         [this](const QString& m) { lastError = m; });
        controller.setVolume(volume);
    }
    void click(std::uint8_t segment, const Index3& voxel, bool positive) {
        const auto before = controller.undoStack().index();
        const auto& g = volume->geometry();
        ASSERT_TRUE(controller.aiClick(segment,
                                       g.indexToWorld({double(voxel[0]), double(voxel[1]), double(voxel[2])}),
                                       positive, "axial", ClickMethod::GrowFromSeeds));
        test::spinUntil([&] { return controller.pendingClicks() == 0; }, 30000);
        ASSERT_EQ(controller.undoStack().index(), before + 1) << lastError.toStdString();
    }
    std::vector<std::uint8_t> maskOf(std::uint8_t label) const {
        std::vector<std::uint8_t> m(controller.labels().labels().size());
        for (std::size_t o = 0; o < m.size(); ++o) m[o] = controller.labels().labels()[o] == label;
        return m;
    }
};

}  // namespace

TEST(GrowFromSeedsController, ClicksOnARealCtAreAnUndoablePreviewWithoutAModel) {
    const auto image = test::shared("ct-abdomen/example_ct_sm.nii.gz");
    const auto seg = test::shared("ct-abdomen/example_seg.nii.gz");
    if (!std::filesystem::exists(image) || !std::filesystem::exists(seg)) GTEST_SKIP() << "no shared data";
    Document d(std::make_shared<const Volume>(readVolumeFile(image)));
    const auto truthLabels = readLabelFile(seg, d.volume->geometry()).labels;
    std::vector<std::uint8_t> liver(truthLabels.labels().size());
    for (std::size_t o = 0; o < liver.size(); ++o) liver[o] = truthLabels.labels()[o] == 5;
    const auto& g = d.volume->geometry();
    const model::Dims3 dims{g.size[0], g.size[1], g.size[2]};
    const model::Spacing3 spacing{g.spacing[0], g.spacing[1], g.spacing[2]};

    // The simulated user of the evaluation, through the app's own path.
    std::mt19937 rng(1);
    std::vector<std::vector<std::uint8_t>> states;
    for (int k = 0; k < 5; ++k) {
        const auto prediction = d.maskOf(1);
        const auto c = model::nextClick(prediction.data(), liver.data(), dims, spacing,
                                        model::ClickRule::LargestErrorCentre, rng);
        ASSERT_TRUE(c);
        d.click(1, c->index, c->positive);
        states.push_back(d.controller.labels().labels());
    }
    const auto five = d.maskOf(1);
    EXPECT_GT(model::dice(five.data(), liver.data(), static_cast<std::int64_t>(five.size())), 0.7);
    EXPECT_EQ(d.controller.previewSegment(), 1);
    EXPECT_EQ(d.controller.previewClicks(), 5);
    const auto h = d.controller.history();
    ASSERT_EQ(h.size(), 5u);
    EXPECT_EQ(h[0].kind, InteractionKind::SeedsClick);
    EXPECT_GT(h[0].segmentVoxels, 0);

    // Undo two clicks and redo one: voxels come back exactly; a click after the undo grows from the clicks in
    // effect (the session went back too), so repeating the undone click gives its labels again.
    d.controller.undoStack().undo();
    d.controller.undoStack().undo();
    EXPECT_EQ(d.controller.labels().labels(), states[2]);
    d.controller.undoStack().redo();
    EXPECT_EQ(d.controller.labels().labels(), states[3]);
    const auto redone = d.controller.history();
    d.controller.undoStack().undo();
    const auto& fourth = redone[3];
    const Vec3 idx = g.worldToIndex(fourth.world);
    d.click(1, {std::llround(idx[0]), std::llround(idx[1]), std::llround(idx[2])}, fourth.positive);
    EXPECT_EQ(d.controller.labels().labels(), states[3]);

    d.controller.discardPreview();
    EXPECT_EQ(d.controller.voxelCount(1), 0);
}

TEST(GrowFromSeedsController, OtherSegmentsAreNeitherOverwrittenNorGrownInto) {
    // Two touching boxes of different tissue (100 and 160, in 0); the right one is segment 2 already. The
    // click's path into the right box is cheaper than the background's, so only segment 2's voxels being
    // background seeds keep the boundary at the edge between the boxes.
    ImageGeometry g;
    g.size = {80, 60, 40};
    std::vector<float> v(static_cast<std::size_t>(g.voxelCount()));
    std::vector<std::uint8_t> labels(v.size(), 0);
    for (std::int64_t k = 0; k < g.size[2]; ++k)
        for (std::int64_t j = 0; j < g.size[1]; ++j)
            for (std::int64_t i = 0; i < g.size[0]; ++i) {
                const auto o = static_cast<std::size_t>(g.offset(i, j, k));
                const bool inside = k >= 10 && k < 30 && j >= 15 && j < 45 && i >= 10 && i < 70;
                v[o] = (inside ? (i >= 40 ? 160.f : 100.f) : 0.f) + float((i * 7 + j * 3 + k) % 5);
                if (inside && i >= 40) labels[o] = 2;
            }
    Document d(std::make_shared<const Volume>(g, v));
    SegmentList segments;
    segments.put(SegmentList::defaultFor(2));
    d.controller.restore(LabelMap(g, labels), segments, {});
    d.click(1, {25, 30, 20}, true);
    const auto& after = d.controller.labels().labels();
    std::int64_t stolen = 0, grown = 0;
    for (std::size_t o = 0; o < after.size(); ++o) {
        stolen += labels[o] == 2 && after[o] != 2;
        grown += after[o] == 1;
    }
    EXPECT_EQ(stolen, 0);
    const std::int64_t leftBox = 30 * 30 * 20;
    // The box's outermost voxels are half-way values in the smoothed image: some go to the background.
    EXPECT_GT(grown, leftBox * 8 / 10);
    EXPECT_LE(grown, leftBox);
}

TEST(GrowFromSeedsController, AClickOutsideTheVolumeChangesNothing) {
    ImageGeometry g;
    g.size = {20, 20, 20};
    Document d(std::make_shared<const Volume>(g, std::vector<float>(8000, 1.f)));
    EXPECT_FALSE(d.controller.aiClick(1, {-50, 0, 0}, true, "axial", ClickMethod::GrowFromSeeds));
    EXPECT_FALSE(d.lastError.isEmpty());
    EXPECT_EQ(d.controller.undoStack().count(), 0);
    // A first click that is negative grows nothing and still records the click (undoable, like the model's).
    d.lastError.clear();
    ASSERT_TRUE(d.controller.aiClick(1, {5, 5, 5}, false, "axial", ClickMethod::GrowFromSeeds));
    test::spinUntil([&] { return d.controller.pendingClicks() == 0; }, 30000);
    EXPECT_TRUE(d.lastError.isEmpty()) << d.lastError.toStdString();
    EXPECT_EQ(d.controller.voxelCount(1), 0);
}
