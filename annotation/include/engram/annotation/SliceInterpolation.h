#pragma once
// "Fill between slices": a segment drawn on a few slices normal to one index axis is interpolated onto every
// slice between two drawn ones, as 3D Slicer's effect and ITK's MorphologicalContourInterpolator do (Zukic
// et al., Insight Journal 2016, after Albu et al. 2008). A slice is drawn when the segment has a voxel on
// it. Drawn slices, and the slices before the first and after the last drawn one, are never changed.
//
// Each pair of consecutive drawn slices is interpolated on its own. Their 2D connected components
// (8-connected) are matched by overlap: components linked through overlaps form one group, and the group's
// union on one slice is interpolated to its union on the other (one component splitting into two, or two
// merging, is one interpolation). A component that overlaps nothing is paired with the nearest such
// component of the other slice when the gap between them (centroid distance less the radii of discs of
// their areas) is at most the distance between the slices, i.e. when the surface joining them would lean
// at most 45 degrees from the axis. A component left without a partner ends half way: it is eroded evenly
// (its distance map raised) to nothing at the slice half way to the other drawn slice, as ITK's
// interpolator closes branch ends. Two matched shapes are aligned first (the paper's alignment step, by
// centroids): on the slice a fraction t of the way, both are moved to the point a fraction t along the line
// between their centroids, and their signed distance maps (exact Euclidean distances in mm, with the grid's
// in-plane spacing) are blended with weights 1 - t and t.
//
// Label policy: only background voxels become the segment; no other segment's voxel changes. The labels
// are not changed: the result carries the change as a SegmentEdit (SegmentOps.h; added counts the voxels
// that become the segment, removed is 0), for the caller to apply as one undoable edit with applyEdit().
// Errors (std::invalid_argument, with a message in plain words): axis not 0, 1 or 2; segment 0; a segment
// with no voxels; a segment drawn on fewer than two slices of the axis. Consecutive drawn slices with no
// slice between them are not an error: there is nothing to fill there.

#include <engram/annotation/LabelMap.h>
#include <engram/annotation/SegmentOps.h>

#include <cstdint>
#include <vector>

namespace engram {

struct SliceFill {
    int axis = 2;
    std::uint8_t segment = 0;
    std::vector<std::int64_t> drawnSlices;   // ascending: the slices that have voxels of the segment
    std::vector<std::int64_t> filledSlices;  // ascending: the slices that gain voxels
    // The change on the bounding box of the voxels it changes (empty, size {0, 0, 0}, when nothing
    // changes); write it with applyEdit(labels, fill.edit, forward).
    SegmentEdit edit;
};

// Fills `segment` between its drawn slices normal to index axis `axis` (0, 1 or 2) of the labels' grid.
SliceFill fillBetweenSlices(const LabelMap& labels, std::uint8_t segment, int axis);

}  // namespace engram
