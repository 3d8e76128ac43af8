#include <engram/annotation/SegmentOps.h>

#include <engram/annotation/LabelEdits.h>
#include <engram/model/metrics/MaskMetrics.h>

#include <algorithm>
#include <cmath>
#include <sstream>
#include <stdexcept>
#include <string>

namespace engram {
namespace {

// Squared distances (model::squaredDistanceToFeature: +infinity where there is no feature) are float, half
// the memory of a whole-volume box: a point at the radius is inside despite float rounding.
bool within(double distanceSquared, double radius) {
    return distanceSquared <= radius * radius * (1 + 1e-6) + 1e-9;
}

std::string number(double v) {
    std::ostringstream s;
    s << v;
    return s.str();
}

std::string where(const SegmentScope& scope) {
    if (scope.axis < 0) return "in the volume";
    return "on slice " + std::to_string(scope.slice) + " of axis " + std::to_string(scope.axis);
}

VoxelBox domainOf(const ImageGeometry& g, const SegmentScope& scope) {
    VoxelBox d{{0, 0, 0}, {g.size[0] - 1, g.size[1] - 1, g.size[2] - 1}};
    if (scope.axis == -1) return d;
    if (scope.axis < 0 || scope.axis > 2)
        throw std::invalid_argument("The slice axis must be 0, 1 or 2, not " + std::to_string(scope.axis) +
                                    ".");
    const std::int64_t n = g.size[scope.axis];
    if (scope.slice < 0 || scope.slice >= n)
        throw std::invalid_argument("Slice " + std::to_string(scope.slice) + " is outside the volume: axis " +
                                    std::to_string(scope.axis) + " has " + std::to_string(n) + " slices.");
    d.lo[scope.axis] = d.hi[scope.axis] = scope.slice;
    return d;
}

void checkLength(double mm, const char* what) {
    if (!std::isfinite(mm) || mm < 0)
        throw std::invalid_argument(std::string("The ") + what + " must be 0 mm or more, not " + number(mm) +
                                    " mm.");
}

// The bounding box of `label`'s voxels within `domain` (empty when it has none).
VoxelBox boundsOf(const LabelMap& labels, std::uint8_t label, const VoxelBox& domain) {
    VoxelBox b;
    if (domain.empty()) return b;
    const ImageGeometry& g = labels.geometry();
    for (std::int64_t k = domain.lo[2]; k <= domain.hi[2]; ++k)
        for (std::int64_t j = domain.lo[1]; j <= domain.hi[1]; ++j) {
            const std::uint8_t* row = labels.labels().data() + g.offset(0, j, k);
            const std::uint8_t* first = std::find(row + domain.lo[0], row + domain.hi[0] + 1, label);
            if (first == row + domain.hi[0] + 1) continue;
            std::int64_t last = domain.hi[0];
            while (row[last] != label) --last;
            b.add({first - row, j, k});
            b.add({last, j, k});
        }
    return b;
}

// The segment's box in the scope; throws when the label is 0 or has no voxels there.
VoxelBox segmentBox(const LabelMap& labels, std::uint8_t label, const VoxelBox& domain,
                    const SegmentScope& scope) {
    if (label == 0) throw std::invalid_argument("Label 0 is the background, not a segment.");
    const VoxelBox b = boundsOf(labels, label, domain);
    if (b.empty())
        throw std::invalid_argument("Segment " + std::to_string(label) + " has no voxels " + where(scope) +
                                    ".");
    return b;
}

VoxelBox grown(const VoxelBox& b, const Index3& by, const VoxelBox& domain) {
    VoxelBox r;
    for (int a = 0; a < 3; ++a) {
        r.lo[a] = std::max(b.lo[a] - by[a], domain.lo[a]);
        r.hi[a] = std::min(b.hi[a] + by[a], domain.hi[a]);
    }
    return r;
}

// Voxels a radius reaches along each axis, at most the domain's extent.
Index3 reach(const Vec3& spacing, double radiusMm, const VoxelBox& domain) {
    Index3 r{0, 0, 0};
    const Index3 n = domain.size();
    for (int a = 0; a < 3; ++a) {
        const double v = std::floor(std::sqrt(radiusMm * radiusMm * (1 + 1e-6) + 1e-9) / spacing[a]);
        r[a] = static_cast<std::int64_t>(std::min(v, static_cast<double>(n[a])));
    }
    return r;
}

// A box's own voxel grid: values per voxel, i fastest.
struct Grid {
    VoxelBox box;
    Index3 n;
    explicit Grid(const VoxelBox& b) : box(b), n(b.size()) {}
    std::size_t size() const { return box.voxels(); }
};

// 1 where the labels are `label`, 0 elsewhere.
std::vector<std::uint8_t> maskOf(const LabelMap& labels, std::uint8_t label, const Grid& grid) {
    std::vector<std::uint8_t> m(grid.size());
    std::size_t at = 0;
    for (std::int64_t k = grid.box.lo[2]; k <= grid.box.hi[2]; ++k)
        for (std::int64_t j = grid.box.lo[1]; j <= grid.box.hi[1]; ++j) {
            const std::uint8_t* row = labels.labels().data() + labels.geometry().offset(grid.box.lo[0], j, k);
            for (std::int64_t i = 0; i < grid.n[0]; ++i) m[at++] = row[i] == label;
        }
    return m;
}

// The edit that makes the segment `result` (nonzero: the segment) over the grid's box, under the label
// policy: background -> label where set, label -> background where not, other segments unchanged.
SegmentEdit editTo(const LabelMap& labels, std::uint8_t label, const Grid& grid,
                   const std::vector<std::uint8_t>& result) {
    const ImageGeometry& g = labels.geometry();
    SegmentEdit e;
    VoxelBox changed;
    std::size_t at = 0;
    for (std::int64_t k = grid.box.lo[2]; k <= grid.box.hi[2]; ++k)
        for (std::int64_t j = grid.box.lo[1]; j <= grid.box.hi[1]; ++j) {
            const std::uint8_t* row = labels.labels().data() + g.offset(0, j, k);
            for (std::int64_t i = grid.box.lo[0]; i <= grid.box.hi[0]; ++i, ++at) {
                const std::uint8_t now = labelAfterEdit(row[i], label, result[at] != 0);
                if (now == row[i]) continue;
                ++(now == label ? e.added : e.removed);
                changed.add({i, j, k});
            }
        }
    if (changed.empty()) return e;
    e.begin = changed.lo;
    e.size = changed.size();
    e.before.resize(changed.voxels());
    e.after.resize(changed.voxels());
    std::size_t v = 0;
    for (std::int64_t k = changed.lo[2]; k <= changed.hi[2]; ++k)
        for (std::int64_t j = changed.lo[1]; j <= changed.hi[1]; ++j) {
            const std::uint8_t* row = labels.labels().data() + g.offset(0, j, k);
            const std::size_t local = static_cast<std::size_t>(
                (changed.lo[0] - grid.box.lo[0]) +
                grid.n[0] * ((j - grid.box.lo[1]) + grid.n[1] * (k - grid.box.lo[2])));
            for (std::int64_t i = changed.lo[0]; i <= changed.hi[0]; ++i, ++v) {
                e.before[v] = row[i];
                e.after[v] =
                    labelAfterEdit(row[i], label, result[local + std::size_t(i - changed.lo[0])] != 0);
            }
        }
    return e;
}

// Sets the 6-connected region of voxels equal to `from` around `seed` to `to` (from != to), calling
// visit(i, j, k) with local coordinates for each; returns its voxel count. A box one voxel thick along an
// axis makes this the 4-connected region of a slice.
template <typename Visit>
std::int64_t flood(std::vector<std::uint8_t>& m, const Grid& grid, std::int64_t seed, std::uint8_t from,
                   std::uint8_t to, std::vector<std::int64_t>& stack, Visit visit) {
    const Index3& n = grid.n;
    const std::int64_t s1 = n[0], s2 = n[0] * n[1];
    std::int64_t count = 0;
    stack.clear();
    m[std::size_t(seed)] = to;
    stack.push_back(seed);
    while (!stack.empty()) {
        const std::int64_t o = stack.back();
        stack.pop_back();
        ++count;
        const std::int64_t i = o % n[0], j = (o / s1) % n[1], k = o / s2;
        visit(i, j, k);
        auto admit = [&](std::int64_t q) {
            if (m[std::size_t(q)] != from) return;
            m[std::size_t(q)] = to;
            stack.push_back(q);
        };
        if (i > 0) admit(o - 1);
        if (i < n[0] - 1) admit(o + 1);
        if (j > 0) admit(o - s1);
        if (j < n[1] - 1) admit(o + s1);
        if (k > 0) admit(o - s2);
        if (k < n[2] - 1) admit(o + s2);
    }
    return count;
}

// Voxels within `radius` mm of a set voxel of `mask`.
std::vector<std::uint8_t> dilated(const std::vector<std::uint8_t>& mask, const Grid& grid,
                                  const Vec3& spacing, double radius) {
    const std::vector<float> f = model::squaredDistanceToFeature(mask.data(), grid.n, spacing);
    std::vector<std::uint8_t> out(mask.size());
    for (std::size_t x = 0; x < mask.size(); ++x) out[x] = within(f[x], radius);
    return out;
}

// Set voxels of `mask` farther than `radius` mm from every unset voxel of the grid.
std::vector<std::uint8_t> eroded(const std::vector<std::uint8_t>& mask, const Grid& grid, const Vec3& spacing,
                                 double radius) {
    std::vector<std::uint8_t> outside(mask.size());
    for (std::size_t x = 0; x < mask.size(); ++x) outside[x] = !mask[x];
    const std::vector<float> f = model::squaredDistanceToFeature(outside.data(), grid.n, spacing);
    std::vector<std::uint8_t> out(mask.size());
    for (std::size_t x = 0; x < mask.size(); ++x) out[x] = mask[x] && !within(f[x], radius);
    return out;
}

// Majority of the segment over the ellipsoid of `radius` around each voxel of the grid, counting only voxels
// of `domain`. The mask is 0 outside the grid (the grid holds the segment's box). Sums run over the
// element's rows along i with prefix sums.
std::vector<std::uint8_t> median(const std::vector<std::uint8_t>& mask, const Grid& grid,
                                 const VoxelBox& domain, const Vec3& spacing, double radius) {
    struct Row {
        std::int64_t dj, dk, w;
    };
    const Index3 r = reach(spacing, radius, domain);
    std::vector<Row> rows;
    for (std::int64_t dk = -r[2]; dk <= r[2]; ++dk)
        for (std::int64_t dj = -r[1]; dj <= r[1]; ++dj) {
            const double yz = std::pow(double(dj) * spacing[1], 2) + std::pow(double(dk) * spacing[2], 2);
            if (!within(yz, radius)) continue;
            std::int64_t w = 0;
            while (w < r[0] && within(yz + std::pow(double(w + 1) * spacing[0], 2), radius)) ++w;
            rows.push_back({dj, dk, w});
        }
    const Index3& n = grid.n;
    const VoxelBox& b = grid.box;
    std::vector<std::int32_t> prefix(std::size_t(n[1] * n[2] * (n[0] + 1)));
    for (std::int64_t row = 0; row < n[1] * n[2]; ++row) {
        std::int32_t* p = prefix.data() + row * (n[0] + 1);
        const std::uint8_t* m = mask.data() + row * n[0];
        for (std::int64_t i = 0; i < n[0]; ++i) p[i + 1] = p[i] + m[i];
    }
    std::vector<std::uint8_t> out(mask.size());
    std::size_t at = 0;
    for (std::int64_t k = b.lo[2]; k <= b.hi[2]; ++k)
        for (std::int64_t j = b.lo[1]; j <= b.hi[1]; ++j)
            for (std::int64_t i = b.lo[0]; i <= b.hi[0]; ++i, ++at) {
                std::int64_t count = 0, total = 0;
                for (const Row& e : rows) {
                    const std::int64_t jj = j + e.dj, kk = k + e.dk;
                    if (!domain.contains(jj, kk)) continue;
                    total += std::min(i + e.w, domain.hi[0]) - std::max(i - e.w, domain.lo[0]) + 1;
                    if (!b.contains(jj, kk)) continue;
                    const std::int64_t i0 = std::max(i - e.w, b.lo[0]), i1 = std::min(i + e.w, b.hi[0]);
                    if (i0 > i1) continue;
                    const std::int32_t* p =
                        prefix.data() + ((jj - b.lo[1]) + n[1] * (kk - b.lo[2])) * (n[0] + 1);
                    count += p[i1 - b.lo[0] + 1] - p[i0 - b.lo[0]];
                }
                out[at] = 2 * count > total;
            }
    return out;
}

// Keeps the segment's islands that keep(sizes) flags, sizes in voxels in the order of the islands' first
// voxels in memory; the others become background.
template <typename Keep>
SegmentEdit keepIslands(const LabelMap& labels, std::uint8_t label, const SegmentScope& scope, Keep keep) {
    const VoxelBox domain = domainOf(labels.geometry(), scope);
    const Grid grid(segmentBox(labels, label, domain, scope));
    std::vector<std::uint8_t> m = maskOf(labels, label, grid);  // 1: the segment, 2: its islands seen
    std::vector<std::int64_t> stack, seeds, sizes;
    for (std::size_t x = 0; x < m.size(); ++x)
        if (m[x] == 1) {
            seeds.push_back(std::int64_t(x));
            sizes.push_back(flood(m, grid, std::int64_t(x), 1, 2, stack, [](auto, auto, auto) {}));
        }
    const std::vector<bool> kept = keep(sizes);
    for (std::size_t c = 0; c < seeds.size(); ++c)  // the removed islands are usually the small ones
        if (!kept[c]) flood(m, grid, seeds[c], 2, 0, stack, [](auto, auto, auto) {});
    return editTo(labels, label, grid, m);
}

}  // namespace

SegmentEdit keepLargestIsland(const LabelMap& labels, std::uint8_t label, const SegmentScope& scope) {
    return keepIslands(labels, label, scope, [](const std::vector<std::int64_t>& sizes) {
        std::vector<bool> keep(sizes.size(), false);
        keep[std::size_t(std::max_element(sizes.begin(), sizes.end()) - sizes.begin())] = true;
        return keep;
    });
}

SegmentEdit removeSmallIslands(const LabelMap& labels, std::uint8_t label, double minimumMl,
                               const SegmentScope& scope) {
    if (!std::isfinite(minimumMl) || minimumMl < 0)
        throw std::invalid_argument("The minimum island size must be 0 mL or more, not " + number(minimumMl) +
                                    " mL.");
    const Vec3& s = labels.geometry().spacing;
    const double voxelMl = s[0] * s[1] * s[2] / 1000.0;
    const double minimumVoxels = std::ceil(minimumMl / voxelMl - 1e-9);
    return keepIslands(labels, label, scope, [minimumVoxels](const std::vector<std::int64_t>& sizes) {
        std::vector<bool> keep(sizes.size());
        for (std::size_t c = 0; c < sizes.size(); ++c) keep[c] = double(sizes[c]) >= minimumVoxels;
        return keep;
    });
}

SegmentEdit fillHoles(const LabelMap& labels, std::uint8_t label, const SegmentScope& scope) {
    const VoxelBox domain = domainOf(labels.geometry(), scope);
    const Grid grid(segmentBox(labels, label, domain, scope));
    std::vector<std::uint8_t> m = maskOf(labels, label, grid);
    // A region is open when it reaches the box's side along an axis the scope extends along: beyond that
    // side lies the scope's border or voxels outside the segment's box, which are all not the segment.
    const Index3 span = domain.size();
    std::vector<std::int64_t> stack, holes;
    for (std::size_t x = 0; x < m.size(); ++x) {
        if (m[x] != 0) continue;
        bool open = false;
        flood(m, grid, std::int64_t(x), 0, 2, stack, [&](std::int64_t i, std::int64_t j, std::int64_t k) {
            const Index3 p{i, j, k};
            for (int a = 0; a < 3; ++a)
                if (span[a] > 1 && (p[a] == 0 || p[a] == grid.n[a] - 1)) open = true;
        });
        if (!open) holes.push_back(std::int64_t(x));
    }
    for (std::int64_t seed : holes) flood(m, grid, seed, 2, 1, stack, [](auto, auto, auto) {});
    for (auto& v : m) v = v == 1;
    return editTo(labels, label, grid, m);
}

SegmentEdit smoothSegment(const LabelMap& labels, std::uint8_t label, Smoothing method, double radiusMm,
                          const SegmentScope& scope) {
    checkLength(radiusMm, "smoothing radius");
    const ImageGeometry& g = labels.geometry();
    const VoxelBox domain = domainOf(g, scope);
    const VoxelBox box = segmentBox(labels, label, domain, scope);
    Index3 by = reach(g.spacing, radiusMm, domain);
    if (method != Smoothing::Median)
        for (auto& v : by) ++v;  // an erosion needs the voxels just outside what it erodes
    const Grid grid(grown(box, by, domain));
    const std::vector<std::uint8_t> m = maskOf(labels, label, grid);
    switch (method) {
        case Smoothing::Median:
            return editTo(labels, label, grid, median(m, grid, domain, g.spacing, radiusMm));
        case Smoothing::Opening:
            return editTo(labels, label, grid,
                          dilated(eroded(m, grid, g.spacing, radiusMm), grid, g.spacing, radiusMm));
        case Smoothing::Closing:
            return editTo(labels, label, grid,
                          eroded(dilated(m, grid, g.spacing, radiusMm), grid, g.spacing, radiusMm));
    }
    throw std::invalid_argument("Unknown smoothing method.");
}

SegmentEdit growSegment(const LabelMap& labels, std::uint8_t label, double marginMm,
                        const SegmentScope& scope) {
    checkLength(marginMm, "margin");
    const ImageGeometry& g = labels.geometry();
    const VoxelBox domain = domainOf(g, scope);
    const VoxelBox box = segmentBox(labels, label, domain, scope);
    const Grid grid(grown(box, reach(g.spacing, marginMm, domain), domain));
    return editTo(labels, label, grid, dilated(maskOf(labels, label, grid), grid, g.spacing, marginMm));
}

SegmentEdit shrinkSegment(const LabelMap& labels, std::uint8_t label, double marginMm,
                          const SegmentScope& scope) {
    checkLength(marginMm, "margin");
    const ImageGeometry& g = labels.geometry();
    const VoxelBox domain = domainOf(g, scope);
    const VoxelBox box = segmentBox(labels, label, domain, scope);
    const Grid grid(grown(box, {1, 1, 1}, domain));
    return editTo(labels, label, grid, eroded(maskOf(labels, label, grid), grid, g.spacing, marginMm));
}

SegmentEdit combineSegments(const LabelMap& labels, std::uint8_t label, LogicalOperation operation,
                            const LabelMap& other, std::uint8_t otherLabel, const SegmentScope& scope) {
    if (!other.geometry().sameGrid(labels.geometry()))
        throw std::invalid_argument("The other segmentation is on another grid (" +
                                    other.geometry().describe() + ") than the labels (" +
                                    labels.geometry().describe() + ").");
    if (&other == &labels && otherLabel == label)
        throw std::invalid_argument("Segment " + std::to_string(label) +
                                    " cannot be combined with itself: choose another segment.");
    const VoxelBox domain = domainOf(labels.geometry(), scope);
    const VoxelBox otherBox = segmentBox(other, otherLabel, domain, scope);
    // A union may start from an empty segment (taking a structure over from the other map).
    VoxelBox box =
        operation == LogicalOperation::Union && label != 0 && boundsOf(labels, label, domain).empty()
            ? otherBox
            : segmentBox(labels, label, domain, scope);
    if (operation == LogicalOperation::Union) {
        box.add(otherBox.lo);
        box.add(otherBox.hi);
    }
    const Grid grid(box);
    std::vector<std::uint8_t> m = maskOf(labels, label, grid);
    const std::vector<std::uint8_t> o = maskOf(other, otherLabel, grid);
    for (std::size_t x = 0; x < m.size(); ++x)
        m[x] = operation == LogicalOperation::Union       ? m[x] | o[x]
               : operation == LogicalOperation::Intersect ? m[x] & o[x]
                                                          : m[x] & !o[x];
    return editTo(labels, label, grid, m);
}

}  // namespace engram
