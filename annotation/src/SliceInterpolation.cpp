#include <engram/annotation/SliceInterpolation.h>
#include <engram/model/metrics/MaskMetrics.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>
#include <numeric>
#include <stdexcept>
#include <string>
#include <tuple>

namespace engram {
namespace {

constexpr double kInfinity = std::numeric_limits<double>::infinity();
constexpr float kFar = 1e7f;  // mm, for "no such pixel in the window"
constexpr double kPi = 3.14159265358979323846;

// The slices normal to `axis`: pixel (p, q) of slice s is voxel index s on `axis`, p on u and q on v, the
// other two axes in increasing order.
struct SliceAxes {
    int axis = 2, u = 0, v = 1;
    std::int64_t nu = 0, nv = 0;
    double su = 1, sv = 1, sn = 1;
    std::int64_t stride[3] = {0, 0, 0};

    SliceAxes(const ImageGeometry& g, int a) : axis(a), u(a == 0 ? 1 : 0), v(a == 2 ? 1 : 2) {
        nu = g.size[u];
        nv = g.size[v];
        su = g.spacing[u];
        sv = g.spacing[v];
        sn = g.spacing[a];
        stride[0] = 1;
        stride[1] = g.size[0];
        stride[2] = g.size[0] * g.size[1];
    }
    std::int64_t offset(std::int64_t s, std::int64_t p, std::int64_t q) const {
        return s * stride[axis] + p * stride[u] + q * stride[v];
    }
};

// A rectangle of a slice: p in [p0, p1), q in [q0, q1).
struct Rect {
    std::int64_t p0 = 0, q0 = 0, p1 = 0, q1 = 0;
    std::int64_t width() const { return p1 - p0; }
    std::int64_t height() const { return q1 - q0; }
    bool contains(std::int64_t p, std::int64_t q) const { return p >= p0 && p < p1 && q >= q0 && q < q1; }
};

struct Component {
    std::int64_t count = 0;
    double sumP = 0, sumQ = 0;
    std::int64_t p0 = std::numeric_limits<std::int64_t>::max(), q0 = p0, p1 = -1, q1 = -1;  // inclusive
};

// The 8-connected components of the segment on one slice, over the working rectangle.
struct SliceComponents {
    Rect rect;
    std::vector<std::int32_t> id;  // 0 outside the segment, c + 1 in component c
    std::vector<Component> parts;

