// Fill between slices on held-out label maps: of each structure, only every 5th axial slice of its extent
// is kept (the first and last slices included), the slices between are filled, and the result is compared
// with the whole structure. The Dice values printed are the ones docs quote.
#include "../support/TestSupport.h"

#include <engram/annotation/SliceInterpolation.h>
#include <engram/annotation/VolumeIO.h>

#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

using namespace engram;

namespace {

struct Outcome {
    double dice = 0;
    std::int64_t first = 0, last = 0, drawn = 0, voxels = 0;
    double milliseconds = 0;
};

Outcome everyFifthSlice(const LabelMap& full, std::uint8_t label) {
    const ImageGeometry& g = full.geometry();
    const std::int64_t slab = g.size[0] * g.size[1];
    Outcome r;
    r.first = g.size[2];
    r.last = -1;
    for (std::int64_t o = 0; o < g.voxelCount(); ++o)
        if (full.labels()[std::size_t(o)] == label) {
            r.first = std::min(r.first, o / slab);
            r.last = std::max(r.last, o / slab);
            ++r.voxels;
        }
    std::vector<std::uint8_t> keep(static_cast<std::size_t>(g.size[2]), 0);
    for (std::int64_t k = r.first; k <= r.last; k += 5) keep[std::size_t(k)] = 1;
    if (r.last >= 0) keep[std::size_t(r.last)] = 1;
    LabelMap sparse(g);
    for (std::int64_t o = 0; o < g.voxelCount(); ++o)
        if (full.labels()[std::size_t(o)] == label && keep[std::size_t(o / slab)])
            sparse.labels()[std::size_t(o)] = 1;

    const auto start = std::chrono::steady_clock::now();
    const SliceFill fill = fillBetweenSlices(sparse, 1, 2);
    r.milliseconds =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    r.drawn = static_cast<std::int64_t>(fill.drawnSlices.size());
    applyEdit(sparse, fill.edit);

    std::int64_t both = 0, filled = 0;
    for (std::int64_t o = 0; o < g.voxelCount(); ++o) {
        const bool p = sparse.labels()[std::size_t(o)] == 1;
        filled += p;
        both += p && full.labels()[std::size_t(o)] == label;
    }
    r.dice = 2.0 * double(both) / double(filled + r.voxels);
    return r;
}

}  // namespace

TEST(SliceInterpolationReal, EveryFifthAxialSliceOfHeldOutStructures) {
    const auto abdomen = test::shared("ct-abdomen/example_seg.nii.gz");
    const auto aorta = test::shared("ct-aorta-1.5mm/aorta.nii.gz");
    if (!std::filesystem::exists(abdomen) || !std::filesystem::exists(aorta))
        GTEST_SKIP() << "needs " << abdomen << " and " << aorta;
    const LabelMap totals = readLabelFile(abdomen).labels;
    const LabelMap aortaMask = readLabelFile(aorta).labels;

    // Floors: the Dice measured when this test was written, less 0.02.
    struct Structure {
        const LabelMap* labels;
        std::uint8_t label;
        const char* name;
        double floor;
    };
    const Structure structures[] = {
        {&totals, 1, "spleen (3 mm)", 0.945},      {&totals, 2, "right kidney (3 mm)", 0.928},
        {&totals, 3, "left kidney (3 mm)", 0.916}, {&totals, 5, "liver (3 mm)", 0.954},
        {&totals, 6, "stomach (3 mm)", 0.918},     {&totals, 52, "aorta (3 mm)", 0.916},
        {&aortaMask, 1, "aorta (1.5 mm)", 0.958},
    };
    double sum = 0;
    for (const auto& s : structures) {
        const Outcome r = everyFifthSlice(*s.labels, s.label);
        ASSERT_GT(r.voxels, 0) << s.name;
        std::printf("[ fill     ] %-20s slices %3lld..%3lld, %2lld drawn: Dice %.4f (%lld voxels, %.1f ms)\n",
                    s.name, static_cast<long long>(r.first), static_cast<long long>(r.last),
                    static_cast<long long>(r.drawn), r.dice, static_cast<long long>(r.voxels),
                    r.milliseconds);
        EXPECT_GE(r.dice, s.floor) << s.name;
        sum += r.dice;
    }
    const double mean = sum / double(std::size(structures));
    std::printf("[ fill     ] mean Dice %.4f\n", mean);
    EXPECT_GE(mean, 0.933);
}
