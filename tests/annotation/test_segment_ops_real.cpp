// Segment statistics and island operations on the TotalSegmentator example CT and its labels (read through
// VolumeIO). Expected counts and intensities were computed independently from the NIfTI files.
#include "../support/TestSupport.h"

#include <engram/annotation/SegmentOps.h>
#include <engram/annotation/SegmentStatistics.h>
#include <engram/annotation/VolumeIO.h>

#include <algorithm>
#include <filesystem>
#include <vector>

using namespace engram;
using engram::test::shared;

namespace {

// Sizes of the 6-connected components of `label`, largest first.
std::vector<std::int64_t> componentSizes(const LabelMap& m, std::uint8_t label) {
    const Index3 n = m.geometry().size;
    const auto& v = m.labels();
    std::vector<bool> seen(v.size(), false);
    std::vector<std::int64_t> sizes, stack;
    for (std::size_t s = 0; s < v.size(); ++s) {
        if (v[s] != label || seen[s]) continue;
        std::int64_t count = 0;
        seen[s] = true;
        stack.assign(1, std::int64_t(s));
        while (!stack.empty()) {
            const std::int64_t o = stack.back();
            stack.pop_back();
            ++count;
            const Index3 p{o % n[0], (o / n[0]) % n[1], o / (n[0] * n[1])};
            for (int a = 0; a < 3; ++a)
                for (int d : {-1, 1}) {
                    Index3 q = p;
                    q[std::size_t(a)] += d;
                    if (!m.geometry().contains(q)) continue;
                    const auto x = std::size_t(m.geometry().offset(q[0], q[1], q[2]));
                    if (v[x] == label && !seen[x]) {
                        seen[x] = true;
                        stack.push_back(std::int64_t(x));
                    }
                }
        }
        sizes.push_back(count);
    }
    std::sort(sizes.rbegin(), sizes.rend());
    return sizes;
}

}  // namespace

TEST(SegmentOpsRealData, LiverStatisticsAndIslandsOnTheExampleCt) {
    const auto ctPath = shared("ct-abdomen/example_ct_sm.nii.gz");
    const auto segPath = shared("ct-abdomen/example_seg.nii.gz");
    if (!std::filesystem::exists(ctPath) || !std::filesystem::exists(segPath))
        GTEST_SKIP() << "shared data not found under " << ENGRAM_SHARED_DIR;
    const Volume ct = readVolumeFile(ctPath);
    const LabelFileImport seg = readLabelFile(segPath, ct.geometry());
    ASSERT_TRUE(seg.renumbered.empty()) << "label values are TotalSegmentator's own";
    const LabelMap& labels = seg.labels;
    const ImageGeometry& g = labels.geometry();

    const auto stats = segmentStatistics(labels, ct);
    ASSERT_EQ(stats.size(), labels.labelsPresent().size());
    const auto liver = std::find_if(stats.begin(), stats.end(), [](const auto& s) { return s.label == 5; });
    ASSERT_NE(liver, stats.end());
    EXPECT_EQ(liver->voxels, 38634);
    EXPECT_EQ(liver->voxels, labels.histogram()[5]);
    EXPECT_NEAR(liver->volumeMl, double(liver->voxels) * g.spacing[0] * g.spacing[1] * g.spacing[2] / 1000,
                1e-9);
    EXPECT_NEAR(liver->volumeMl, 1043.118, 0.01);  // 3 mm voxels: 0.027 mL each
    EXPECT_GT(liver->mean, 40);
    EXPECT_LT(liver->mean, 90);
    EXPECT_NEAR(liver->mean, 45.291, 0.001);
    EXPECT_NEAR(liver->stddev, 15.208, 0.001);
    EXPECT_EQ(liver->min, -94);
    EXPECT_EQ(liver->max, 121);
    // The box holds every liver voxel and each of its sides touches one.
    Index3 lo{g.size[0], g.size[1], g.size[2]}, hi{-1, -1, -1};
    for (std::int64_t k = 0; k < g.size[2]; ++k)
        for (std::int64_t j = 0; j < g.size[1]; ++j)
            for (std::int64_t i = 0; i < g.size[0]; ++i)
                if (labels.at(i, j, k) == 5) {
                    lo = {std::min(lo[0], i), std::min(lo[1], j), std::min(lo[2], k)};
                    hi = {std::max(hi[0], i), std::max(hi[1], j), std::max(hi[2], k)};
                }
    EXPECT_EQ(liver->begin, lo);
    EXPECT_EQ(liver->end, hi);

    // The liver is one island; a stray voxel in the volume's corner is removed and nothing else.
    EXPECT_EQ(componentSizes(labels, 5).size(), 1u);
    EXPECT_TRUE(keepLargestIsland(labels, 5).empty());
    LabelMap stray = labels;
    ASSERT_EQ(stray.at(0, 0, 0), 0);
    stray.set(0, 0, 0, 5);
    const SegmentEdit e = keepLargestIsland(stray, 5);
    EXPECT_EQ(e.removed, 1);
    EXPECT_EQ(e.added, 0);
    EXPECT_EQ(e.begin, (Index3{0, 0, 0}));
    EXPECT_EQ(e.size, (Index3{1, 1, 1}));
    applyEdit(stray, e);
    EXPECT_EQ(stray.labels(), labels.labels());

    // The colon (20) has two islands, of 10985 and 2008 voxels.
    ASSERT_EQ(componentSizes(labels, 20), (std::vector<std::int64_t>{10985, 2008}));
    LabelMap colon = labels;
    const SegmentEdit c = keepLargestIsland(colon, 20);
    EXPECT_EQ(c.removed, 2008);
    applyEdit(colon, c);
    EXPECT_EQ(componentSizes(colon, 20), (std::vector<std::int64_t>{10985}));

    // Growing the liver by 6 mm takes only background: every other segment keeps its voxels.
    LabelMap grown = labels;
    const SegmentEdit gr = growSegment(grown, 5, 6.0);
    EXPECT_GT(gr.added, 0);
    applyEdit(grown, gr);
    const auto before = labels.histogram(), after = grown.histogram();
    for (int v = 1; v < 256; ++v) {
        if (v == 5) continue;
        EXPECT_EQ(after[std::size_t(v)], before[std::size_t(v)]) << "label " << v;
    }
    EXPECT_EQ(after[5], before[5] + gr.added);
}
