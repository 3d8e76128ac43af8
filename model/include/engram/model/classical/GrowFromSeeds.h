#pragma once
// Grow from seeds: the classical click tool, and the baseline every Engram model has to beat. A GrowCut-
// style competition of seeds, computed as shortest paths (as 3D Slicer's "Grow from seeds" does): positive
// clicks are seeds of the object; negative clicks, voxels of other segments and the faces of the region of
// interest that lie inside the volume are seeds of the background; every other voxel takes the label of the
// seed it reaches most cheaply, a path costing the intensity changes along it (of the image smoothed by
// `smoothingMm`, in units of the region's typical neighbour step) plus `lengthCost` per mm.
//
// The region is the positive clicks' box widened by `marginMm`, snapped outward to a lattice of half the
// margin so that it stays the same while clicks move inside it; it is block-averaged into a working grid of
// at most `maxWorkingVoxels`, and the labels come back to the source grid by trilinear resampling at one
// half. A SeedGrower keeps the last click's path costs: a later click on the same region with the same other
// segments only propagates its own seed (exact: adding a seed can only lower path costs). Any other change
// (undo, the region moving, other segments edited) recomputes from scratch. No Torch here.

#include <engram/model/Types.h>
#include <engram/model/inference/SegmentationEngine.h>
#include <engram/model/metrics/MaskMetrics.h>
#include <engram/model/metrics/SimulatedClicks.h>

#include <memory>
#include <vector>

namespace engram::model {

struct GrowFromSeedsOptions {
    double marginMm = 40;                       // the region reaches this far beyond the positive clicks
    std::int64_t maxWorkingVoxels = 2'000'000;  // working grid size (the region is block-averaged to fit)
    double smoothingMm = 1.0;                   // Gaussian sigma of the image the path costs come from
    double lengthCost = 0.03;                   // path cost per mm, in typical neighbour steps
};

struct GrowthResult {
    RegionMask mask;  // region = the region of interest, on the source grid
    Dims3 workingSize{0, 0, 0};
    Dims3 factor{1, 1, 1};   // source voxels per working voxel, per axis
    bool warmStart = false;  // only the new seeds were propagated
    double milliseconds = 0;
};

class SeedGrower {
  public:
    // `image` (dims product floats, i fastest) must stay valid while the grower is used. Throws
    // std::invalid_argument for an empty grid or a non-positive spacing.
    SeedGrower(const float* image, const Dims3& dims, const Spacing3& spacing,
               GrowFromSeedsOptions options = {});
    ~SeedGrower();
    SeedGrower(SeedGrower&&) noexcept;
    SeedGrower& operator=(SeedGrower&&) noexcept;

    // The object grown from all of a segment's clicks so far. `competitors` (optional, any box on the grid)
    // marks voxels of other segments: background seeds. No positive click: an empty mask. Throws
    // std::invalid_argument when a click lies outside the grid.
    GrowthResult grow(const std::vector<SimulatedClick>& clicks, const RegionMask* competitors = nullptr);
    void forget();  // drops the warm start

    const GrowFromSeedsOptions& options() const;

  private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

// One segment's grow-from-seeds clicks in world space, with the step semantics of SegmentationSession: each
// click is a step, goToStep() moves among them for undo and redo, a click after an undo drops the steps
// beyond. Only clicks are kept per step (a step's mask is the labels the caller recorded); growing after
// goToStep() recomputes from that step's clicks.
class SeedGrowingSession {
  public:
    // `image` on `grid` (grid.size product floats, i fastest) must stay valid while the session is used.
    SeedGrowingSession(const float* image, const Grid& grid, GrowFromSeedsOptions options = {});

    // Throws std::invalid_argument when the point lies outside the volume (the session is then unchanged).
    ClickOutcome addClick(const Point3& world, bool positive, const RegionMask* competitors = nullptr);
    int step() const { return step_; }
    int maxStep() const { return static_cast<int>(clicks_.size()); }
    void goToStep(int step);  // throws std::invalid_argument outside 0..maxStep()
    void reset();

  private:
    Grid grid_;
    SeedGrower grower_;
    std::vector<SimulatedClick> clicks_;  // every step's click; the first step_ are in effect
    int step_ = 0;
};

}  // namespace engram::model
