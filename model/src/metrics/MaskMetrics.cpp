#include <engram/model/metrics/MaskMetrics.h>

#include <algorithm>
#include <cmath>
#include <limits>

namespace engram::model {
namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();

// 1-D squared distance transform of f (n samples at spacing h) into d, lower envelope of parabolas.
void edt1d(const float* f, float* d, std::int64_t n, double h, std::vector<std::int64_t>& v,
           std::vector<double>& z) {
    v.resize(static_cast<std::size_t>(n));
    z.resize(static_cast<std::size_t>(n) + 1);
    const double h2 = h * h;
    std::int64_t k = -1;
    for (std::int64_t q = 0; q < n; ++q) {
        if (!std::isfinite(f[q])) continue;
        double s = 0;
        while (k >= 0) {
            const std::int64_t p = v[static_cast<std::size_t>(k)];
            s = ((f[q] + h2 * double(q) * double(q)) - (f[p] + h2 * double(p) * double(p))) /
                (2.0 * h2 * double(q - p));
            if (s > z[static_cast<std::size_t>(k)]) break;
            --k;
        }
        ++k;
        v[static_cast<std::size_t>(k)] = q;
        z[static_cast<std::size_t>(k)] = k == 0 ? -std::numeric_limits<double>::infinity() : s;
        z[static_cast<std::size_t>(k) + 1] = std::numeric_limits<double>::infinity();
    }
    if (k < 0) {
        std::fill(d, d + n, kInf);
        return;
    }
    std::int64_t j = 0;
    for (std::int64_t q = 0; q < n; ++q) {
        while (z[static_cast<std::size_t>(j) + 1] < double(q)) ++j;
        const std::int64_t p = v[static_cast<std::size_t>(j)];
        d[q] = static_cast<float>(h2 * double(q - p) * double(q - p) + f[p]);
    }
}

}  // namespace

std::vector<float> squaredDistanceToFeature(const std::uint8_t* feature, const Dims3& n,
                                            const Spacing3& spacing) {
    const std::int64_t count = n[0] * n[1] * n[2];
    std::vector<float> d(static_cast<std::size_t>(count));
    for (std::int64_t o = 0; o < count; ++o) d[static_cast<std::size_t>(o)] = feature[o] ? 0.f : kInf;
    const std::int64_t stride[3] = {1, n[0], n[0] * n[1]};
    std::vector<float> line, out;
    std::vector<std::int64_t> v;
    std::vector<double> z;
    for (int axis = 0; axis < 3; ++axis) {
        const int a = (axis + 1) % 3, b = (axis + 2) % 3;
        line.resize(static_cast<std::size_t>(n[axis]));
        out.resize(static_cast<std::size_t>(n[axis]));
        for (std::int64_t y = 0; y < n[b]; ++y)
            for (std::int64_t x = 0; x < n[a]; ++x) {
                const std::int64_t base = x * stride[a] + y * stride[b];
                for (std::int64_t q = 0; q < n[axis]; ++q)
                    line[static_cast<std::size_t>(q)] = d[static_cast<std::size_t>(base + q * stride[axis])];
                edt1d(line.data(), out.data(), n[axis], spacing[static_cast<std::size_t>(axis)], v, z);
                for (std::int64_t q = 0; q < n[axis]; ++q)
                    d[static_cast<std::size_t>(base + q * stride[axis])] = out[static_cast<std::size_t>(q)];
            }
    }
    return d;
}

double dice(const std::uint8_t* p, const std::uint8_t* t, std::int64_t count) {
    std::int64_t both = 0, sp = 0, st = 0;
    for (std::int64_t o = 0; o < count; ++o) {
        const bool a = p[o] != 0, b = t[o] != 0;
        both += a && b;
        sp += a;
        st += b;
    }
    return sp + st == 0 ? 1.0 : 2.0 * double(both) / double(sp + st);
}