    std::int32_t at(std::int64_t p, std::int64_t q) const {
        return rect.contains(p, q) ? id[static_cast<std::size_t>((q - rect.q0) * rect.width() + p - rect.p0)]
                                   : 0;
    }
};

SliceComponents findComponents(const LabelMap& labels, const SliceAxes& s, std::int64_t slice,
                               std::uint8_t segment, const Rect& rect) {
    SliceComponents c;
    c.rect = rect;
    const std::int64_t w = rect.width(), h = rect.height();
    c.id.assign(static_cast<std::size_t>(w * h), 0);
    std::vector<std::uint8_t> in(c.id.size());
    const std::uint8_t* voxels = labels.labels().data();
    for (std::int64_t y = 0; y < h; ++y)
        for (std::int64_t x = 0; x < w; ++x)
            in[static_cast<std::size_t>(y * w + x)] =
                voxels[s.offset(slice, rect.p0 + x, rect.q0 + y)] == segment;
    std::vector<std::int64_t> stack;
    for (std::int64_t start = 0; start < w * h; ++start) {
        if (!in[static_cast<std::size_t>(start)] || c.id[static_cast<std::size_t>(start)]) continue;
        const auto label = static_cast<std::int32_t>(c.parts.size() + 1);
        Component part;
        c.id[static_cast<std::size_t>(start)] = label;
        stack.assign(1, start);
        while (!stack.empty()) {
            const std::int64_t at = stack.back();
            stack.pop_back();
            const std::int64_t x = at % w, y = at / w;
            ++part.count;
            part.sumP += double(rect.p0 + x);
            part.sumQ += double(rect.q0 + y);
            part.p0 = std::min(part.p0, rect.p0 + x);
            part.p1 = std::max(part.p1, rect.p0 + x);
            part.q0 = std::min(part.q0, rect.q0 + y);
            part.q1 = std::max(part.q1, rect.q0 + y);
            for (std::int64_t dy = -1; dy <= 1; ++dy)
                for (std::int64_t dx = -1; dx <= 1; ++dx) {
                    const std::int64_t nx = x + dx, ny = y + dy;
                    if (nx < 0 || ny < 0 || nx >= w || ny >= h) continue;
                    const auto n = static_cast<std::size_t>(ny * w + nx);
                    if (!in[n] || c.id[n]) continue;
                    c.id[n] = label;
                    stack.push_back(ny * w + nx);
                }
        }
        c.parts.push_back(part);
    }
    return c;
}

// Exact squared Euclidean distance in mm^2 from each pixel of a w x h image to the nearest pixel whose mask
// value is `feature` (infinity when there is none).
std::vector<double> squaredDistance(const std::vector<std::uint8_t>& mask, std::uint8_t feature,
                                    std::int64_t w, std::int64_t h, double su, double sv) {
    std::vector<std::uint8_t> isFeature(mask.size());
    for (std::size_t n = 0; n < mask.size(); ++n) isFeature[n] = mask[n] == feature;
    const std::vector<float> d = model::squaredDistanceToFeature(isFeature.data(), {w, h, 1}, {su, sv, 1});
    return std::vector<double>(d.begin(), d.end());
}

// Negative inside the shape (minus the distance to the nearest pixel outside it), positive outside (the
// distance to the nearest shape pixel), in mm.
std::vector<float> signedDistance(const std::vector<std::uint8_t>& shape, std::int64_t w, std::int64_t h,
                                  double su, double sv) {
    const auto toShape = squaredDistance(shape, 1, w, h, su, sv);
    const auto toOutside = squaredDistance(shape, 0, w, h, su, sv);
    std::vector<float> phi(shape.size());
    for (std::size_t n = 0; n < shape.size(); ++n)
        phi[n] = shape[n] ? -std::min(float(std::sqrt(toOutside[n])), kFar)
                          : std::min(float(std::sqrt(toShape[n])), kFar);
    return phi;
}

// One interpolation between two drawn slices a and b: two shapes' distance maps on a common window, or one
// shape, drawn on a or on b, that ends half way.
struct Blend {
    enum class Kind { Pair, EndsAfterA, EndsBeforeB };
    Kind kind = Kind::Pair;
    Rect window;
    std::vector<float> phiA, phiB;  // phiA alone for a shape that ends
    double dp = 0, dq = 0;          // B's centroid minus A's, in pixels: the shape moves by this from a to b
    float depth = 0;                // of a shape that ends: the largest distance inside it
};

Rect clipToSlice(double p0, double q0, double p1, double q1, std::int64_t pad, const SliceAxes& s) {
    Rect r;
    r.p0 = std::max<std::int64_t>(0, static_cast<std::int64_t>(std::floor(p0)) - pad);
    r.q0 = std::max<std::int64_t>(0, static_cast<std::int64_t>(std::floor(q0)) - pad);
    r.p1 = std::min<std::int64_t>(s.nu, static_cast<std::int64_t>(std::ceil(p1)) + pad + 1);
    r.q1 = std::min<std::int64_t>(s.nv, static_cast<std::int64_t>(std::ceil(q1)) + pad + 1);
    return r;
}

struct Union {
    std::vector<std::uint8_t> chosen;  // per component id (0 unused)
    double count = 0, sumP = 0, sumQ = 0;
    double p0 = kInfinity, q0 = kInfinity, p1 = -kInfinity, q1 = -kInfinity;  // inclusive box

