#pragma once
// Plain value types shared by the model layer's geometry and its engine facade. No Torch here: the app
// layers include this through SegmentationEngine.h.

#include <array>
#include <cstdint>
#include <stdexcept>
#include <vector>

namespace engram::model {

using Point3 = std::array<double, 3>;

struct Grid {
    std::array<std::int64_t, 3> size{0, 0, 0};
    Point3 spacing{1, 1, 1};
    Point3 origin{0, 0, 0};
    std::array<double, 9> direction{1, 0, 0, 0, 1, 0, 0, 0, 1};  // row-major

    Point3 indexToWorld(const Point3& index) const;
    Point3 worldToIndex(const Point3& world) const;
};

struct CropOptions {
    double spacing = 1.5;  // mm, isotropic
    int size = 128;        // voxels per side
    bool clampCt = false;  // clamp to [ctMin, ctMax] before normalising (the reference's CT training setting)
    double ctMin = -1000, ctMax = 1000;
};

// A mask on a box of the source grid.
struct RegionMask {
    std::array<std::int64_t, 3> begin{0, 0, 0}, size{0, 0, 0};
    std::vector<std::uint8_t> mask;  // size[0]*size[1]*size[2], i fastest
    // The part of the box where the mask can be 1 (relative to `begin`); 0 everywhere else in the box.
    std::array<std::int64_t, 3> positiveBegin{0, 0, 0}, positiveSize{0, 0, 0};
    // Faces of the crop the prediction reaches (index axis * 2 + (0 low, 1 high)): the target may go on
    // there.
    std::array<bool, 6> touchedFaces{};
    bool touchesCropBorder() const;
    std::int64_t count() const;
    // The mask on the whole grid of `size` (i fastest): 1 inside the mask, 0 everywhere else.
    std::vector<std::uint8_t> toVolume(const std::array<std::int64_t, 3>& size) const;
};

enum class MemoryMode { None, Sparse, Dense, SparseDense };

// A weights file that cannot be used; the message names the file and, where it applies, the tensor.
class WeightsError : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

// A long model operation stopped because its caller asked it to.
class Cancelled : public std::runtime_error {
  public:
    Cancelled() : std::runtime_error("cancelled") {}
};

}  // namespace engram::model
