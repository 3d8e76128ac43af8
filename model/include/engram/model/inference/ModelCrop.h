#pragma once
// From a volume and a point in world coordinates to the network's input crop, and from the network's
// output back to the volume's grid, as the SAM-Med3D reference prepares its data: resampled to 1.5 mm
// (configurable), reoriented to RAS (crop axis 0 points Right, 1 Anterior, 2 Superior; tensor dims 2,3,4
// follow crop axes 0,1,2), 128^3 voxels around the point with zero padding outside the volume, then
// z-normalised with the mean and standard deviation of the voxels > 0 (CT clamping to [-1000, 1000]
// optional).
//
// World coordinates are LPS millimetres with the ImageGeometry convention (annotation/Geometry.h):
// world = origin + direction * diag(spacing) * index, direction row-major, column j = axis j.
// No Torch types in the geometry; tensors only where the network is fed or read.

#include <engram/model/Types.h>

#include <torch/types.h>

#include <array>
#include <cstdint>
#include <vector>

namespace engram::model {

class ModelCrop {
  public:
    // The crop centred on `centreWorld`: crop voxel (size/2, size/2, size/2) is at that point.
    ModelCrop(const Point3& centreWorld, const CropOptions& options = {});

    const Grid& grid() const { return grid_; }
    const CropOptions& options() const { return options_; }

    // Continuous crop index of a world point (tensor dims 2,3,4), and back.
    Point3 worldToCrop(const Point3& world) const { return grid_.worldToIndex(world); }
    Point3 cropToWorld(const Point3& index) const { return grid_.indexToWorld(index); }
    bool containsWorld(const Point3& world) const;

    // Trilinear resampling of `voxels` (on `source`) into the crop, zero outside: [1,1,S,S,S] float32.
    torch::Tensor resample(const Grid& source, const float* voxels) const;
    // resample + optional CT clamp + z-normalisation over voxels > 0: the network's input.
    torch::Tensor networkInput(const Grid& source, const float* voxels) const;

    // Low-resolution logits [1,1,L,L,L] -> upsampled trilinearly (align_corners false) to the crop ->
    // thresholded at logit > 0 on the source voxels the crop covers.
    RegionMask pasteBack(const torch::Tensor& lowResLogits, const Grid& source) const;
    // The same from full-resolution crop logits [S,S,S] (any float tensor on the CPU).
    RegionMask pasteBackFull(const torch::Tensor& cropLogits, const Grid& source) const;

  private:
    // Paste from crop logits known on the sub-box [offset, offset + size) of the crop (negative elsewhere).
    RegionMask pasteFrom(const torch::Tensor& subLogits, const std::array<std::int64_t, 3>& offset,
                         const Grid& source) const;

    Grid grid_;
    CropOptions options_;
};

}  // namespace engram::model
