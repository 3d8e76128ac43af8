#pragma once
// How a slice view shows a volume: which index axis is the view's normal and which run along the screen's
// horizontal and vertical axes, and in which direction. Slices are voxel planes (as in ITK-SNAP), chosen as the
// planes closest to the anatomical ones, so every pixel of a view IS a voxel and a click maps to exactly the
// voxel under the cursor, for oblique data too. Screen conventions (radiological):
//   axial:    screen right = patient left (+X in LPS), screen up = anterior (-Y)
//   coronal:  screen right = patient left (+X),        screen up = superior (+Z)
//   sagittal: screen right = posterior (+Y),            screen up = superior (+Z)
// Pixel coordinates (u, v) start at the bottom-left pixel, u to the right, v up. No VTK here: tests and the
// tools use this type alone.

#include <engram/annotation/Geometry.h>

#include <array>
#include <string>

namespace engram::viewers {

enum class ViewKind { Axial, Coronal, Sagittal };

const char* viewName(ViewKind kind);  // "axial", "coronal", "sagittal"

struct SliceFrame {
    ViewKind kind = ViewKind::Axial;
    int normal = 2, horizontal = 0, vertical = 1;  // index axes
    bool flipH = false, flipV = false;             // true: the index decreases along the screen axis
    // Letters of the patient directions at the screen's left, right, bottom and top edges ("R", "L", ...).
    std::array<std::string, 4> edges;

    static SliceFrame forView(ViewKind kind, const ImageGeometry& geometry);

    // Pixels across and up, and their size in millimetres.
    std::int64_t width(const ImageGeometry& g) const { return g.size[horizontal]; }
    std::int64_t height(const ImageGeometry& g) const { return g.size[vertical]; }
    double pixelWidth(const ImageGeometry& g) const { return g.spacing[horizontal]; }
    double pixelHeight(const ImageGeometry& g) const { return g.spacing[vertical]; }

    // Continuous index of the point at continuous pixel (u, v) on slice `slice` (pixel centres at integers).
    Vec3 indexAt(const ImageGeometry& g, double u, double v, double slice) const;
    // Continuous pixel (u, v) and slice of a continuous index: the inverse of indexAt.
    std::array<double, 3> pixelOf(const ImageGeometry& g, const Vec3& index) const;
};

}  // namespace engram::viewers
