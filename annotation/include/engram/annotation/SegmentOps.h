#pragma once
// Operations on one segment (a label value L of a LabelMap), as radiologists know them from 3D Slicer's
// Islands, Smoothing, Margin and Logical operators effects. Each one reads the labels and returns the change
// it makes as a SegmentEdit; it changes nothing itself, so it can run on a pool thread over a copy of the
// labels, and its edit becomes one undoable command (applyEdit() writes it, forward or back).
//
// Scope: the whole volume (3D, 6-connected) or one slice normal to an index axis (2D, 4-connected in the
// slice). A slice operation neither reads nor changes voxels of other slices. Only voxels inside the scope
// count: the volume's border (a slice's edge) does not erode a segment, and a background region touching it
// is not a hole.
//
// Distances are millimetres between voxel centres, per axis with the grid's spacing: a radius r covers the
// offsets d with sum over axes of (d[a] * spacing[a])^2 <= r^2, an ellipsoid in voxels (an ellipse on a
// slice). Margins use an exact Euclidean distance transform, so growing by r adds every background voxel
// within r of the segment, and shrinking by r removes every segment voxel within r of a voxel that is not
// the segment (background or another segment).
//
// Label policy, as for every Engram edit: an operation only turns background voxels into L and voxels of L
// into background. Voxels of other segments never change, even where a grow, a closing, a hole or a union
// reaches them; they count as "not L" (they can be holes' contents, and a shrink erodes L next to them).
//
// Cost: work is confined to the segment's bounding box in the scope, plus the radius where one is given;
// finding that box reads the scope once. The median's cost grows with the radius squared (in voxels), the
// other operations' does not.
//
// Errors: std::invalid_argument, in plain words, and nothing is computed, when: a label is 0; the segment
// (and for a logical operation the other segment) has no voxels in the scope; the scope's axis is not 0, 1
// or 2 (or -1 for the volume) or its slice is outside the volume; a radius, margin or minimum size is
// negative or not a finite number; the other label map is on another grid; the other segment is the
// segment itself (the same LabelMap object and the same label).

#include <engram/annotation/Geometry.h>
#include <engram/annotation/LabelEdits.h>
#include <engram/annotation/LabelMap.h>

#include <cstdint>
#include <vector>

namespace engram {

struct SegmentScope {
    int axis = -1;  // -1: the whole volume; 0, 1, 2: the slice normal to that index axis (2: axial)
    std::int64_t slice = 0;

    static SegmentScope volume() { return {}; }
    static SegmentScope sliceOf(int axis, std::int64_t slice) { return {axis, slice}; }
};

// Islands: connected components of the segment in the scope.
// Keeps the largest component (the first in memory order among equals); the others become background.
SegmentEdit keepLargestIsland(const LabelMap& labels, std::uint8_t label, const SegmentScope& scope = {});
// Removes components whose volume (voxels * voxel volume) is less than `minimumMl`.
SegmentEdit removeSmallIslands(const LabelMap& labels, std::uint8_t label, double minimumMl,
                               const SegmentScope& scope = {});
// Fills the holes: connected regions of voxels that are not the segment, enclosed by it in the scope. Their
// background voxels become the segment.
SegmentEdit fillHoles(const LabelMap& labels, std::uint8_t label, const SegmentScope& scope = {});

enum class Smoothing {
    Median,   // a voxel is the segment when more than half of the element's voxels in the scope are
    Opening,  // removes parts thinner than the element (shrink, then grow)
    Closing,  // fills gaps and notches narrower than the element (grow, then shrink)
};
// Smoothing with the ellipsoid of `radiusMm` as structuring element (radius 0: no change).
SegmentEdit smoothSegment(const LabelMap& labels, std::uint8_t label, Smoothing method, double radiusMm,
                          const SegmentScope& scope = {});

// Margins.
SegmentEdit growSegment(const LabelMap& labels, std::uint8_t label, double marginMm,
                        const SegmentScope& scope = {});
SegmentEdit shrinkSegment(const LabelMap& labels, std::uint8_t label, double marginMm,
                          const SegmentScope& scope = {});

enum class LogicalOperation {
    Union,      // the segment gains the other segment's voxels that are background
    Intersect,  // the segment keeps only its voxels that are also the other segment's
    Subtract,   // the segment loses its voxels that are also the other segment's
};
// Combines the segment with segment `otherLabel` of `other`, a label map on the same grid: another layer,
// an imported file, or a copy of the labels from before an edit. (With `other` being `labels` itself,
// segments never overlap: a union or subtraction changes nothing and an intersection clears the segment.)
SegmentEdit combineSegments(const LabelMap& labels, std::uint8_t label, LogicalOperation operation,
                            const LabelMap& other, std::uint8_t otherLabel, const SegmentScope& scope = {});

}  // namespace engram