    Union(const SliceComponents& c, const std::vector<int>& parts) : chosen(c.parts.size() + 1, 0) {
        for (int i : parts) {
            const Component& part = c.parts[static_cast<std::size_t>(i)];
            chosen[static_cast<std::size_t>(i) + 1] = 1;
            count += double(part.count);
            sumP += part.sumP;
            sumQ += part.sumQ;
            p0 = std::min(p0, double(part.p0));
            q0 = std::min(q0, double(part.q0));
            p1 = std::max(p1, double(part.p1));
            q1 = std::max(q1, double(part.q1));
        }
    }
    double centreP() const { return sumP / count; }
    double centreQ() const { return sumQ / count; }
    std::vector<std::uint8_t> mask(const SliceComponents& c, const Rect& window) const {
        std::vector<std::uint8_t> m(static_cast<std::size_t>(window.width() * window.height()));
        std::size_t n = 0;
        for (std::int64_t q = window.q0; q < window.q1; ++q)
            for (std::int64_t p = window.p0; p < window.p1; ++p) m[n++] = chosen[std::size_t(c.at(p, q))];
        return m;
    }
};

Blend between(const SliceComponents& a, const Union& ua, const SliceComponents& b, const Union& ub,
              const SliceAxes& s) {
    Blend blend;
    blend.dp = ub.centreP() - ua.centreP();
    blend.dq = ub.centreQ() - ua.centreQ();
    const double p0 = std::min({ua.p0, ub.p0, ua.p0 + blend.dp, ub.p0 - blend.dp});
    const double q0 = std::min({ua.q0, ub.q0, ua.q0 + blend.dq, ub.q0 - blend.dq});
    const double p1 = std::max({ua.p1, ub.p1, ua.p1 + blend.dp, ub.p1 - blend.dp});
    const double q1 = std::max({ua.q1, ub.q1, ua.q1 + blend.dq, ub.q1 - blend.dq});
    blend.window = clipToSlice(p0, q0, p1, q1, 2, s);
    const std::int64_t w = blend.window.width(), h = blend.window.height();
    blend.phiA = signedDistance(ua.mask(a, blend.window), w, h, s.su, s.sv);
    blend.phiB = signedDistance(ub.mask(b, blend.window), w, h, s.su, s.sv);
    return blend;
}

Blend ending(const SliceComponents& c, const Union& shape, bool fromA, const SliceAxes& s) {
    Blend blend;
    blend.window = clipToSlice(shape.p0, shape.q0, shape.p1, shape.q1, 1, s);
    blend.phiA =
        signedDistance(shape.mask(c, blend.window), blend.window.width(), blend.window.height(), s.su, s.sv);
    blend.kind = fromA ? Blend::Kind::EndsAfterA : Blend::Kind::EndsBeforeB;
    for (float v : blend.phiA) blend.depth = std::max(blend.depth, -v);
    return blend;
}

// The distance map at a point given in window pixels, bilinear inside the window; outside it, the value at
// the nearest window point plus the distance to it.
double sample(const std::vector<float>& phi, const Rect& window, double x, double y, const SliceAxes& s) {
    const std::int64_t w = window.width(), h = window.height();
    const double cx = std::clamp(x, 0.0, double(w - 1)), cy = std::clamp(y, 0.0, double(h - 1));
    const double beyond = std::hypot((x - cx) * s.su, (y - cy) * s.sv);
    const auto x0 = static_cast<std::int64_t>(cx), y0 = static_cast<std::int64_t>(cy);
    const std::int64_t x1 = std::min(x0 + 1, w - 1), y1 = std::min(y0 + 1, h - 1);
    const double fx = cx - double(x0), fy = cy - double(y0);
    const float* r0 = phi.data() + y0 * w;
    const float* r1 = phi.data() + y1 * w;
    return (1 - fy) * ((1 - fx) * r0[x0] + fx * r0[x1]) + fy * ((1 - fx) * r1[x0] + fx * r1[x1]) + beyond;
}

// Marks in `hit` (a whole slice, p fastest) the pixels inside the blend at t (0 on slice a, 1 on slice b).
void paint(const Blend& blend, double t, const SliceAxes& s, std::vector<std::uint8_t>& hit) {
    const Rect& win = blend.window;
    const bool ends = blend.kind != Blend::Kind::Pair;
    const double shrink = blend.kind == Blend::Kind::EndsAfterA ? t : 1 - t;
    if (ends && shrink >= 0.5) return;
    for (std::int64_t y = 0; y < win.height(); ++y)
        for (std::int64_t x = 0; x < win.width(); ++x) {
            bool inside;
            if (ends) {
                inside = blend.phiA[std::size_t(y * win.width() + x)] + 2 * shrink * blend.depth < 0;
            } else {
                const double va =
                    sample(blend.phiA, win, double(x) - t * blend.dp, double(y) - t * blend.dq, s);
                const double vb = sample(blend.phiB, win, double(x) + (1 - t) * blend.dp,
                                         double(y) + (1 - t) * blend.dq, s);
                inside = (1 - t) * va + t * vb < 0;
            }
            if (inside) hit[std::size_t((win.q0 + y) * s.nu + win.p0 + x)] = 1;
        }
}

class DisjointSets {
  public:
    explicit DisjointSets(std::size_t n) : parent_(n) { std::iota(parent_.begin(), parent_.end(), 0); }
    std::size_t root(std::size_t x) {
        while (parent_[x] != x) x = parent_[x] = parent_[parent_[x]];
        return x;
    }
    void join(std::size_t x, std::size_t y) { parent_[root(x)] = root(y); }

