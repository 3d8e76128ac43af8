#include <engram/annotation/Errors.h>
#include <engram/annotation/Geometry.h>

#include <algorithm>
#include <cmath>
#include <sstream>

namespace engram {

model::Grid toModelGrid(const ImageGeometry& g) {
    model::Grid m;
    for (int a = 0; a < 3; ++a) {
        m.size[a] = g.size[a];
        m.spacing[a] = g.spacing[a];
        m.origin[a] = g.origin[a];
        for (int b = 0; b < 3; ++b) m.direction[a * 3 + b] = g.direction[a][b];
    }
    return m;
}

// The voxel <-> world maths is model::Grid's (one implementation for the document and the networks' crops).
Vec3 ImageGeometry::indexToWorld(const Vec3& index) const { return toModelGrid(*this).indexToWorld(index); }

Vec3 ImageGeometry::worldToIndex(const Vec3& world) const { return toModelGrid(*this).worldToIndex(world); }

Index3 ImageGeometry::worldToNearestVoxel(const Vec3& world) const {
    const Vec3 c = worldToIndex(world);
    return {static_cast<std::int64_t>(std::llround(c[0])), static_cast<std::int64_t>(std::llround(c[1])),
            static_cast<std::int64_t>(std::llround(c[2]))};
}

std::array<double, 16> ImageGeometry::rasAffine() const {
    std::array<double, 16> a{};
    for (int r = 0; r < 3; ++r) {
        const double flip = r < 2 ? -1.0 : 1.0;  // LPS -> RAS negates x and y
        for (int c = 0; c < 3; ++c) a[r * 4 + c] = flip * direction[r][c] * spacing[c];
        a[r * 4 + 3] = flip * origin[r];
    }
    a[15] = 1.0;
    return a;
}

std::string ImageGeometry::orientationCode() const {
    static const char kPositive[3] = {'R', 'A', 'S'};
    static const char kNegative[3] = {'L', 'P', 'I'};
    std::string code;
    for (int c = 0; c < 3; ++c) {
        // In RAS terms the x and y components change sign.
        const Vec3 ras{-direction[0][c], -direction[1][c], direction[2][c]};
        int best = 0;
        for (int r = 1; r < 3; ++r)
            if (std::abs(ras[r]) > std::abs(ras[best])) best = r;
        code += ras[best] >= 0 ? kPositive[best] : kNegative[best];
    }
    return code;
}

bool ImageGeometry::hasOrthonormalDirection(double tolerance) const {
    for (int a = 0; a < 3; ++a)
        for (int b = a; b < 3; ++b) {
            double dot = 0;
            for (int r = 0; r < 3; ++r) dot += direction[r][a] * direction[r][b];
            const double expected = a == b ? 1.0 : 0.0;
            if (!(std::abs(dot - expected) <= tolerance)) return false;
        }
    return true;
}

bool ImageGeometry::sameGrid(const ImageGeometry& other, double tolerance) const {
    if (size != other.size) return false;
    for (int a = 0; a < 3; ++a) {
        if (!(std::abs(spacing[a] - other.spacing[a]) <= tolerance)) return false;
        if (!(std::abs(origin[a] - other.origin[a]) <= tolerance)) return false;
        for (int b = 0; b < 3; ++b)
            if (std::abs(direction[a][b] - other.direction[a][b]) > tolerance) return false;
    }
    return true;
}

void requireVoxelCount(const std::array<std::int64_t, 3>& size, const std::string& what) {
    std::int64_t total = 1;
    bool ok = true;
    for (const auto n : size) {
        ok &= n >= 1 && n <= (std::int64_t(1) << 20);
        if (ok) total *= n;  // at most 2^60: no overflow
    }
    if (!ok || total > kMaxVoxels)
        throw InputError(what + " claims " + std::to_string(size[0]) + " x " + std::to_string(size[1]) +
                         " x " + std::to_string(size[2]) + " voxels; Engram opens volumes of 1 to " +
                         std::to_string(kMaxVoxels) + " voxels.");
}

void requireUsableGeometry(const ImageGeometry& g, const std::string& what) {
    const char* axis[3] = {"i", "j", "k"};
    for (int a = 0; a < 3; ++a) {
        if (!(std::isfinite(g.spacing[a]) && g.spacing[a] > 0)) {
            std::ostringstream s;
            s << what << ": the voxel spacing along " << axis[a] << " is " << g.spacing[a]
              << " mm; it must be a positive number.";
            throw InputError(s.str());
        }
        if (!std::isfinite(g.origin[a]))
            throw InputError(what + ": the image origin is not a finite number.");
    }
    if (!g.hasOrthonormalDirection(1e-3))
        throw InputError(what +
                         ": its direction cosines are not orthonormal (a sheared or degenerate grid), which "
                         "Engram cannot display without distorting it.");
}

std::string ImageGeometry::describe() const {
    std::ostringstream s;
    s.precision(6);
    s << size[0] << "x" << size[1] << "x" << size[2] << " voxels, spacing " << spacing[0] << " x "
      << spacing[1] << " x " << spacing[2] << " mm, origin (" << origin[0] << ", " << origin[1] << ", "
      << origin[2] << ") mm LPS, orientation " << orientationCode();
    return s.str();
}

bool GridMapping::identity() const {
    return axis == std::array<int, 3>{0, 1, 2} && flip == std::array<bool, 3>{false, false, false};
}

std::string GridMapping::describe() const {
    if (identity()) return "the same grid";
    static const char names[] = {'i', 'j', 'k'};
    std::string out;
    if (axis != std::array<int, 3>{0, 1, 2})
        out = std::string("index axes (") + names[axis[0]] + ", " + names[axis[1]] + ", " + names[axis[2]] +
              ") of the file";
    for (int a = 0; a < 3; ++a)
        if (flip[a]) out += (out.empty() ? "" : ", ") + std::string(1, names[a]) + " reversed";
    return out;
}

std::optional<GridMapping> sameLattice(const ImageGeometry& from, const ImageGeometry& to,
                                       double toleranceVoxels) {
    GridMapping m;
    std::array<bool, 3> used{};
    for (int a = 0; a < 3; ++a) {
        int found = -1;
        for (int b = 0; b < 3 && found < 0; ++b) {
            if (used[b] || from.size[b] != to.size[a]) continue;
            double dot = 0;
            for (int r = 0; r < 3; ++r) dot += from.direction[r][b] * to.direction[r][a];
            if (std::abs(std::abs(dot) - 1) > 1e-4) continue;
            if (std::abs(from.spacing[b] - to.spacing[a]) > toleranceVoxels * to.spacing[a]) continue;
            found = b;
            m.flip[a] = dot < 0;
        }
        if (found < 0) return std::nullopt;
        used[found] = true;
        m.axis[a] = found;
    }
    // The corners of `to` must be voxel centres of `from` at the mapped indices.
    const double tolerance = toleranceVoxels * std::min({to.spacing[0], to.spacing[1], to.spacing[2]});
    for (int corner = 0; corner < 8; ++corner) {
        Vec3 t{}, f{};
        for (int a = 0; a < 3; ++a) {
            t[a] = (corner >> a) & 1 ? double(to.size[a] - 1) : 0.0;
            f[m.axis[a]] = m.flip[a] ? double(to.size[a] - 1) - t[a] : t[a];
        }
        const Vec3 wt = to.indexToWorld(t), wf = from.indexToWorld(f);
        for (int r = 0; r < 3; ++r)
            if (!(std::abs(wt[r] - wf[r]) <= tolerance)) return std::nullopt;
    }
    return m;
}

}  // namespace engram
