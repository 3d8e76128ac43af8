#pragma once
// The sampling grid of a volume in patient space. World coordinates are LPS millimetres, as DICOM and ITK
// use them: world = origin + direction * diag(spacing) * index, where column j of `direction` is the unit
// world direction of index axis j. Every voxel <-> world conversion in Engram goes through this type.

#include <engram/model/Types.h>

#include <array>
#include <cstdint>
#include <optional>
#include <string>

namespace engram {

using Vec3 = std::array<double, 3>;
using Index3 = std::array<std::int64_t, 3>;
using Mat3 = std::array<std::array<double, 3>, 3>;  // [row][column]

// The most voxels a volume Engram opens may have (2^30: a 512 x 512 x 4096 CT; 4 GiB as float). Every reader
// checks a claimed size against it (requireVoxelCount) before allocating, so a small file cannot ask for
// more memory than that.
constexpr std::int64_t kMaxVoxels = std::int64_t(1) << 30;
// Throws InputError ("<what> claims ... voxels") when a size has an axis below 1 or above 2^20, or more than
// kMaxVoxels voxels in all.
void requireVoxelCount(const std::array<std::int64_t, 3>& size, const std::string& what);

struct ImageGeometry;
// Throws InputError ("<what>: ...") unless the spacing is positive and finite, the origin finite and the
// direction orthonormal: what every reader requires of a grid before it is shown.
void requireUsableGeometry(const ImageGeometry& g, const std::string& what);

struct ImageGeometry {
    Index3 size{0, 0, 0};
    Vec3 spacing{1.0, 1.0, 1.0};
    Vec3 origin{0.0, 0.0, 0.0};
    Mat3 direction{{{1.0, 0.0, 0.0}, {0.0, 1.0, 0.0}, {0.0, 0.0, 1.0}}};

    std::int64_t voxelCount() const { return size[0] * size[1] * size[2]; }
    bool empty() const { return voxelCount() == 0; }
    // Linear offset of a voxel in the buffer (i fastest, then j, then k).
    std::int64_t offset(std::int64_t i, std::int64_t j, std::int64_t k) const {
        return i + size[0] * (j + size[1] * k);
    }
    bool contains(const Index3& idx) const {
        return idx[0] >= 0 && idx[1] >= 0 && idx[2] >= 0 && idx[0] < size[0] && idx[1] < size[1] &&
               idx[2] < size[2];
    }

    // Continuous index (voxel centres at integers) -> LPS world point, and back (model::Grid's maths; throws
    // std::invalid_argument for a singular direction, which no usable grid has).
    Vec3 indexToWorld(const Vec3& index) const;
    Vec3 worldToIndex(const Vec3& world) const;
    // Nearest voxel to a world point (may lie outside the grid: check with contains()).
    Index3 worldToNearestVoxel(const Vec3& world) const;

    // 4x4 voxel -> world matrix in RAS (the NIfTI/nibabel convention), row-major.
    std::array<double, 16> rasAffine() const;

    // Axis codes of the index axes in the RAS+ convention nibabel prints ("RAS", "LPS", "LIA", ...).
    std::string orientationCode() const;

    // True when the direction columns are unit length and mutually orthogonal within `tolerance`.
    bool hasOrthonormalDirection(double tolerance = 1e-4) const;

    // Same size, and spacing and origin equal within `tolerance` mm, direction entries within `tolerance`.
    // The default allows for NIfTI's float32 storage of the affine.
    bool sameGrid(const ImageGeometry& other, double tolerance = 1e-3) const;

    // One line for logs and `engram-cli info`: size, spacing, origin, orientation.
    std::string describe() const;
};

// The same grid as the model layer's type (the engine, crops and training take it).
model::Grid toModelGrid(const ImageGeometry& geometry);

// How a grid's voxels lie on another grid with the same voxel centres, stored in another axis order or
// direction (e.g. a NIfTI in LAS written by dcm2niix for an LPS DICOM series): index axis a of the target
// is index axis `axis[a]` of the source, counted backwards where `flip[a]`.
struct GridMapping {
    std::array<int, 3> axis{0, 1, 2};
    std::array<bool, 3> flip{false, false, false};
    bool identity() const;
    std::string describe() const;  // e.g. "j reversed", "i and j swapped, k reversed"
};

// The mapping from `from` to `to` when every voxel centre of one is a voxel centre of the other (within
// `toleranceVoxels` of a voxel); nullopt when the grids genuinely differ.
std::optional<GridMapping> sameLattice(const ImageGeometry& from, const ImageGeometry& to,
                                       double toleranceVoxels = 0.01);

}  // namespace engram
