#include <engram/model/inference/SlidingWindow.h>

#include <torch/nn/functional/pooling.h>

#include <cmath>
#include <deque>
#include <limits>

namespace engram::model {
namespace {

double distance2(const Point3& a, const Point3& b) {
    return (a[0] - b[0]) * (a[0] - b[0]) + (a[1] - b[1]) * (a[1] - b[1]) + (a[2] - b[2]) * (a[2] - b[2]);
}

}  // namespace

SlidingWindowResult segmentAcrossCrops(const Grid& source, const std::vector<WorldClick>& clicks,
                                       const CropPredictor& predict, const SlidingWindowOptions& options) {
    namespace F = torch::nn::functional;
    SlidingWindowResult result;
    if (clicks.empty()) return result;
    const std::size_t voxels = static_cast<std::size_t>(source.size[0] * source.size[1] * source.size[2]);
    result.mask.assign(voxels, 0);
    // For each voxel, the squared distance to the centre of the crop that decided it.
    std::vector<float> decidedBy(voxels, std::numeric_limits<float>::infinity());
    const double half = options.crop.size * options.crop.spacing / 2;

    std::vector<Point3> done;
    std::deque<Point3> queue{clicks.front().world};
    bool faceLeft = false;
    while (!queue.empty()) {
        const Point3 centre = queue.front();
        queue.pop_front();
        bool covered = false;  // a crop already centred within a quarter crop of here
        for (const auto& d : done) covered |= distance2(d, centre) < (half / 2) * (half / 2);
        if (covered) continue;
        if (result.cropsRun == options.maxCrops) {
            faceLeft = true;
            break;
        }
        const ModelCrop crop(centre, options.crop);
        done.push_back(centre);
        ++result.cropsRun;

        // Prompts: the clicks inside this crop; beyond the first crop, the mask so far as a click and a mask.
        std::vector<float> coords;
        std::vector<std::int64_t> labels;
        for (const auto& c : clicks)
            if (crop.containsWorld(c.world)) {
                const Point3 idx = crop.worldToCrop(c.world);
                for (double v : idx) coords.push_back(static_cast<float>(std::round(v)));
                labels.push_back(c.positive ? 1 : 0);
            }
        torch::Tensor previous;
        if (result.cropsRun > 1) {
            double best = std::numeric_limits<double>::infinity();
            Point3 nearest{};
            for (std::int64_t k = 0, v = 0; k < source.size[2]; ++k)
                for (std::int64_t j = 0; j < source.size[1]; ++j)
                    for (std::int64_t i = 0; i < source.size[0]; ++i, ++v)
                        if (result.mask[static_cast<std::size_t>(v)]) {
                            const Point3 w = source.indexToWorld({double(i), double(j), double(k)});
                            if (crop.containsWorld(w) && distance2(w, centre) < best) {
                                best = distance2(w, centre);
                                nearest = w;
                            }
                        }
            if (std::isfinite(best)) {
                for (double v : crop.worldToCrop(nearest))
                    coords.push_back(static_cast<float>(std::round(v)));
                labels.push_back(1);
            }
            std::vector<float> asFloat(result.mask.begin(), result.mask.end());
            const auto p = F::avg_pool3d(crop.resample(source, asFloat.data()),
                                         F::AvgPool3dFuncOptions(options.crop.size / options.lowResSide));
            previous = (p - 0.5) * 16;  // sign-preserving logits of the mask so far
        }
        if (labels.empty()) continue;
        const auto k = static_cast<std::int64_t>(labels.size());
        const auto logits = predict(crop, torch::from_blob(coords.data(), {1, k, 3}, torch::kFloat32).clone(),
                                    torch::from_blob(labels.data(), {1, k}, torch::kInt64).clone(), previous);
        const RegionMask region = crop.pasteBack(logits, source);

        // Merge: this crop decides the voxels it is the nearest crop centre for.
        std::size_t v = 0;
        for (std::int64_t z = 0; z < region.size[2]; ++z)
            for (std::int64_t y = 0; y < region.size[1]; ++y)
                for (std::int64_t x = 0; x < region.size[0]; ++x, ++v) {
                    const Point3 idx{double(region.begin[0] + x), double(region.begin[1] + y),
                                     double(region.begin[2] + z)};
                    const auto off = static_cast<std::size_t>(
                        idx[0] + double(source.size[0]) * (idx[1] + double(source.size[1]) * idx[2]));
                    const float d = static_cast<float>(distance2(source.indexToWorld(idx), centre));
                    if (d < decidedBy[off]) {
                        decidedBy[off] = d;
                        result.mask[off] = region.mask[v];
                    }
                }
        // Queue a neighbour across each face the prediction reaches.
        for (int axis = 0; axis < 3; ++axis)
            for (int side : {0, 1}) {
                if (!region.touchedFaces[axis * 2 + side]) continue;
                const double mid = options.crop.size / 2.0;
                Point3 idx{mid, mid, mid};
                idx[axis] += (side ? 1 : -1) * options.crop.size / 2.0;
                queue.push_back(crop.cropToWorld(idx));
            }
    }
    result.reachedLimit = faceLeft;
    return result;
}

}  // namespace engram::model