MaskComparison compareMasks(const std::uint8_t* p, const std::uint8_t* t, const Dims3& n,
                            const Spacing3& spacing, double tolerance) {
    const std::int64_t count = n[0] * n[1] * n[2];
    MaskComparison r;
    r.dice = dice(p, t, count);
    // Work in the bounding box of both masks: every surface voxel lies inside it, so distances between
    // surfaces computed there are exact.
    Dims3 lo{n[0], n[1], n[2]}, hi{-1, -1, -1};
    bool anyP = false, anyT = false;
    for (std::int64_t k = 0, o = 0; k < n[2]; ++k)
        for (std::int64_t j = 0; j < n[1]; ++j)
            for (std::int64_t i = 0; i < n[0]; ++i, ++o) {
                if (!p[o] && !t[o]) continue;
                anyP |= p[o] != 0;
                anyT |= t[o] != 0;
                const std::int64_t idx[3] = {i, j, k};
                for (int a = 0; a < 3; ++a) {
                    lo[a] = std::min(lo[a], idx[a]);
                    hi[a] = std::max(hi[a], idx[a]);
                }
            }
    if (!anyP && !anyT) {
        r.nsd = 1;
        return r;
    }
    if (!anyP || !anyT) {
        r.assd = std::numeric_limits<double>::quiet_NaN();
        return r;
    }
    const Dims3 bn{hi[0] - lo[0] + 1, hi[1] - lo[1] + 1, hi[2] - lo[2] + 1};
    std::vector<std::uint8_t> bp(static_cast<std::size_t>(bn[0] * bn[1] * bn[2])), bt(bp.size());
    for (std::int64_t k = 0, o = 0; k < bn[2]; ++k)
        for (std::int64_t j = 0; j < bn[1]; ++j)
            for (std::int64_t i = 0; i < bn[0]; ++i, ++o) {
                const std::int64_t src = (lo[0] + i) + n[0] * ((lo[1] + j) + n[1] * (lo[2] + k));
                bp[static_cast<std::size_t>(o)] = p[src] != 0;
                bt[static_cast<std::size_t>(o)] = t[src] != 0;
            }
    // Surface voxels: inside, with a 6-neighbour outside or on the grid's face. Beyond a face of the box
    // lies nothing of either mask (or the grid's end), so an inside voxel on a box face is surface.
    auto surfaceOf = [&](const std::vector<std::uint8_t>& m) {
        std::vector<std::uint8_t> s(m.size(), 0);
        const std::int64_t stride[3] = {1, bn[0], bn[0] * bn[1]};
        for (std::int64_t k = 0, o = 0; k < bn[2]; ++k)
            for (std::int64_t j = 0; j < bn[1]; ++j)
                for (std::int64_t i = 0; i < bn[0]; ++i, ++o) {
                    if (!m[static_cast<std::size_t>(o)]) continue;
                    const std::int64_t idx[3] = {i, j, k};
                    bool edge = false;
                    for (int a = 0; a < 3 && !edge; ++a)
                        edge = idx[a] == 0 || idx[a] == bn[a] - 1 ||
                               !m[static_cast<std::size_t>(o - stride[a])] ||
                               !m[static_cast<std::size_t>(o + stride[a])];
                    s[static_cast<std::size_t>(o)] = edge;
                }
        return s;
    };
    const auto sp = surfaceOf(bp), st = surfaceOf(bt);
    const auto dp = squaredDistanceToFeature(sp.data(), bn, spacing),
               dt = squaredDistanceToFeature(st.data(), bn, spacing);
    double sum = 0;
    std::int64_t within = 0, total = 0;
    const double tol2 = tolerance * tolerance;
    for (std::size_t o = 0; o < sp.size(); ++o) {
        if (sp[o]) {
            sum += std::sqrt(double(dt[o]));
            within += dt[o] <= tol2;
            ++total;
        }
        if (st[o]) {
            sum += std::sqrt(double(dp[o]));
            within += dp[o] <= tol2;
            ++total;
        }
    }
    r.assd = sum / double(total);
    r.nsd = double(within) / double(total);
    return r;
}

}  // namespace engram::model
