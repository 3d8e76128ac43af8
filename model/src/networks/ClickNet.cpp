#include <engram/model/classical/GrowFromSeeds.h>
#include <engram/model/networks/ClickNet.h>
#include <engram/model/weights/SafeTensors.h>
#include <engram/model/weights/StateDict.h>

#include "ResidualBlock.h"

#include <torch/nn/functional/activation.h>
#include <torch/nn/functional/pooling.h>
#include <torch/torch.h>
#include "JsonValues.h"

#include <cmath>

namespace engram::model {

namespace F = torch::nn::functional;

// ------------------------------------------------------------------------------------------ configuration

std::string ClickNetConfig::toJson() const {
    return nlohmann::json{{"widths", widths},
                          {"heads", heads},
                          {"memory_cells", memoryCells},
                          {"max_age", maxAge},
                          {"spacing", spacing},
                          {"crop_size", cropSize},
                          {"max_crop_size", maxCropSize},
                          {"click_sigma", clickSigma}}
        .dump();
}

ClickNetConfig ClickNetConfig::fromJson(const std::string& json) {
    ClickNetConfig c;
    try {
        const auto j = nlohmann::json::parse(json);
        json::readIfPresent(j, "widths", c.widths);
        json::readIfPresent(j, "heads", c.heads);
        json::readIfPresent(j, "memory_cells", c.memoryCells);
        json::readIfPresent(j, "max_age", c.maxAge);
        json::readIfPresent(j, "spacing", c.spacing);
        json::readIfPresent(j, "crop_size", c.cropSize);
        json::readIfPresent(j, "max_crop_size", c.maxCropSize);
        json::readIfPresent(j, "click_sigma", c.clickSigma);
    } catch (const std::exception& e) {
        throw std::invalid_argument(std::string("clicknet configuration: ") + e.what());
    }
    bool ok = c.widths.size() >= 2 && c.widths.size() <= 6 && c.heads >= 1 && c.memoryCells >= 1 &&
              c.memoryCells <= 16 && c.maxAge >= 1 && c.maxAge <= 256 && c.spacing > 0.1 && c.spacing < 20 &&
              c.clickSigma > 0 && c.clickSigma < 20;
    for (int w : c.widths) ok = ok && w >= 4 && w <= 1024 && w % 4 == 0;
    ok = ok && c.widths.back() % c.heads == 0 && c.cropSize % c.factor() == 0 &&
         c.maxCropSize % c.factor() == 0 && c.cropSize >= c.factor() && c.maxCropSize >= c.cropSize &&
         c.maxCropSize <= 512;
    if (!ok) throw std::invalid_argument("clicknet configuration out of range: " + json);
    return c;
}

// ------------------------------------------------------------------------------------------ intensities

IntensityScale IntensityScale::of(const float* voxels, std::int64_t count) {
    IntensityScale s;
    if (count <= 0) return s;
    const std::int64_t stride = std::max<std::int64_t>(1, count / 1'000'000);
    std::vector<float> sample;
    sample.reserve(static_cast<std::size_t>(count / stride + 1));
    std::int64_t air = 0;
    for (std::int64_t i = 0; i < count; i += stride) {
        sample.push_back(voxels[i]);
        air += voxels[i] < -500;
    }
    s.ct = double(air) >= 0.02 * double(sample.size());
    if (!s.ct) {
        auto at = [&](double q) {
            auto it = sample.begin() + static_cast<std::ptrdiff_t>(q * double(sample.size() - 1));
            std::nth_element(sample.begin(), it, sample.end());
            return *it;
        };
        s.low = at(0.005);
        s.high = at(0.995);
        if (!(s.high > s.low)) s.high = s.low + 1;
    }
    return s;
}

std::array<float, 2> IntensityScale::channels(float v) const {
    if (ct) return {std::clamp((v - 50.f) / 250.f, -1.f, 1.f), std::clamp(v / 1000.f, -1.f, 1.f)};
    const float x = std::clamp(2.f * (v - low) / (high - low) - 1.f, -1.f, 1.5f);
    return {x, x};
}

// ------------------------------------------------------------------------------------------ crop frames

CropFrame CropFrame::aligned(const Point3& centre, const std::array<std::int64_t, 3>& size, double spacing) {
    CropFrame f;
    f.size = size;
    // RAS in LPS world coordinates: crop axis 0 = -x, 1 = -y, 2 = +z.
    f.axes = {-spacing, 0, 0, 0, -spacing, 0, 0, 0, spacing};
    f.origin = centre;
    const Point3 half = f.toWorld({double(size[0] / 2), double(size[1] / 2), double(size[2] / 2)});
    for (int a = 0; a < 3; ++a) f.origin[std::size_t(a)] = 2 * centre[std::size_t(a)] - half[std::size_t(a)];
    return f;
}

Point3 CropFrame::toWorld(const Point3& index) const {
    Point3 w = origin;
    for (int r = 0; r < 3; ++r)
        for (int c = 0; c < 3; ++c) w[std::size_t(r)] += axes[std::size_t(r * 3 + c)] * index[std::size_t(c)];
    return w;
}

Point3 CropFrame::toIndex(const Point3& world) const {
    // axes^-1 * (world - origin), by the adjugate.
    const auto& m = axes;
    const double d[3] = {world[0] - origin[0], world[1] - origin[1], world[2] - origin[2]};
    const double det = m[0] * (m[4] * m[8] - m[5] * m[7]) - m[1] * (m[3] * m[8] - m[5] * m[6]) +
                       m[2] * (m[3] * m[7] - m[4] * m[6]);
    const double inv[9] = {(m[4] * m[8] - m[5] * m[7]) / det, (m[2] * m[7] - m[1] * m[8]) / det,
                           (m[1] * m[5] - m[2] * m[4]) / det, (m[5] * m[6] - m[3] * m[8]) / det,
                           (m[0] * m[8] - m[2] * m[6]) / det, (m[2] * m[3] - m[0] * m[5]) / det,
                           (m[3] * m[7] - m[4] * m[6]) / det, (m[1] * m[6] - m[0] * m[7]) / det,
                           (m[0] * m[4] - m[1] * m[3]) / det};
    Point3 i{0, 0, 0};
    for (int r = 0; r < 3; ++r)
        for (int c = 0; c < 3; ++c) i[std::size_t(r)] += inv[r * 3 + c] * d[c];
    return i;
}

Point3 CropFrame::centre() const {
    return toWorld({double(size[0] / 2), double(size[1] / 2), double(size[2] / 2)});
}

torch::Tensor imageChannels(const CropFrame& frame, const Grid& grid, const float* voxels,
                            const IntensityScale& scale) {
    std::vector<std::uint8_t> valid;
    const auto values = sampleCrop(
        frame, grid, [voxels](std::int64_t o) { return voxels[o]; }, 0.f, &valid);
    auto out = torch::empty({3, frame.size[2], frame.size[1], frame.size[0]});
    fillImageChannels(values, valid, scale, out.data_ptr<float>());
    return out;
}

void fillImageChannels(const std::vector<float>& values, const std::vector<std::uint8_t>& inside,
                       const IntensityScale& scale, float* out) {
    const auto n = values.size();
    for (std::size_t i = 0; i < n; ++i) {
        const bool scanned = inside[i] && !(scale.ct && values[i] < -1100.f);
        const auto ch = scale.channels(values[i]);
        out[i] = scanned ? ch[0] : -1.f;
        out[n + i] = scanned ? ch[1] : -1.f;
        out[2 * n + i] = scanned ? 1.f : 0.f;
    }
}

torch::Tensor clickChannels(const CropFrame& frame, const std::vector<std::pair<Point3, bool>>& clicks,
                            double sigma) {
    auto out = torch::zeros({2, frame.size[2], frame.size[1], frame.size[0]});
    float* data = out.data_ptr<float>();
    const auto n = frame.count();
    const auto reach = static_cast<std::int64_t>(std::ceil(3 * sigma));
    for (const auto& [world, positive] : clicks) {
        // Centred on the crop voxel nearest the click, as the simulated clicks of training are.
        Point3 c = frame.toIndex(world);
        for (auto& v : c) v = std::round(v);
        float* channel = data + (positive ? 0 : n);
        std::array<std::int64_t, 3> lo, hi;
        for (int a = 0; a < 3; ++a) {
            const auto r = static_cast<std::int64_t>(std::lround(c[std::size_t(a)]));
            lo[std::size_t(a)] = std::max<std::int64_t>(0, r - reach);
            hi[std::size_t(a)] = std::min<std::int64_t>(frame.size[std::size_t(a)] - 1, r + reach);
        }
        for (std::int64_t k = lo[2]; k <= hi[2]; ++k)
            for (std::int64_t j = lo[1]; j <= hi[1]; ++j)
                for (std::int64_t i = lo[0]; i <= hi[0]; ++i) {
                    const double d2 = (double(i) - c[0]) * (double(i) - c[0]) +
                                      (double(j) - c[1]) * (double(j) - c[1]) +
                                      (double(k) - c[2]) * (double(k) - c[2]);
                    float& v = channel[i + frame.size[0] * (j + frame.size[1] * k)];
                    v = std::max(v, static_cast<float>(std::exp(-d2 / (2 * sigma * sigma))));
                }
    }
    return out;
}

// ------------------------------------------------------------------------------------------ the network

namespace {

constexpr int kFrequencies = 4;  // position encoding: sin/cos at 1, 2, 4, 8 cycles per 200 mm
constexpr double kPositionScaleMm = 100.0;

}  // namespace

ClickNetImpl::ClickNetImpl(const ClickNetConfig& c) : config(c) {
    using namespace torch::nn;
    const auto& w = config.widths;
    const int D = w.back();
    down = register_module("down", ModuleList());
    up = register_module("up", ModuleList());
    decode = register_module("decode", ModuleList());
    int in = kClickNetChannels;
    for (int width : w) {
        down->push_back(ResidualBlock<3>(in, width));
        in = width;
    }
    for (std::size_t l = w.size() - 1; l > 0; --l) {
        up->push_back(ConvTranspose3d(ConvTranspose3dOptions(w[l], w[l - 1], 2).stride(2)));
        decode->push_back(ResidualBlock<3>(2 * w[l - 1], w[l - 1]));
    }
    head = register_module("head", Conv3d(Conv3dOptions(w[0], 1, 1)));
    memoryIn = register_module("memory_in", Linear(D + 1, D));
    queryNorm = register_module("query_norm", LayerNorm(LayerNormOptions({D})));
    memoryNorm = register_module("memory_norm", LayerNorm(LayerNormOptions({D})));
    positionProjection = register_module("position", Linear(6 * kFrequencies, D));
    q = register_module("q", Linear(D, D));
    k = register_module("k", Linear(D, D));
    v = register_module("v", Linear(D, D));
    out = register_module("out", Linear(D, D));
    ageEmbedding = register_module("age", Embedding(config.maxAge, D));
    clickEmbedding = register_module("click", Embedding(2, D));
    torch::NoGradGuard noGrad;
    out->weight.zero_();
    out->bias.zero_();
}

torch::Tensor ClickNetImpl::positionEncoding(const torch::Tensor& mm) {
    std::vector<torch::Tensor> parts;
    const auto x = mm / kPositionScaleMm;
    for (int f = 0; f < kFrequencies; ++f) {
        const auto a = x * (M_PI * double(1 << f) / 2.0);
        parts.push_back(torch::sin(a));
        parts.push_back(torch::cos(a));
    }
    return positionProjection(torch::cat(parts, 1));
}

namespace {

// Crop-frame millimetres of world points [N, 3] relative to the crop's centre (along the crop's axes).
torch::Tensor relativeMm(const torch::Tensor& world, const CropFrame& frame, double spacing) {
    const auto w = world.to(torch::kCPU, torch::kDouble).contiguous();
    auto outT = torch::empty({w.size(0), 3}, torch::kFloat);
    const double* p = w.data_ptr<double>();
    float* o = outT.data_ptr<float>();
    for (std::int64_t i = 0; i < w.size(0); ++i) {
        const Point3 idx = frame.toIndex({p[3 * i], p[3 * i + 1], p[3 * i + 2]});
        for (int a = 0; a < 3; ++a)
            o[3 * i + a] = float((idx[std::size_t(a)] - double(frame.size[std::size_t(a)] / 2)) * spacing);
    }
    return outT.to(world.device());
}

// World positions [c2*c1*c0, 3] of the centres of a [c2, c1, c0] pooling of the crop (tensor order).
torch::Tensor cellCentres(const CropFrame& frame, std::int64_t c2, std::int64_t c1, std::int64_t c0) {
    auto pos = torch::empty({c2 * c1 * c0, 3}, torch::kDouble);
    double* p = pos.data_ptr<double>();
    for (std::int64_t z = 0; z < c2; ++z)
        for (std::int64_t y = 0; y < c1; ++y)
            for (std::int64_t x = 0; x < c0; ++x, p += 3) {
                const Point3 idx{(double(x) + 0.5) * double(frame.size[0]) / double(c0) - 0.5,
                                 (double(y) + 0.5) * double(frame.size[1]) / double(c1) - 0.5,
                                 (double(z) + 0.5) * double(frame.size[2]) / double(c2) - 0.5};
                const Point3 w = frame.toWorld(idx);
                p[0] = w[0];
                p[1] = w[1];
                p[2] = w[2];
            }
    return pos;
}

}  // namespace

torch::Tensor ClickNetImpl::attend(const torch::Tensor& features, const std::vector<ClickMemory>& memories,
                                   const CropFrame& frame) {
    const auto D = features.size(1);
    const auto s2 = features.size(2), s1 = features.size(3), s0 = features.size(4);
    const auto device = features.device();
    const auto query = features.flatten(2).transpose(1, 2)[0];  // [Nq, D]
    const auto queryPos = relativeMm(cellCentres(frame, s2, s1, s0).to(device), frame, config.spacing);
    std::vector<torch::Tensor> tokens, positions, ages;
    const auto m = static_cast<std::int64_t>(memories.size());
    for (std::int64_t i = 0; i < m; ++i) {
        const auto& mem = memories[static_cast<std::size_t>(i)];
        tokens.push_back(mem.tokens);
        positions.push_back(mem.positions);
        ages.push_back(torch::full({mem.tokens.size(0)}, std::min<std::int64_t>(m - 1 - i, config.maxAge - 1),
                                   torch::TensorOptions().dtype(torch::kLong).device(device)));
    }
    const auto memTokens = torch::cat(tokens);
    const auto memPos = relativeMm(torch::cat(positions), frame, config.spacing);
    const auto kv = memoryNorm(memTokens) + ageEmbedding(torch::cat(ages));
    const int H = config.heads;
    const auto dh = D / H;
    const auto Q = q(queryNorm(query) + positionEncoding(queryPos)).view({-1, H, dh}).transpose(0, 1);
    const auto K = k(kv + positionEncoding(memPos)).view({-1, H, dh}).transpose(0, 1);
    const auto V = v(kv).view({-1, H, dh}).transpose(0, 1);
    const auto weights = torch::softmax(torch::matmul(Q, K.transpose(1, 2)) / std::sqrt(double(dh)), -1);
    const auto read = out(torch::matmul(weights, V).transpose(0, 1).reshape({-1, D}));  // [Nq, D]
    return features + read.transpose(0, 1).contiguous().view({1, D, s2, s1, s0});
}

ClickNetImpl::Output ClickNetImpl::forward(const torch::Tensor& input,
                                           const std::vector<std::vector<ClickMemory>>& memories,
                                           const std::vector<CropFrame>& frames) {
    std::vector<torch::Tensor> skips;
    auto x = input;
    for (std::size_t l = 0; l < down->size(); ++l) {
        if (l > 0) x = F::max_pool3d(x, F::MaxPool3dFuncOptions(2));
        x = down[l]->as<ResidualBlockImpl<3>>()->forward(x);
        skips.push_back(x);
    }
    bool anyMemory = false;
    for (const auto& m : memories) anyMemory |= !m.empty();
    if (anyMemory) {
        std::vector<torch::Tensor> rows;
        for (std::int64_t b = 0; b < x.size(0); ++b) {
            const auto& m = memories[static_cast<std::size_t>(b)];
            const auto row = x.slice(0, b, b + 1);
            rows.push_back(m.empty() ? row : attend(row, m, frames[static_cast<std::size_t>(b)]));
        }
        x = torch::cat(rows);
    }
    const auto bottleneck = x;
    for (std::size_t i = 0; i < up->size(); ++i) {
        x = up[i]->as<torch::nn::ConvTranspose3d>()->forward(x);
        x = decode[i]->as<ResidualBlockImpl<3>>()->forward(torch::cat({x, skips[skips.size() - 2 - i]}, 1));
    }
    return {head(x), bottleneck};
}

ClickMemory ClickNetImpl::encodeMemory(const torch::Tensor& bottleneck, const torch::Tensor& probability,
                                       const CropFrame& frame, const Point3& click, bool positive) {
    const int f = config.factor();
    const auto mask = F::avg_pool3d(probability.unsqueeze(0).unsqueeze(0), F::AvgPool3dFuncOptions(f));
    const auto c = config.memoryCells;
    // Pooling first, then the projection (the same as projecting first: both are linear).
    const auto pooled = F::adaptive_avg_pool3d(torch::cat({bottleneck.unsqueeze(0), mask}, 1),
                                               F::AdaptiveAvgPool3dFuncOptions({c, c, c}));
    const auto projected = memoryIn(pooled.flatten(2)[0].transpose(0, 1));  // [c^3, D]
    const auto device = bottleneck.device();
    const auto clickIndex =
        torch::full({1}, positive ? 1 : 0, torch::TensorOptions().dtype(torch::kLong).device(device));
    ClickMemory memory;
    memory.tokens = torch::cat({projected, clickEmbedding(clickIndex)});
    memory.positions =
        torch::cat({cellCentres(frame, c, c, c),
                    torch::tensor({click[0], click[1], click[2]}, torch::kDouble).view({1, 3})})
            .to(device);
    return memory;
}

// ------------------------------------------------------------------------------------------ inference

namespace {

bool inBox(const RegionMask& m, std::int64_t x, std::int64_t y, std::int64_t z) {
    return x >= m.begin[0] && y >= m.begin[1] && z >= m.begin[2] && x < m.begin[0] + m.size[0] &&
           y < m.begin[1] + m.size[1] && z < m.begin[2] + m.size[2];
}

std::uint8_t maskAt(const RegionMask& m, std::int64_t x, std::int64_t y, std::int64_t z) {
    if (!inBox(m, x, y, z)) return 0;
    return m.mask[static_cast<std::size_t>((x - m.begin[0]) +
                                           m.size[0] * ((y - m.begin[1]) + m.size[1] * (z - m.begin[2])))];
}

// The crop for an interaction (see runClickNetInteraction).
CropFrame interactionFrame(const ClickNetConfig& c, const Grid& grid,
                           const std::vector<std::pair<Point3, bool>>& clicks, const RegionMask& previous) {
    const auto ras = [](const Point3& w) { return Point3{-w[0], -w[1], w[2]}; };
    Point3 lo{1e300, 1e300, 1e300}, hi{-1e300, -1e300, -1e300};
    const auto add = [&](const Point3& world) {
        const Point3 r = ras(world);
        for (int a = 0; a < 3; ++a) {
            lo[std::size_t(a)] = std::min(lo[std::size_t(a)], r[std::size_t(a)]);
            hi[std::size_t(a)] = std::max(hi[std::size_t(a)], r[std::size_t(a)]);
        }
    };
    for (const auto& [world, positive] : clicks)
        if (positive) add(world);
    const Point3 newest = clicks.back().first;
    add(newest);
    if (previous.positiveSize[0] > 0)
        for (int corner = 0; corner < 8; ++corner) {
            Point3 idx;
            for (int a = 0; a < 3; ++a)
                idx[std::size_t(a)] =
                    double(previous.begin[std::size_t(a)] + previous.positiveBegin[std::size_t(a)]) +
                    ((corner >> a) & 1 ? double(previous.positiveSize[std::size_t(a)]) - 0.5 : -0.5);
            add(grid.indexToWorld(idx));
        }
    const Point3 n = ras(newest);
    Point3 centre;
    std::array<std::int64_t, 3> size;
    const int f = c.factor();
    for (int a = 0; a < 3; ++a) {
        const double need = (hi[std::size_t(a)] - lo[std::size_t(a)]) / c.spacing + 2 * 8 + 1;
        const auto rounded = static_cast<std::int64_t>(std::ceil(need / f)) * f;
        size[std::size_t(a)] = std::clamp<std::int64_t>(rounded, c.cropSize, c.maxCropSize);
        centre[std::size_t(a)] =
            rounded > c.maxCropSize ? n[std::size_t(a)] : (lo[std::size_t(a)] + hi[std::size_t(a)]) / 2;
    }
    return CropFrame::aligned(ras(centre), size, c.spacing);  // ras() is its own inverse
}

}  // namespace

ClickNetStep runClickNetInteraction(ClickNetImpl& net, const Grid& grid, const float* voxels,
                                    const IntensityScale& scale,
                                    const std::vector<std::pair<Point3, bool>>& clicks,
                                    const RegionMask& previous, const std::vector<ClickMemory>& bank,
                                    bool seedChannel) {
    if (clicks.empty()) throw std::invalid_argument("an interaction needs a click");
    const auto& c = net.config;
    const auto device = net.parameters().front().device();
    ClickNetStep result;
    result.frame = interactionFrame(c, grid, clicks, previous);
    const CropFrame& frame = result.frame;
    const auto S = frame.size;
    const Dims3 dims{S[0], S[1], S[2]};
    const auto previousCrop = sampleCrop(
        frame, grid,
        [&](std::int64_t o) {
            const auto& n = grid.size;
            return float(maskAt(previous, o % n[0], (o / n[0]) % n[1], o / (n[0] * n[1])));
        },
        0.f);
    auto previousTensor = torch::empty({1, S[2], S[1], S[0]});
    for (std::size_t i = 0; i < previousCrop.size(); ++i)
        previousTensor.data_ptr<float>()[i] = previousCrop[i] > 0.5f ? 1.f : 0.f;
    auto seeds = torch::zeros({1, S[2], S[1], S[0]});
    if (seedChannel) {
        const auto raw = sampleCrop(
            frame, grid, [voxels](std::int64_t o) { return voxels[o]; }, scale.ct ? -1000.f : scale.low);
        std::vector<SimulatedClick> cropClicks;
        for (const auto& [world, positive] : clicks) {
            const Point3 i = frame.toIndex(world);
            SimulatedClick sc;
            sc.positive = positive;
            bool inside = true;
            for (int a = 0; a < 3; ++a) {
                sc.index[std::size_t(a)] = std::lround(i[std::size_t(a)]);
                inside =
                    inside && sc.index[std::size_t(a)] >= 0 && sc.index[std::size_t(a)] < S[std::size_t(a)];
            }
            if (inside) cropClicks.push_back(sc);
        }
        SeedGrower grower(raw.data(), dims, {c.spacing, c.spacing, c.spacing});
        const auto grown = grower.grow(cropClicks).mask.toVolume(dims);
        for (std::size_t i = 0; i < grown.size(); ++i) seeds.data_ptr<float>()[i] = grown[i];
    }
    const auto image = imageChannels(frame, grid, voxels, scale);
    const auto input = torch::cat({image, clickChannels(frame, clicks, c.clickSigma), previousTensor, seeds})
                           .unsqueeze(0)
                           .to(device);
    const auto out = net.forward(input, {bank}, {frame});
    const auto probability = torch::sigmoid(out.logits[0][0]);
    result.memory =
        net.encodeMemory(out.bottleneck[0], probability, frame, clicks.back().first, clicks.back().second);
    const auto valid = image[2].to(device);
    result.confidence = ((probability - 0.5).abs() + 0.5).mul(valid).sum().item<float>() /
                        std::max(1.f, valid.sum().item<float>());
    const auto logits = out.logits[0][0].to(torch::kCPU).contiguous();
    const float* L = logits.data_ptr<float>();

    // Back to the grid: the crop's footprint, joined with the previous mask's box.
    std::array<std::int64_t, 3> lo{grid.size[0], grid.size[1], grid.size[2]}, hi{-1, -1, -1};
    for (int corner = 0; corner < 8; ++corner) {
        Point3 idx;
        for (int a = 0; a < 3; ++a)
            idx[std::size_t(a)] = (corner >> a) & 1 ? double(S[std::size_t(a)]) - 0.5 : -0.5;
        const Point3 g = grid.worldToIndex(frame.toWorld(idx));
        for (int a = 0; a < 3; ++a) {
            lo[std::size_t(a)] =
                std::min(lo[std::size_t(a)], static_cast<std::int64_t>(std::floor(g[std::size_t(a)])));
            hi[std::size_t(a)] =
                std::max(hi[std::size_t(a)], static_cast<std::int64_t>(std::ceil(g[std::size_t(a)])));
        }
    }
    for (int a = 0; a < 3; ++a) {
        lo[std::size_t(a)] = std::max<std::int64_t>(0, lo[std::size_t(a)]);
        hi[std::size_t(a)] = std::min<std::int64_t>(grid.size[std::size_t(a)] - 1, hi[std::size_t(a)]);
        if (previous.size[0] > 0 && previous.size[1] > 0 && previous.size[2] > 0) {
            lo[std::size_t(a)] = std::min(lo[std::size_t(a)], previous.begin[std::size_t(a)]);
            hi[std::size_t(a)] = std::max(hi[std::size_t(a)],
                                          previous.begin[std::size_t(a)] + previous.size[std::size_t(a)] - 1);
        }
    }
    RegionMask& m = result.mask;
    for (int a = 0; a < 3; ++a) {
        m.begin[std::size_t(a)] = lo[std::size_t(a)];
        m.size[std::size_t(a)] = std::max<std::int64_t>(0, hi[std::size_t(a)] - lo[std::size_t(a)] + 1);
    }
    m.mask.assign(static_cast<std::size_t>(m.size[0] * m.size[1] * m.size[2]), 0);
    // The crop's logits sampled at the box's voxels (sampleCrop with the roles swapped: the crop as the
    // grid, the box as the lattice); voxels beyond the crop keep the previous mask.
    Grid cropGrid;
    cropGrid.size = S;
    cropGrid.origin = frame.origin;
    CropFrame box;
    box.size = m.size;
    box.origin = grid.indexToWorld({double(lo[0]), double(lo[1]), double(lo[2])});
    for (int col = 0; col < 3; ++col) {
        const double sp = std::hypot(frame.axes[std::size_t(col)], frame.axes[std::size_t(3 + col)],
                                     frame.axes[std::size_t(6 + col)]);
        cropGrid.spacing[std::size_t(col)] = sp;
        for (int r = 0; r < 3; ++r) {
            cropGrid.direction[std::size_t(r * 3 + col)] = frame.axes[std::size_t(r * 3 + col)] / sp;
            box.axes[std::size_t(r * 3 + col)] =
                grid.direction[std::size_t(r * 3 + col)] * grid.spacing[std::size_t(col)];
        }
    }
    std::vector<std::uint8_t> inCrop;
    const auto sampled = sampleCrop(
        box, cropGrid, [L](std::int64_t v) { return L[v]; }, 0.f, &inCrop);
    std::array<std::int64_t, 3> plo{m.size[0], m.size[1], m.size[2]}, phi{-1, -1, -1};
    std::size_t o = 0;
    for (std::int64_t z = lo[2]; z < lo[2] + m.size[2]; ++z)
        for (std::int64_t y = lo[1]; y < lo[1] + m.size[1]; ++y)
            for (std::int64_t x = lo[0]; x < lo[0] + m.size[0]; ++x, ++o) {
                const std::uint8_t v = inCrop[o] ? sampled[o] > 0 : maskAt(previous, x, y, z);
                m.mask[o] = v;
                if (v) {
                    const std::int64_t idx[3] = {x - lo[0], y - lo[1], z - lo[2]};
                    for (int a = 0; a < 3; ++a) {
                        plo[std::size_t(a)] = std::min(plo[std::size_t(a)], idx[a]);
                        phi[std::size_t(a)] = std::max(phi[std::size_t(a)], idx[a]);
                    }
                }
            }
    if (phi[0] >= 0)
        for (int a = 0; a < 3; ++a) {
            m.positiveBegin[std::size_t(a)] = plo[std::size_t(a)];
            m.positiveSize[std::size_t(a)] = phi[std::size_t(a)] - plo[std::size_t(a)] + 1;
            m.touchedFaces[std::size_t(2 * a)] = plo[std::size_t(a)] == 0 && lo[std::size_t(a)] > 0;
            m.touchedFaces[std::size_t(2 * a + 1)] = phi[std::size_t(a)] == m.size[std::size_t(a)] - 1 &&
                                                     hi[std::size_t(a)] < grid.size[std::size_t(a)] - 1;
        }
    return result;
}

// ------------------------------------------------------------------------------------------ model files

bool isClickNetFile(const std::string& path) { return modelFamily(path) == "clicknet"; }

ClickNetModel ClickNetModel::create(const ClickNetConfig& config) {
    ClickNetModel m;
    m.config = config;
    m.net = ClickNet(config);
    return m;
}

ClickNetModel ClickNetModel::load(const std::string& path) {
    return loadFamilyModel<ClickNetModel>(path, "clicknet");
}

void ClickNetModel::save(const std::string& path, const std::map<std::string, torch::Tensor>& extraTensors,
                         const std::map<std::string, std::string>& extraMetadata, bool half) const {
    saveFamilyFile(*net, path, "engram-mais/1", "clicknet", config.toJson(), extraTensors, extraMetadata,
                   half);
}

}  // namespace engram::model