  private:
    std::vector<std::size_t> parent_;
};

// Overlap groups, then leftover pairs, then shapes that end: the blends between slices a and b.
std::vector<Blend> matchSlices(const SliceComponents& a, const SliceComponents& b, double sliceDistance,
                               const SliceAxes& s) {
    const std::size_t na = a.parts.size(), nb = b.parts.size();
    DisjointSets sets(na + nb);
    for (std::size_t n = 0; n < a.id.size(); ++n)
        if (a.id[n] && b.id[n]) sets.join(std::size_t(a.id[n] - 1), na + std::size_t(b.id[n] - 1));
    std::vector<std::vector<int>> groupA(na + nb), groupB(na + nb);
    for (std::size_t i = 0; i < na; ++i) groupA[sets.root(i)].push_back(int(i));
    for (std::size_t i = 0; i < nb; ++i) groupB[sets.root(na + i)].push_back(int(i));

    std::vector<Blend> blends;
    std::vector<int> loneA, loneB;
    for (std::size_t g = 0; g < na + nb; ++g) {
        if (!groupA[g].empty() && !groupB[g].empty())
            blends.push_back(between(a, Union(a, groupA[g]), b, Union(b, groupB[g]), s));
        else if (!groupA[g].empty())
            loneA.push_back(groupA[g][0]);
        else if (!groupB[g].empty())
            loneB.push_back(groupB[g][0]);
    }

    const double pixelArea = s.su * s.sv;
    auto radius = [&](const Component& c) { return std::sqrt(double(c.count) * pixelArea / kPi); };
    std::vector<std::tuple<double, int, int>> candidates;
    for (int i : loneA)
        for (int j : loneB) {
            const Component& ca = a.parts[std::size_t(i)];
            const Component& cb = b.parts[std::size_t(j)];
            const double dist = std::hypot((cb.sumP / double(cb.count) - ca.sumP / double(ca.count)) * s.su,
                                           (cb.sumQ / double(cb.count) - ca.sumQ / double(ca.count)) * s.sv);
            if (dist - radius(ca) - radius(cb) <= sliceDistance) candidates.emplace_back(dist, i, j);
        }
    std::sort(candidates.begin(), candidates.end());
    std::vector<std::uint8_t> pairedA(na, 0), pairedB(nb, 0);
    for (const auto& [dist, i, j] : candidates) {
        if (pairedA[std::size_t(i)] || pairedB[std::size_t(j)]) continue;
        pairedA[std::size_t(i)] = pairedB[std::size_t(j)] = 1;
        blends.push_back(between(a, Union(a, {i}), b, Union(b, {j}), s));
    }
    for (int i : loneA)
        if (!pairedA[std::size_t(i)]) blends.push_back(ending(a, Union(a, {i}), true, s));
    for (int j : loneB)
        if (!pairedB[std::size_t(j)]) blends.push_back(ending(b, Union(b, {j}), false, s));
    return blends;
}

std::string segmentName(std::uint8_t segment) { return "segment " + std::to_string(int(segment)); }

}  // namespace

SliceFill fillBetweenSlices(const LabelMap& labels, std::uint8_t segment, int axis) {
    if (axis < 0 || axis > 2)
        throw std::invalid_argument("Fill between slices: the slice axis must be 0, 1 or 2, not " +
                                    std::to_string(axis) + ".");
    if (segment == 0)
        throw std::invalid_argument("Fill between slices needs a segment: label 0 is the background.");
    const ImageGeometry& g = labels.geometry();
    const std::uint8_t* voxels = labels.labels().data();

    SliceFill fill;
    fill.axis = axis;
    fill.segment = segment;
    Index3 lo{g.size[0], g.size[1], g.size[2]}, hi{-1, -1, -1};
    std::vector<std::uint8_t> drawn(static_cast<std::size_t>(g.size[axis]), 0);
    for (std::int64_t k = 0; k < g.size[2]; ++k)
        for (std::int64_t j = 0; j < g.size[1]; ++j) {
            const std::uint8_t* row = voxels + g.offset(0, j, k);
            for (std::int64_t i = 0; i < g.size[0]; ++i) {
                if (row[i] != segment) continue;
                const Index3 at{i, j, k};
                for (int a = 0; a < 3; ++a) {
                    lo[a] = std::min(lo[a], at[a]);
                    hi[a] = std::max(hi[a], at[a]);
                }
                drawn[std::size_t(at[axis])] = 1;
            }
        }
    for (std::int64_t s = 0; s < g.size[axis]; ++s)
        if (drawn[std::size_t(s)]) fill.drawnSlices.push_back(s);
    if (fill.drawnSlices.empty())
        throw std::invalid_argument("Fill between slices: " + segmentName(segment) +
                                    " has no voxels; draw it on at least two slices first.");
    if (fill.drawnSlices.size() < 2)
        throw std::invalid_argument("Fill between slices: " + segmentName(segment) +
                                    " is drawn on one slice only (slice " +
                                    std::to_string(fill.drawnSlices[0]) + " of axis " + std::to_string(axis) +
                                    "); draw it on at least two slices to fill between them.");

    const SliceAxes s(g, axis);
    const Rect working{lo[s.u], lo[s.v], hi[s.u] + 1, hi[s.v] + 1};
    std::vector<std::uint8_t> hit(static_cast<std::size_t>(s.nu * s.nv), 0);
    std::vector<std::int64_t> changed;
    Index3 clo{g.size[0], g.size[1], g.size[2]}, chi{-1, -1, -1};
    for (std::size_t n = 0; n + 1 < fill.drawnSlices.size(); ++n) {
        const std::int64_t sa = fill.drawnSlices[n], sb = fill.drawnSlices[n + 1];
        if (sb - sa < 2) continue;
        const SliceComponents ca = findComponents(labels, s, sa, segment, working);
        const SliceComponents cb = findComponents(labels, s, sb, segment, working);
        const std::vector<Blend> blends = matchSlices(ca, cb, double(sb - sa) * s.sn, s);
        for (std::int64_t slice = sa + 1; slice < sb; ++slice) {
            const double t = double(slice - sa) / double(sb - sa);
            Rect touched{s.nu, s.nv, 0, 0};
            for (const Blend& blend : blends) {
                paint(blend, t, s, hit);
                touched.p0 = std::min(touched.p0, blend.window.p0);
                touched.q0 = std::min(touched.q0, blend.window.q0);
                touched.p1 = std::max(touched.p1, blend.window.p1);
                touched.q1 = std::max(touched.q1, blend.window.q1);
            }
            bool gained = false;
            for (std::int64_t q = touched.q0; q < touched.q1; ++q)
                for (std::int64_t p = touched.p0; p < touched.p1; ++p) {
                    std::uint8_t& h = hit[std::size_t(q * s.nu + p)];
                    if (!h) continue;
                    h = 0;
                    const std::int64_t o = s.offset(slice, p, q);
                    if (voxels[o] != 0) continue;
                    changed.push_back(o);
                    gained = true;
                    Index3 at;
                    at[std::size_t(axis)] = slice;
                    at[std::size_t(s.u)] = p;
                    at[std::size_t(s.v)] = q;
                    for (int a = 0; a < 3; ++a) {
                        clo[a] = std::min(clo[a], at[a]);
                        chi[a] = std::max(chi[a], at[a]);
                    }
                }
            if (gained) fill.filledSlices.push_back(slice);
        }
    }
    if (changed.empty()) return fill;

    SegmentEdit& edit = fill.edit;
    edit.begin = clo;
    for (int a = 0; a < 3; ++a) edit.size[a] = chi[a] - clo[a] + 1;
    edit.before.resize(static_cast<std::size_t>(edit.size[0] * edit.size[1] * edit.size[2]));
    std::size_t n = 0;
    for (std::int64_t k = 0; k < edit.size[2]; ++k)
        for (std::int64_t j = 0; j < edit.size[1]; ++j, n += std::size_t(edit.size[0]))
            std::copy_n(voxels + g.offset(clo[0], clo[1] + j, clo[2] + k), edit.size[0],
                        edit.before.begin() + n);
    edit.after = edit.before;
    for (std::int64_t o : changed) {
        const std::int64_t i = o % g.size[0], j = (o / g.size[0]) % g.size[1],
                           k = o / (g.size[0] * g.size[1]);
        edit.after[std::size_t(i - clo[0] + edit.size[0] * (j - clo[1] + edit.size[1] * (k - clo[2])))] =
            segment;
    }
    edit.added = static_cast<std::int64_t>(changed.size());
    return fill;
}

}  // namespace engram
