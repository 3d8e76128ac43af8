#pragma once
// Label edits without Qt: the one label policy every edit of a segment follows, and the brush and the
// threshold fill as functions that change a label map and return what they changed (each voxel's earlier
// value), which the controller turns into one undoable command.
//
// The label policy (brush, eraser, fill, AI results, segment tools, segmentations opened from files): an
// edit of segment L turns background into L inside its region and L into background outside it; voxels of
// other segments never change.

#include <engram/annotation/LabelMap.h>
#include <engram/annotation/Volume.h>

#include <cstdint>
#include <unordered_map>

namespace engram {

constexpr std::uint8_t labelAfterEdit(std::uint8_t old, std::uint8_t segment, bool inRegion) {
    if (inRegion) return old == 0 ? segment : old;
    return old == segment ? std::uint8_t(0) : old;
}

// What an edit changed: voxel offset -> its label before, and the box of those voxels.
struct VoxelChanges {
    std::unordered_map<std::int64_t, std::uint8_t> before;
    Index3 lo{0, 0, 0}, hi{-1, -1, -1};  // inclusive; hi < lo when nothing changed
    bool empty() const { return before.empty(); }
    // Records that voxel `p` at `offset` held `old` (the first value recorded for a voxel is kept).
    void add(std::int64_t offset, const Index3& p, std::uint8_t old);
    // Adds another edit's changes made after these (values already recorded here are kept).
    void merge(const VoxelChanges& later);
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

}  // namespace engram
