#include <engram/model/classical/ClassicalPropagation.h>

#include <cmath>
#include <stdexcept>

namespace engram::model {
ClassicalPropagationResult propagateClassically(const float* image, const Dims3& dims,
                                                const Spacing3& spacing, const SlicePrompt& prompt,
                                                ClassicalPropagation method,
                                                const ClassicalPropagationOptions& o) {
    const auto plane = SlicePlane::of(dims, o.axis);
    const std::int64_t slices = dims[std::size_t(o.axis)];
    if (prompt.slice < 0 || prompt.slice >= slices)
        throw std::invalid_argument("The prompt slice is outside the volume.");
    const auto area = static_cast<std::size_t>(plane.rows * plane.columns);
    if (prompt.mask.size() != area)
        throw std::invalid_argument("The prompt mask does not match the slice size.");
    ClassicalPropagationResult result;
    result.mask.assign(static_cast<std::size_t>(dims[0] * dims[1] * dims[2]), 0);
    auto write = [&](std::int64_t slice, const std::vector<std::uint8_t>& m) {
        for (std::int64_t r = 0; r < plane.rows; ++r)
            for (std::int64_t c = 0; c < plane.columns; ++c)
                result.mask[std::size_t(plane.voxelIndex(dims, slice, r, c))] =
                    m[std::size_t(r * plane.columns + c)];
    };
    write(prompt.slice, prompt.mask);

    // The plane as a one-slice grid: columns along i, rows along j.
    const Dims3 planeDims{plane.columns, plane.rows, 1};
    const Spacing3 planeSpacing{spacing[o.axis == 0 ? 1 : 0], spacing[o.axis == 2 ? 1 : 2], 1};
    // The structure's intensities on the prompt slice: where the seeds of a next slice no longer look like
    // them, the structure has ended there.
    double sum = 0, sum2 = 0, count = 0;
    for (std::int64_t r = 0; r < plane.rows; ++r)
        for (std::int64_t c = 0; c < plane.columns; ++c)
            if (prompt.mask[std::size_t(r * plane.columns + c)]) {
                const double v = image[plane.voxelIndex(dims, prompt.slice, r, c)];
                sum += v;
                sum2 += v * v;
                count += 1;
            }
    const double mean = count > 0 ? sum / count : 0;
    const double sd = count > 0 ? std::sqrt(std::max(0.0, sum2 / count - mean * mean)) : 0;
    auto growNext = [&](const std::vector<std::uint8_t>& previous, std::int64_t slice) {
        std::vector<std::uint8_t> outside(area);
        for (std::size_t p = 0; p < area; ++p) outside[p] = previous[p] == 0;
        const auto depth = squaredDistanceToFeature(outside.data(), planeDims, planeSpacing);
        const auto reach = squaredDistanceToFeature(previous.data(), planeDims, planeSpacing);
        std::vector<SimulatedClick> seeds;
        RegionMask background;
        background.size = planeDims;
        background.mask.assign(area, 0);
        std::vector<float> pixels(area);
        for (std::int64_t r = 0; r < plane.rows; ++r)
            for (std::int64_t c = 0; c < plane.columns; ++c) {
                const auto p = std::size_t(r * plane.columns + c);
                pixels[p] = image[plane.voxelIndex(dims, slice, r, c)];
                if (previous[p] && depth[p] > o.erosionMm * o.erosionMm) seeds.push_back({{c, r, 0}, true});
                background.mask[p] = reach[p] > o.backgroundMm * o.backgroundMm;
            }
        double seedSum = 0;
        for (const auto& c : seeds) seedSum += pixels[std::size_t(c.index[1] * plane.columns + c.index[0])];
        if (seeds.empty() || std::abs(seedSum / double(seeds.size()) - mean) > o.endShiftSd * sd)
            return std::vector<std::uint8_t>(area, 0);
        SeedGrower grower(pixels.data(), planeDims, planeSpacing);
        return grower.grow(seeds, &background).mask.toVolume(planeDims);
    };
    for (int direction : {1, -1}) {
        std::vector<std::uint8_t> previous(prompt.mask.begin(), prompt.mask.end());
        for (std::int64_t s = prompt.slice + direction; s >= 0 && s < slices; s += direction) {
            std::vector<std::uint8_t> next;
            if (method == ClassicalPropagation::Copy) {
                next = previous;
            } else {
                next = growNext(previous, s);
            }
            std::int64_t before = 0, now = 0;
            for (std::size_t p = 0; p < area; ++p) {
                before += previous[p] != 0;
                now += next[p] != 0;
            }
            if (now == 0 || double(now) > o.maxGrowth * double(before)) break;
            write(s, next);
            ++result.slicesSegmented;
            previous = std::move(next);
        }
    }
    return result;
}

}  // namespace engram::model
