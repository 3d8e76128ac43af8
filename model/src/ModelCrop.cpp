#include <engram/model/ModelCrop.h>

#include <torch/nn/functional/upsampling.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace engram::model {
namespace {

std::array<double, 9> inverse(const std::array<double, 9>& m) {
    const double det = m[0] * (m[4] * m[8] - m[5] * m[7]) - m[1] * (m[3] * m[8] - m[5] * m[6]) +
                       m[2] * (m[3] * m[7] - m[4] * m[6]);
    if (std::abs(det) < 1e-12) throw std::invalid_argument("grid direction matrix is singular");
    const double s = 1.0 / det;
    return {
        (m[4] * m[8] - m[5] * m[7]) * s, (m[2] * m[7] - m[1] * m[8]) * s, (m[1] * m[5] - m[2] * m[4]) * s,
        (m[5] * m[6] - m[3] * m[8]) * s, (m[0] * m[8] - m[2] * m[6]) * s, (m[2] * m[3] - m[0] * m[5]) * s,
        (m[3] * m[7] - m[4] * m[6]) * s, (m[1] * m[6] - m[0] * m[7]) * s, (m[0] * m[4] - m[1] * m[3]) * s};
}

// Affine map from index space of `from` to continuous index space of `to`: to = A * from + b.
struct IndexMap {
    double A[3][3];
    double b[3];
    IndexMap(const Grid& from, const Grid& to) {
        const auto inv = inverse(to.direction);
        const Point3 o = to.worldToIndex(from.origin);
        for (int r = 0; r < 3; ++r) {
            b[r] = o[r];
            for (int c = 0; c < 3; ++c) {
                double v = 0;  // d(to index r) / d(from index c)
                for (int k = 0; k < 3; ++k) v += inv[r * 3 + k] * from.direction[k * 3 + c];
                A[r][c] = v * from.spacing[c] / to.spacing[r];
            }
        }
    }
    Point3 operator()(double i, double j, double k) const {
        return {A[0][0] * i + A[0][1] * j + A[0][2] * k + b[0],
                A[1][0] * i + A[1][1] * j + A[1][2] * k + b[1],
                A[2][0] * i + A[2][1] * j + A[2][2] * k + b[2]};
    }
};

// Trilinear sample of `data` (size n, i fastest) at continuous index p; `outside` beyond the voxel centres
// of the border (no extrapolation).
template <typename T>
float trilinear(const T* data, const std::array<std::int64_t, 3>& n, const Point3& p, float outside) {
    std::int64_t i0[3];
    double f[3];
    for (int a = 0; a < 3; ++a) {
        if (!(p[a] >= -1e-6 && p[a] <= double(n[a] - 1) + 1e-6)) return outside;
        const double c = std::clamp(p[a], 0.0, double(n[a] - 1));
        i0[a] = std::min<std::int64_t>(static_cast<std::int64_t>(std::floor(c)), n[a] - 1);
        f[a] = c - double(i0[a]);
    }
    double v = 0;
    for (int dz = 0; dz < 2; ++dz)
        for (int dy = 0; dy < 2; ++dy)
            for (int dx = 0; dx < 2; ++dx) {
                const double w = (dx ? f[0] : 1 - f[0]) * (dy ? f[1] : 1 - f[1]) * (dz ? f[2] : 1 - f[2]);
                if (w == 0) continue;
                const std::int64_t x = std::min(i0[0] + dx, n[0] - 1), y = std::min(i0[1] + dy, n[1] - 1),
                                   z = std::min(i0[2] + dz, n[2] - 1);
                v += w * double(data[x + n[0] * (y + n[1] * z)]);
            }
    return static_cast<float>(v);
}

}  // namespace

Point3 Grid::indexToWorld(const Point3& index) const {
    Point3 w = origin;
    for (int r = 0; r < 3; ++r)
        for (int c = 0; c < 3; ++c) w[r] += direction[r * 3 + c] * spacing[c] * index[c];
    return w;
}

Point3 Grid::worldToIndex(const Point3& world) const {
    const auto inv = inverse(direction);
    const Point3 d{world[0] - origin[0], world[1] - origin[1], world[2] - origin[2]};
    Point3 idx{};
    for (int r = 0; r < 3; ++r)
        idx[r] = (inv[r * 3] * d[0] + inv[r * 3 + 1] * d[1] + inv[r * 3 + 2] * d[2]) / spacing[r];
    return idx;
}

bool RegionMask::touchesCropBorder() const {
    return std::any_of(touchedFaces.begin(), touchedFaces.end(), [](bool t) { return t; });
}

std::int64_t RegionMask::count() const {
    return std::count_if(mask.begin(), mask.end(), [](std::uint8_t v) { return v != 0; });
}

ModelCrop::ModelCrop(const Point3& centreWorld, const CropOptions& options) : options_(options) {
    const int n = options.size;
    grid_.size = {n, n, n};
    grid_.spacing = {options.spacing, options.spacing, options.spacing};
    // RAS axes in LPS world: Right = -x, Anterior = -y, Superior = +z.
    grid_.direction = {-1, 0, 0, 0, -1, 0, 0, 0, 1};
    const double half = n / 2;
    grid_.origin = {centreWorld[0] + half * options.spacing, centreWorld[1] + half * options.spacing,
                    centreWorld[2] - half * options.spacing};
}

