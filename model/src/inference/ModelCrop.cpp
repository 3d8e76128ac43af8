#include <engram/model/inference/ModelCrop.h>

#include <torch/nn/functional/upsampling.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <thread>

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
    std::int64_t i0[3], i1[3];
    float f[3];
    for (int a = 0; a < 3; ++a) {
        const double hi = double(n[a] - 1);
        if (!(p[a] >= -1e-6 && p[a] <= hi + 1e-6)) return outside;
        const double c = std::clamp(p[a], 0.0, hi);
        i0[a] = static_cast<std::int64_t>(c);  // c >= 0: truncation is floor
        i1[a] = std::min(i0[a] + 1, n[a] - 1);
        f[a] = static_cast<float>(c - double(i0[a]));
    }
    const std::int64_t sy = n[0], sz = n[0] * n[1];
    auto at = [&](std::int64_t x, std::int64_t y, std::int64_t z) {
        return float(data[x + sy * y + sz * z]);
    };
    auto lerp = [](float a, float b, float t) { return a + (b - a) * t; };
    const float c00 = lerp(at(i0[0], i0[1], i0[2]), at(i1[0], i0[1], i0[2]), f[0]);
    const float c10 = lerp(at(i0[0], i1[1], i0[2]), at(i1[0], i1[1], i0[2]), f[0]);
    const float c01 = lerp(at(i0[0], i0[1], i1[2]), at(i1[0], i0[1], i1[2]), f[0]);
    const float c11 = lerp(at(i0[0], i1[1], i1[2]), at(i1[0], i1[1], i1[2]), f[0]);
    return lerp(lerp(c00, c10, f[1]), lerp(c01, c11, f[1]), f[2]);
}

// Runs body(k) for k in [begin, end) on up to 4 threads (the slowest loops of a click are per voxel).
template <typename F>
void parallelFor(std::int64_t begin, std::int64_t end, F&& body) {
    const std::int64_t threads = std::clamp<std::int64_t>(std::thread::hardware_concurrency(), 1,
                                                          std::min<std::int64_t>(4, end - begin));
    if (threads <= 1) {
        for (std::int64_t k = begin; k < end; ++k) body(k);
        return;
    }
    std::vector<std::thread> pool;
    const std::int64_t chunk = (end - begin + threads - 1) / threads;
    for (std::int64_t t = 0; t < threads; ++t)
        pool.emplace_back([&, t] {
            for (std::int64_t k = begin + t * chunk; k < std::min(end, begin + (t + 1) * chunk); ++k) body(k);
        });
    for (auto& th : pool) th.join();
}

// Per cell of `data` (size n, x fastest; a cell lies between 2x2x2 neighbouring voxels): 1 when all 8
// corners are positive, -1 when none is, 0 otherwise. Built by pairing neighbours along x, then y, then z
// (bit 0: all positive, bit 1: any positive). Empty when an axis has fewer than 2 voxels.
std::vector<std::int8_t> cellSigns(const float* data, const std::array<std::int64_t, 3>& n) {
    const std::int64_t X = n[0], Y = n[1], Z = n[2], cx = X - 1, cy = Y - 1, cz = Z - 1;
    std::vector<std::int8_t> sign;
    if (cx <= 0 || cy <= 0 || cz <= 0) return sign;
    std::vector<std::uint8_t> alongX(static_cast<std::size_t>(cx * Y * Z)),
        alongXY(static_cast<std::size_t>(cx * cy * Z));
    parallelFor(0, Z, [&](std::int64_t z) {
        for (std::int64_t y = 0; y < Y; ++y) {
            const float* row = data + X * (y + Y * z);
            std::uint8_t* o = alongX.data() + cx * (y + Y * z);
            for (std::int64_t x = 0; x < cx; ++x) {
                const bool p0 = row[x] > 0, p1 = row[x + 1] > 0;
                o[x] = std::uint8_t((p0 && p1) | (p0 || p1) << 1);
            }
        }
        for (std::int64_t y = 0; y < cy; ++y) {
            const std::uint8_t* r0 = alongX.data() + cx * (y + Y * z);
            std::uint8_t* o = alongXY.data() + cx * (y + cy * z);
            for (std::int64_t x = 0; x < cx; ++x)
                o[x] = std::uint8_t((r0[x] & r0[x + cx] & 1) | ((r0[x] | r0[x + cx]) & 2));
        }
    });
    sign.resize(static_cast<std::size_t>(cx * cy * cz));
    parallelFor(0, cz, [&](std::int64_t z) {
        const std::uint8_t* s0 = alongXY.data() + cx * cy * z;
        const std::uint8_t* s1 = s0 + cx * cy;
        std::int8_t* o = sign.data() + cx * cy * z;
        for (std::int64_t i = 0; i < cx * cy; ++i)
            o[i] = (s0[i] & s1[i] & 1) ? 1 : ((s0[i] | s1[i]) & 2) ? 0 : -1;
    });
    return sign;
}

