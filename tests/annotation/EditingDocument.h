#pragma once
// Internal to the annotation tests: a small document to edit (a 40 x 30 x 20 ramp volume) with its
// controller, for the manual-edit and session tests.
#include <engram/annotation/AnnotationController.h>
#include <engram/annotation/SegmentationService.h>

#include <memory>

namespace engram::test {

// 40x30x20 volume, 2 x 1 x 3 mm, values = i (so a threshold selects columns), oblique-free LPS.
inline std::shared_ptr<const Volume> ramp() {
    ImageGeometry g;
    g.size = {40, 30, 20};
    g.spacing = {2, 1, 3};
    g.origin = {-40, -15, -30};
    std::vector<float> v(static_cast<std::size_t>(g.voxelCount()));
    std::size_t n = 0;
    for (int k = 0; k < 20; ++k)
        for (int j = 0; j < 30; ++j)
            for (int i = 0; i < 40; ++i) v[n++] = float(i);
    VolumeMetadata m;
    m.sourcePath = "/data/ramp.nii.gz";
    return std::make_shared<const Volume>(g, std::move(v), m);
}

struct Doc {
    SegmentationService service;  // no engine: manual edits need none
    AnnotationController c{service};
    QString lastError;
    Doc() {
        QObject::connect(&c, &AnnotationController::errorOccurred,
                         [this](const QString& m) { lastError = m; });
        c.setVolume(ramp());
    }
    std::int64_t count(std::uint8_t label) const {
        std::int64_t n = 0;
        for (auto v : c.labels().labels()) n += v == label;
        return n;
    }
};

}  // namespace engram::test
