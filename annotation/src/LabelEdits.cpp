#include <engram/annotation/LabelEdits.h>

#include <algorithm>
#include <cmath>
#include <deque>
#include <stdexcept>
#include <vector>

namespace engram {

void VoxelChanges::add(std::int64_t offset, const Index3& p, std::uint8_t old) {
    if (before.emplace(offset, old).second) box.add(p);
}

void VoxelChanges::merge(const VoxelChanges& later) {
    for (const auto& [offset, old] : later.before) before.emplace(offset, old);
    box.unite(later.box);
}

SegmentEdit VoxelChanges::asEdit(const LabelMap& labels, std::uint8_t segment) const {
    const auto& g = labels.geometry();
    return SegmentEdit::over(box, segment,
                             [&](std::int64_t j, std::int64_t k, std::uint8_t* b, std::uint8_t* a) {
                                 const std::int64_t row = g.offset(box.lo[0], j, k);
                                 for (std::int64_t i = 0; i <= box.hi[0] - box.lo[0]; ++i) {
                                     a[i] = labels.labels()[std::size_t(row + i)];
                                     const auto it = before.find(row + i);
                                     b[i] = it == before.end() ? a[i] : it->second;
                                 }
                             });
}

void applyEdit(LabelMap& labels, const SegmentEdit& edit, bool forward) {
    const ImageGeometry& g = labels.geometry();
    const std::int64_t count = edit.size[0] * edit.size[1] * edit.size[2];
    for (int a = 0; a < 3; ++a)
        if (edit.begin[a] < 0 || edit.size[a] < 0 || edit.begin[a] + edit.size[a] > g.size[a])
            throw std::invalid_argument("The edit's box does not lie inside the label map's grid.");
    if (std::int64_t(edit.before.size()) != count || std::int64_t(edit.after.size()) != count)
        throw std::invalid_argument("The edit's labels do not match its box.");
    const auto& src = forward ? edit.after : edit.before;
    std::size_t v = 0;
    for (std::int64_t k = 0; k < edit.size[2]; ++k)
        for (std::int64_t j = 0; j < edit.size[1]; ++j, v += std::size_t(edit.size[0]))
            std::copy_n(
                src.data() + v, edit.size[0],
                labels.labels().data() + g.offset(edit.begin[0], edit.begin[1] + j, edit.begin[2] + k));
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

SegmentEdit regionEdit(const LabelMap& labels, const model::RegionMask& m, std::uint8_t segment,
                       const VoxelBox& segmentBox) {
    // Where the result can change anything: its positive box, and the segment's voxels inside its region.
    const VoxelBox region = VoxelBox::at(m.begin, m.size);
    VoxelBox scan = VoxelBox::at(
        {m.begin[0] + m.positiveBegin[0], m.begin[1] + m.positiveBegin[1], m.begin[2] + m.positiveBegin[2]},
        m.positiveSize);
    scan.unite(segmentBox.intersection(region));

    // One pass over the scan box computes the new labels (row pointers, no per-voxel index arithmetic) and
    // the box of voxels that change; the edit over that box then only copies.
    const Index3 sn = scan.size();
    std::vector<std::uint8_t> after(scan.voxels());
    const auto& g = labels.geometry();
    const std::uint8_t* lab = labels.labels().data();
    VoxelBox changed;
    std::size_t w = 0;
    for (std::int64_t k = scan.lo[2]; k <= scan.hi[2]; ++k)
        for (std::int64_t j = scan.lo[1]; j <= scan.hi[1]; ++j) {
            const std::uint8_t* row = lab + g.offset(scan.lo[0], j, k);
            const std::uint8_t* mrow =
                m.mask.data() +
                ((scan.lo[0] - m.begin[0]) + m.size[0] * ((j - m.begin[1]) + m.size[1] * (k - m.begin[2])));
            std::int64_t first = -1, last = -1;
            for (std::int64_t x = 0; x < sn[0]; ++x, ++w) {
                after[w] = labelAfterEdit(row[x], segment, mrow[x] != 0);
                if (after[w] == row[x]) continue;
                if (first < 0) first = x;
                last = x;
            }
            if (first >= 0) changed.unite(VoxelBox{{scan.lo[0] + first, j, k}, {scan.lo[0] + last, j, k}});
        }
    return SegmentEdit::over(
        changed, segment, [&](std::int64_t j, std::int64_t k, std::uint8_t* b, std::uint8_t* a) {
            const auto n = static_cast<std::size_t>(changed.hi[0] - changed.lo[0] + 1);
            std::copy_n(lab + g.offset(changed.lo[0], j, k), n, b);
            std::copy_n(after.data() + ((changed.lo[0] - scan.lo[0]) +
                                        sn[0] * ((j - scan.lo[1]) + sn[1] * (k - scan.lo[2]))),
                        n, a);
        });
}

SegmentEdit clearSegment(const LabelMap& labels, std::uint8_t segment, const VoxelBox& segmentBox) {
    const auto& g = labels.geometry();
    const VoxelBox box = segmentBox.intersection(VoxelBox::at({0, 0, 0}, g.size));
    return SegmentEdit::over(box, segment,
                             [&](std::int64_t j, std::int64_t k, std::uint8_t* b, std::uint8_t* a) {
                                 const std::uint8_t* row = labels.labels().data() + g.offset(box.lo[0], j, k);
                                 for (std::int64_t i = 0; i <= box.hi[0] - box.lo[0]; ++i) {
                                     b[i] = row[i];
                                     a[i] = labelAfterEdit(row[i], segment, false);
                                 }
                             });
}

}  // namespace engram