// Records which crop faces the positive logits reach, and returns the region. `pos` covers crop voxels
// offset .. offset + size.
RegionMask finishFaces(RegionMask& out, const torch::Tensor& pos, const std::array<std::int64_t, 3>& offset,
                       std::int64_t n) {
    for (int d = 0; d < 3; ++d) {
        out.touchedFaces[d * 2] = offset[d] == 0 && pos.select(d, 0).any().item<bool>();
        out.touchedFaces[d * 2 + 1] =
            offset[d] + pos.size(d) == n && pos.select(d, pos.size(d) - 1).any().item<bool>();
    }
    return std::move(out);
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

std::vector<std::uint8_t> RegionMask::toVolume(const std::array<std::int64_t, 3>& n) const {
    std::vector<std::uint8_t> out(static_cast<std::size_t>(n[0] * n[1] * n[2]), 0);
    std::size_t q = 0;
    for (std::int64_t z = 0; z < size[2]; ++z)
        for (std::int64_t y = 0; y < size[1]; ++y)
            for (std::int64_t x = 0; x < size[0]; ++x, ++q)
                if (mask[q])
                    out[static_cast<std::size_t>((begin[0] + x) +
                                                 n[0] * ((begin[1] + y) + n[1] * (begin[2] + z)))] = 1;
    return out;
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
    parallelFor(0, n, [&](std::int64_t a) {
        float* row = o + a * n * n;
        for (std::int64_t b = 0; b < n; ++b)
            for (std::int64_t c = 0; c < n; ++c)
                *row++ = trilinear(voxels, source.size, map(double(a), double(b), double(c)), 0.0f);
    });
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
    const auto low = lowResLogits.to(torch::kCPU, torch::kFloat32)
                         .reshape({lowResLogits.size(-3), lowResLogits.size(-2), lowResLogits.size(-1)});
    const std::int64_t L = low.size(0), scale = n / L;
    // Upsample only the box around the positive low-resolution voxels, with a margin of two of them: inside
    // it the values equal those of the whole upsampled crop, and beyond it no crop voxel can be positive.
    std::array<std::int64_t, 3> lo{}, hi{};
    const auto pos = low.gt(0);
    for (int d = 0; d < 3; ++d) {
        const auto idx = pos.any(d == 2 ? 1 : 2).any(d == 0 ? 1 : 0).nonzero();
        if (idx.numel() == 0) return pasteFrom(torch::full({1, 1, 1}, -1.0f), {0, 0, 0}, source);
        lo[d] = std::max<std::int64_t>(idx.min().item<std::int64_t>() - 2, 0);
        hi[d] = std::min<std::int64_t>(idx.max().item<std::int64_t>() + 2, L - 1);
    }
    using torch::indexing::Slice;
    const auto sub = low.index({Slice(lo[0], hi[0] + 1), Slice(lo[1], hi[1] + 1), Slice(lo[2], hi[2] + 1)});
    const auto up = F::interpolate(
        sub.unsqueeze(0).unsqueeze(0),
        F::InterpolateFuncOptions()
            .size(std::vector<std::int64_t>{sub.size(0) * scale, sub.size(1) * scale, sub.size(2) * scale})
            .mode(torch::kTrilinear)
            .align_corners(false));
    return pasteFrom(up[0][0], {lo[0] * scale, lo[1] * scale, lo[2] * scale}, source);
}

RegionMask ModelCrop::pasteBackFull(const torch::Tensor& cropLogits, const Grid& source) const {
    return pasteFrom(cropLogits, {0, 0, 0}, source);
}

RegionMask ModelCrop::pasteFrom(const torch::Tensor& subLogits, const std::array<std::int64_t, 3>& offset,
                                const Grid& source) const {
    const std::int64_t n = options_.size;
    const auto logits = subLogits.to(torch::kCPU, torch::kFloat32).contiguous();
    const float* data = logits.data_ptr<float>();  // [a][b][c] from `offset`, c fastest
    const std::array<std::int64_t, 3> subSize{logits.size(0), logits.size(1), logits.size(2)};

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

    // Only source voxels near positive crop voxels can come out positive: find the box of positive logits
    // (dilated by one voxel), map it to the source, and evaluate there; the rest of the region stays 0.
    const auto pos = logits.gt(0);
    std::int64_t plo[3] = {subSize[0], subSize[1], subSize[2]}, phi[3] = {-1, -1, -1};
    for (std::int64_t a = 0, o = 0; a < subSize[0]; ++a)
        for (std::int64_t b = 0; b < subSize[1]; ++b)
            for (std::int64_t c = 0; c < subSize[2]; ++c, ++o)
                if (data[o] > 0) {
                    const std::int64_t at[3] = {a, b, c};
                    for (int d = 0; d < 3; ++d) {
                        plo[d] = std::min(plo[d], at[d]);
                        phi[d] = std::max(phi[d], at[d]);
                    }
                }
    if (phi[0] < 0) return finishFaces(out, pos, offset, n);
    for (int d = 0; d < 3; ++d) {
        plo[d] = std::max<std::int64_t>(offset[d] + plo[d] - 1, 0);
        phi[d] = std::min<std::int64_t>(offset[d] + phi[d] + 1, n - 1);
    }
    double slo[3] = {1e300, 1e300, 1e300}, shi[3] = {-1e300, -1e300, -1e300};
    for (int corner = 0; corner < 8; ++corner) {
        const Point3 p =
            toSource(corner & 1 ? phi[0] + 0.5 : plo[0] - 0.5, corner & 2 ? phi[1] + 0.5 : plo[1] - 0.5,
                     corner & 4 ? phi[2] + 0.5 : plo[2] - 0.5);
        for (int a = 0; a < 3; ++a) {
            slo[a] = std::min(slo[a], p[a]);
            shi[a] = std::max(shi[a], p[a]);
        }
    }
    std::int64_t from[3], to[3];  // relative to the region
    for (int a = 0; a < 3; ++a) {
        from[a] = std::clamp<std::int64_t>(static_cast<std::int64_t>(std::floor(slo[a])) - out.begin[a], 0,
                                           out.size[a]);
        to[a] = std::clamp<std::int64_t>(static_cast<std::int64_t>(std::ceil(shi[a])) + 1 - out.begin[a], 0,
                                         out.size[a]);
    }
    for (int a = 0; a < 3; ++a) {
        out.positiveBegin[a] = from[a];
        out.positiveSize[a] = std::max<std::int64_t>(0, to[a] - from[a]);
    }
    const IndexMap toCrop(source, grid_);
    // The data layout is c fastest: as a sampling grid its axes are (c, b, a).
    const std::array<std::int64_t, 3> dataSize{subSize[2], subSize[1], subSize[0]};
    auto samplePoint = [&](double i, double j, double k) {
        const Point3 c = toCrop(double(out.begin[0]) + i, double(out.begin[1]) + j, double(out.begin[2]) + k);
        return Point3{c[2] - double(offset[2]), c[1] - double(offset[1]), c[0] - double(offset[0])};
    };
    auto evaluate = [&](std::int64_t i, std::int64_t j, std::int64_t k) {
        const float logit = trilinear(data, dataSize, samplePoint(double(i), double(j), double(k)), -1.0f);
        out.mask[static_cast<std::size_t>(i + out.size[0] * (j + out.size[1] * k))] = logit > 0;
    };
    // A trilinear sample is a convex combination of the 8 voxels of its cell: inside a cell whose corners
    // are all positive it is positive, inside one whose corners are all <= 0 it is not. So the source is
    // walked in blocks of 4^3 voxels: a block whose sample points all fall in cells of one sign is filled
    // (or left 0) at once; only blocks on the object's surface are sampled voxel by voxel.
    const std::int64_t cx = dataSize[0] - 1, cy = dataSize[1] - 1, cz = dataSize[2] - 1;
    const auto cellSign = cellSigns(data, dataSize);
    const std::int8_t* signs = cellSign.empty() ? nullptr : cellSign.data();
    // The sign shared by every cell that the box of sample points [boxLo, boxHi] touches; 0 when they differ
    // or when the box leaves the sampled data.
    auto signOver = [&](const Point3& boxLo, const Point3& boxHi) -> int {
        if (!signs) return 0;
        std::int64_t a[3], b[3];
        const std::int64_t cells[3] = {cx, cy, cz};
        for (int d = 0; d < 3; ++d) {
            if (!(boxLo[d] >= 0 && boxHi[d] <= double(cells[d]))) return 0;
            a[d] = std::min<std::int64_t>(static_cast<std::int64_t>(boxLo[d]), cells[d] - 1);
            b[d] = std::min<std::int64_t>(static_cast<std::int64_t>(boxHi[d]), cells[d] - 1);
        }
        const int first = signs[a[0] + cx * (a[1] + cy * a[2])];
        if (first == 0) return 0;
        for (std::int64_t z = a[2]; z <= b[2]; ++z)
            for (std::int64_t y = a[1]; y <= b[1]; ++y)
                for (std::int64_t x = a[0]; x <= b[0]; ++x)
                    if (signs[x + cx * (y + cy * z)] != first) return 0;
        return first;
    };
    constexpr std::int64_t kBlock = 4;
    const std::int64_t blocksZ = (to[2] - from[2] + kBlock - 1) / kBlock;
    parallelFor(0, blocksZ, [&](std::int64_t bz) {
        const std::int64_t k0 = from[2] + bz * kBlock, k1 = std::min(k0 + kBlock, to[2]);
        for (std::int64_t j0 = from[1]; j0 < to[1]; j0 += kBlock)
            for (std::int64_t i0 = from[0]; i0 < to[0]; i0 += kBlock) {
                const std::int64_t j1 = std::min(j0 + kBlock, to[1]), i1 = std::min(i0 + kBlock, to[0]);
                Point3 near{1e300, 1e300, 1e300}, far{-1e300, -1e300, -1e300};
                for (int c = 0; c < 8; ++c) {  // the map is affine: the corners bound the block's points
                    const Point3 p = samplePoint(double(c & 1 ? i1 - 1 : i0), double(c & 2 ? j1 - 1 : j0),
                                                 double(c & 4 ? k1 - 1 : k0));
                    for (int d = 0; d < 3; ++d) {
                        near[d] = std::min(near[d], p[d]);
                        far[d] = std::max(far[d], p[d]);
                    }
                }
                const int sign = signOver(near, far);
                for (std::int64_t k = k0; k < k1; ++k)
                    for (std::int64_t j = j0; j < j1; ++j)
                        for (std::int64_t i = i0; i < i1; ++i) {
                            if (sign == 0)
                                evaluate(i, j, k);
                            else if (sign > 0)
                                out.mask[static_cast<std::size_t>(i + out.size[0] * (j + out.size[1] * k))] =
                                    1;
                        }
            }
    });
    return finishFaces(out, pos, offset, n);
}

}  // namespace engram::model
