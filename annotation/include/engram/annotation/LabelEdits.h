#pragma once
// Label edits without Qt: the one label policy every edit of a segment follows, the one change type every
// edit records (SegmentEdit: labels before and after on a box), and the edits themselves as functions. The
// brush and the threshold fill change a label map as the user draws and return what they changed; an AI
// result, a segment's deletion and the segment tools (SegmentOps.h) are computed from the labels as a
// SegmentEdit. LabelDocument.h applies an edit, EditHistory.h makes it one undoable interaction.
//
// The label policy (brush, eraser, fill, AI results, segment tools, segmentations opened from files): an
// edit of segment L turns background into L inside its region and L into background outside it; voxels of
// other segments never change.

#include <engram/annotation/LabelMap.h>
#include <engram/annotation/Volume.h>

#include <engram/model/Types.h>

#include <algorithm>
#include <cstdint>
#include <unordered_map>
#include <vector>

namespace engram {

constexpr std::uint8_t labelAfterEdit(std::uint8_t old, std::uint8_t segment, bool inRegion) {
    if (inRegion) return old == 0 ? segment : old;
    return old == segment ? std::uint8_t(0) : old;
}

// A box of voxel indices, both corners inclusive; empty when hi < lo on some axis.
struct VoxelBox {
    Index3 lo{0, 0, 0}, hi{-1, -1, -1};

    bool empty() const { return hi[0] < lo[0] || hi[1] < lo[1] || hi[2] < lo[2]; }
    Index3 size() const { return {hi[0] - lo[0] + 1, hi[1] - lo[1] + 1, hi[2] - lo[2] + 1}; }
    std::size_t voxels() const {
        if (empty()) return 0;
        const Index3 n = size();
        return static_cast<std::size_t>(n[0] * n[1] * n[2]);
    }
    bool contains(std::int64_t j, std::int64_t k) const {
        return j >= lo[1] && j <= hi[1] && k >= lo[2] && k <= hi[2];
    }
    void add(const Index3& p) { unite(VoxelBox{p, p}); }
    void unite(const VoxelBox& b) {
        if (b.empty()) return;
        const bool first = empty();
        for (int a = 0; a < 3; ++a) {
            lo[a] = first ? b.lo[a] : std::min(lo[a], b.lo[a]);
            hi[a] = first ? b.hi[a] : std::max(hi[a], b.hi[a]);
        }
    }
    VoxelBox intersection(const VoxelBox& b) const {
        VoxelBox c;
        for (int a = 0; a < 3; ++a) {
            c.lo[a] = std::max(lo[a], b.lo[a]);
            c.hi[a] = std::min(hi[a], b.hi[a]);
        }
        return c;
    }
    // The box of `begin` and `size` (a RegionMask's, a SegmentEdit's).
    static VoxelBox at(const Index3& begin, const Index3& size) {
        return {begin, {begin[0] + size[0] - 1, begin[1] + size[1] - 1, begin[2] + size[2] - 1}};
    }
};

// The voxels an edit of one segment changes: labels before and after on the bounding box of the changed
// voxels (i fastest, then j, then k). An empty edit (nothing to change) has size {0, 0, 0} and no labels.
struct SegmentEdit {
    Index3 begin{0, 0, 0}, size{0, 0, 0};
    std::vector<std::uint8_t> before, after;
    std::int64_t added = 0;    // background voxels that became the segment
    std::int64_t removed = 0;  // voxels of the segment that became background

    std::int64_t changed() const { return added + removed; }
    bool empty() const { return changed() == 0; }
    VoxelBox box() const { return VoxelBox::at(begin, size); }

    // The edit of `segment` over `box`: fillRow(j, k, before, after) writes the box's row (j, k), size[0]
    // labels before and after the edit; added and removed are counted from them.
    template <typename FillRow>
    static SegmentEdit over(const VoxelBox& box, std::uint8_t segment, FillRow fillRow) {
        SegmentEdit e;
        if (box.empty()) return e;
        e.begin = box.lo;
        e.size = box.size();
        e.before.resize(box.voxels());
        e.after.resize(box.voxels());
        const auto rowLength = static_cast<std::size_t>(e.size[0]);
        std::size_t at = 0;
        for (std::int64_t k = box.lo[2]; k <= box.hi[2]; ++k)
            for (std::int64_t j = box.lo[1]; j <= box.hi[1]; ++j, at += rowLength) {
                std::uint8_t* b = e.before.data() + at;
                std::uint8_t* a = e.after.data() + at;
                fillRow(j, k, b, a);
                for (std::size_t x = 0; x < rowLength; ++x) {
                    e.added += a[x] == segment && b[x] != segment;
                    e.removed += b[x] == segment && a[x] != segment;
                }
            }
        return e;
    }
};

// Writes edit.after (forward) or edit.before (undo) into its box. Throws std::invalid_argument when the box
// does not lie inside the labels' grid or the label buffers do not match the box.
void applyEdit(LabelMap& labels, const SegmentEdit& edit, bool forward = true);

// What a brush stroke or fill changed in a label map: voxel offset -> its label before, and their box.
struct VoxelChanges {
    std::unordered_map<std::int64_t, std::uint8_t> before;
    VoxelBox box;
    bool empty() const { return before.empty(); }
    // Records that voxel `p` at `offset` held `old` (the first value recorded for a voxel is kept).
    void add(std::int64_t offset, const Index3& p, std::uint8_t old);
    // Adds another edit's changes made after these (values already recorded here are kept).
    void merge(const VoxelChanges& later);
    // As an edit of `segment`: `labels` already hold the result.
    SegmentEdit asEdit(const LabelMap& labels, std::uint8_t segment) const;
};

// The brush: paints `segment` (or, with `erase`, clears it) in the voxels whose centres lie within
// `radiusMm` of `centre`'s, in the slice normal to `normalAxis` (a sphere for -1); at least the centre
// voxel. Changes `labels` and adds what changed to `changes`.
void paintBall(LabelMap& labels, const Index3& centre, double radiusMm, int normalAxis, std::uint8_t segment,
               bool erase, VoxelChanges& changes);

// The threshold fill: the region connected to `seed` (4-connected in the slice normal to `normalAxis`,
// 6-connected through the volume for -1) of voxels whose values lie in [low, high] and that are background
// or `segment` becomes `segment`. The seed must be such a voxel (the caller checks: seedFillable).
VoxelChanges thresholdFill(LabelMap& labels, const Volume& volume, const Index3& seed, float low, float high,
                           int normalAxis, std::uint8_t segment);
bool seedFillable(const LabelMap& labels, const Volume& volume, const Index3& seed, float low, float high,
                  std::uint8_t segment);

// An AI result (a click's or a propagation's) for `segment`: inside the mask's region, its voxels become the
// segment and the segment's other voxels background, under the label policy. `segmentBox` holds every voxel
// of the segment (LabelDocument::extentOf): only the mask's positive box and the segment inside the region
// are read.
SegmentEdit regionEdit(const LabelMap& labels, const model::RegionMask& mask, std::uint8_t segment,
                       const VoxelBox& segmentBox);

// Every voxel of `segment` (all inside `segmentBox`) back to background: the segment's deletion.
SegmentEdit clearSegment(const LabelMap& labels, std::uint8_t segment, const VoxelBox& segmentBox);

}  // namespace engram
