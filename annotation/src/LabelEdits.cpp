#include <engram/annotation/LabelEdits.h>

#include <algorithm>
#include <cmath>
#include <deque>
#include <vector>

namespace engram {

void VoxelChanges::add(std::int64_t offset, const Index3& p, std::uint8_t old) {
    if (!before.emplace(offset, old).second) return;
    if (before.size() == 1) {
        lo = hi = p;
        return;
    }
    for (int a = 0; a < 3; ++a) {
        lo[a] = std::min(lo[a], p[a]);
        hi[a] = std::max(hi[a], p[a]);
    }
}

void VoxelChanges::merge(const VoxelChanges& later) {
    if (later.empty()) return;
    const bool wasEmpty = empty();
    for (const auto& [offset, old] : later.before) before.emplace(offset, old);
    for (int a = 0; a < 3; ++a) {
        lo[a] = wasEmpty ? later.lo[a] : std::min(lo[a], later.lo[a]);
        hi[a] = wasEmpty ? later.hi[a] : std::max(hi[a], later.hi[a]);
    }
}

void paintBall(LabelMap& labels, const Index3& c, double radiusMm, int normalAxis, std::uint8_t segment,
               bool erase, VoxelChanges& changes) {
    const auto& g = labels.geometry();
    Index3 lo, hi;
    for (int a = 0; a < 3; ++a) {
        const std::int64_t r = a == normalAxis ? 0 : std::int64_t(std::floor(radiusMm / g.spacing[a]));
        lo[a] = std::max<std::int64_t>(0, c[a] - r);
        hi[a] = std::min<std::int64_t>(g.size[a] - 1, c[a] + r);
    }
    // A radius below half the finest spacing still paints the voxel under the pointer.
    const double r2 =
        std::max(radiusMm * radiusMm, 0.25 * std::min({g.spacing[0], g.spacing[1], g.spacing[2]}));
    auto& vox = labels.labels();
    for (std::int64_t k = lo[2]; k <= hi[2]; ++k)
        for (std::int64_t j = lo[1]; j <= hi[1]; ++j)
            for (std::int64_t i = lo[0]; i <= hi[0]; ++i) {
                const double dx = double(i - c[0]) * g.spacing[0], dy = double(j - c[1]) * g.spacing[1],
                             dz = double(k - c[2]) * g.spacing[2];
                if (dx * dx + dy * dy + dz * dz > r2) continue;
                const std::int64_t o = g.offset(i, j, k);
                const std::uint8_t old = vox[std::size_t(o)];
                const std::uint8_t now = labelAfterEdit(old, segment, !erase);
                if (now == old) continue;
                changes.add(o, {i, j, k}, old);
                vox[std::size_t(o)] = now;
            }
}

namespace {

// A voxel a fill of `segment` may take: its value in range, and background or the segment already.
bool fillableAt(const LabelMap& labels, const Volume& volume, std::int64_t offset, float low, float high,
                std::uint8_t segment) {
    const float v = volume.voxels()[std::size_t(offset)];
    const std::uint8_t l = labels.labels()[std::size_t(offset)];
    return v >= low && v <= high && (l == 0 || l == segment);
}

}  // namespace

bool seedFillable(const LabelMap& labels, const Volume& volume, const Index3& seed, float low, float high,
                  std::uint8_t segment) {
    const auto& g = labels.geometry();
    return segment != 0 && g.contains(seed) &&
           fillableAt(labels, volume, g.offset(seed[0], seed[1], seed[2]), low, high, segment);
}

VoxelChanges thresholdFill(LabelMap& labels, const Volume& volume, const Index3& seed, float low, float high,
                           int normalAxis, std::uint8_t segment) {
    VoxelChanges changes;
    if (!seedFillable(labels, volume, seed, low, high, segment)) return changes;
    const auto& g = labels.geometry();
    auto& lab = labels.labels();
    std::vector<bool> seen(static_cast<std::size_t>(g.voxelCount()), false);
    std::deque<Index3> queue{seed};
    seen[std::size_t(g.offset(seed[0], seed[1], seed[2]))] = true;
    while (!queue.empty()) {
        const Index3 p = queue.front();
        queue.pop_front();
        const std::int64_t o = g.offset(p[0], p[1], p[2]);
        const std::uint8_t old = lab[std::size_t(o)];
        if (old != segment) {
            changes.add(o, p, old);
            lab[std::size_t(o)] = labelAfterEdit(old, segment, true);
        }
        for (int a = 0; a < 3; ++a) {
            if (a == normalAxis) continue;
            for (int d : {-1, 1}) {
                Index3 q = p;
                q[a] += d;
                if (!g.contains(q)) continue;
                const std::int64_t qo = g.offset(q[0], q[1], q[2]);
                if (seen[std::size_t(qo)] || !fillableAt(labels, volume, qo, low, high, segment)) continue;
                seen[std::size_t(qo)] = true;
                queue.push_back(q);
            }
        }
    }
    return changes;
}

}  // namespace engram