bool ModelCrop::containsWorld(const Point3& world) const {
    const Point3 c = worldToCrop(world);
    for (int a = 0; a < 3; ++a)
        if (!(c[a] >= -0.5 && c[a] < grid_.size[a] - 0.5)) return false;
    return true;
}

torch::Tensor ModelCrop::resample(const Grid& source, const float* voxels) const {
    const std::int64_t n = options_.size;
    auto out = torch::empty({1, 1, n, n, n}, torch::kFloat32);
    // Tensor [a][b][c] = crop index (a, b, c): the last tensor dim is crop axis 2.
    float* o = out.data_ptr<float>();
    const IndexMap map(grid_, source);
    for (std::int64_t a = 0; a < n; ++a)
        for (std::int64_t b = 0; b < n; ++b)
            for (std::int64_t c = 0; c < n; ++c)
                *o++ = trilinear(voxels, source.size, map(double(a), double(b), double(c)), 0.0f);
    return out;
}

torch::Tensor ModelCrop::networkInput(const Grid& source, const float* voxels) const {
    auto x = resample(source, voxels);
    if (options_.clampCt) x = x.clamp(options_.ctMin, options_.ctMax);
    auto fg = x.gt(0);
    if (fg.sum().item<std::int64_t>() < 2) fg = torch::ones_like(fg);  // nothing positive: all voxels
    const auto values = x.masked_select(fg);
    const double mean = values.mean().item<double>();
    const double std = values.std().item<double>();
    return (x - mean) / std::max(std, 1e-8);
}

RegionMask ModelCrop::pasteBack(const torch::Tensor& lowResLogits, const Grid& source) const {
    namespace F = torch::nn::functional;
    const std::int64_t n = options_.size;
    const auto full = F::interpolate(lowResLogits.to(torch::kCPU, torch::kFloat32),
                                     F::InterpolateFuncOptions()
                                         .size(std::vector<std::int64_t>{n, n, n})
                                         .mode(torch::kTrilinear)
                                         .align_corners(false));
    return pasteBackFull(full.reshape({n, n, n}), source);
}

RegionMask ModelCrop::pasteBackFull(const torch::Tensor& cropLogits, const Grid& source) const {
    const std::int64_t n = options_.size;
    const auto logits = cropLogits.to(torch::kCPU, torch::kFloat32).contiguous();
    const float* data = logits.data_ptr<float>();  // [a][b][c], c fastest

    // Bounding box of the crop in source index space.
    const IndexMap toSource(grid_, source);
    double lo[3] = {1e300, 1e300, 1e300}, hi[3] = {-1e300, -1e300, -1e300};
    for (int corner = 0; corner < 8; ++corner) {
        const Point3 p =
            toSource(corner & 1 ? n - 0.5 : -0.5, corner & 2 ? n - 0.5 : -0.5, corner & 4 ? n - 0.5 : -0.5);
        for (int a = 0; a < 3; ++a) {
            lo[a] = std::min(lo[a], p[a]);
            hi[a] = std::max(hi[a], p[a]);
        }
    }
    RegionMask out;
    for (int a = 0; a < 3; ++a) {
        out.begin[a] =
            std::clamp<std::int64_t>(static_cast<std::int64_t>(std::ceil(lo[a])), 0, source.size[a]);
        const std::int64_t end =
            std::clamp<std::int64_t>(static_cast<std::int64_t>(std::floor(hi[a])) + 1, 0, source.size[a]);
        out.size[a] = std::max<std::int64_t>(0, end - out.begin[a]);
    }
    out.mask.assign(static_cast<std::size_t>(out.size[0] * out.size[1] * out.size[2]), 0);
    const IndexMap toCrop(source, grid_);
    const std::array<std::int64_t, 3> cropSize{n, n, n};
    std::size_t v = 0;
    for (std::int64_t k = 0; k < out.size[2]; ++k)
        for (std::int64_t j = 0; j < out.size[1]; ++j)
            for (std::int64_t i = 0; i < out.size[0]; ++i, ++v) {
                const Point3 c =
                    toCrop(double(out.begin[0] + i), double(out.begin[1] + j), double(out.begin[2] + k));
                // Sample with (axis2, axis1, axis0) order to match the tensor layout.
                const float logit = trilinear(data, cropSize, {c[2], c[1], c[0]}, -1.0f);
                out.mask[v] = logit > 0;
            }
    // Border contact: any positive logit on a face of the crop.
    const auto pos = logits.gt(0);
    for (int d = 0; d < 3; ++d) {
        out.touchedFaces[d * 2] = pos.select(d, 0).any().item<bool>();
        out.touchedFaces[d * 2 + 1] = pos.select(d, n - 1).any().item<bool>();
    }
    return out;
}

}  // namespace engram::model
