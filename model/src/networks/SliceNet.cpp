#include <engram/model/networks/SliceNet.h>
#include <engram/model/weights/SafeTensors.h>
#include <engram/model/weights/StateDict.h>

#include "ResidualBlock.h"

#include <spdlog/spdlog.h>
#include <torch/nn/functional/activation.h>
#include <torch/nn/functional/pooling.h>
#include <torch/torch.h>
#include "JsonValues.h"

#include <deque>

namespace engram::model {

namespace F = torch::nn::functional;

// ------------------------------------------------------------------------------------------ configuration

std::string SliceNetConfig::toJson() const {
    return nlohmann::json{{"widths", widths},
                          {"heads", heads},
                          {"crop_size", cropSize},
                          {"context", context},
                          {"margin_mm", marginMm},
                          {"min_crop_mm", minCropMm},
                          {"recent_slices", recentSlices},
                          {"max_distance", maxDistance},
                          {"object_threshold", objectThreshold}}
        .dump();
}

SliceNetConfig SliceNetConfig::fromJson(const std::string& json) {
    SliceNetConfig c;
    try {
        const auto j = nlohmann::json::parse(json);
        json::readIfPresent(j, "widths", c.widths);
        json::readIfPresent(j, "heads", c.heads);
        json::readIfPresent(j, "crop_size", c.cropSize);
        json::readIfPresent(j, "context", c.context);
        json::readIfPresent(j, "margin_mm", c.marginMm);
        json::readIfPresent(j, "min_crop_mm", c.minCropMm);
        json::readIfPresent(j, "recent_slices", c.recentSlices);
        json::readIfPresent(j, "max_distance", c.maxDistance);
        json::readIfPresent(j, "object_threshold", c.objectThreshold);
    } catch (const std::exception& e) {
        throw std::invalid_argument(std::string("slicenet configuration: ") + e.what());
    }
    bool ok = c.widths.size() >= 2 && c.widths.size() <= 6 && c.heads >= 1 && c.cropSize >= c.factor() &&
              c.cropSize % c.factor() == 0 && c.cropSize <= 512 && c.context >= 1 && c.context <= 4 &&
              c.marginMm >= 0 && c.marginMm <= 100 && c.minCropMm > 1 && c.minCropMm <= 1000 &&
              c.recentSlices >= 1 && c.recentSlices <= 32 && c.maxDistance >= 2 && c.maxDistance <= 256 &&
              c.objectThreshold > 0 && c.objectThreshold < 1;
    for (int w : c.widths) ok = ok && w >= 4 && w <= 1024 && w % 4 == 0;
    ok = ok && c.widths.back() % c.heads == 0;
    if (!ok) throw std::invalid_argument("slicenet configuration out of range: " + json);
    return c;
}

// ------------------------------------------------------------------------------------------ crops

std::array<double, 2> PlaneCrop::toPlane(double x, double y) const {
    const double half = double(size - 1) / 2;
    double dx = (x - half) * pixelMm;
    const double dy = (y - half) * pixelMm;
    if (flip) dx = -dx;
    const double ca = std::cos(angle), sa = std::sin(angle);
    return {row + (sa * dx + ca * dy) / rowMm, column + (ca * dx - sa * dy) / columnMm};
}

std::array<double, 2> PlaneCrop::toCrop(double r, double c) const {
    const double u = (c - column) * columnMm, v = (r - row) * rowMm;
    const double ca = std::cos(angle), sa = std::sin(angle);
    double dx = ca * u + sa * v;
    const double dy = -sa * u + ca * v;
    if (flip) dx = -dx;
    const double half = double(size - 1) / 2;
    return {dx / pixelMm + half, dy / pixelMm + half};
}

torch::Tensor PlaneCrop::relativeMm(const torch::Tensor& planeMm) const {
    const auto v = planeMm.select(1, 0) - row * rowMm, u = planeMm.select(1, 1) - column * columnMm;
    const double ca = std::cos(angle), sa = std::sin(angle);
    auto dx = u * ca + v * sa;
    const auto dy = u * -sa + v * ca;
    if (flip) dx = -dx;
    return torch::stack({dx, dy}, 1);
}

PlaneBox boxOf(const std::vector<std::uint8_t>& mask, std::int64_t columns) {
    PlaneBox b{1e300, -1e300, 1e300, -1e300};
    for (std::size_t o = 0; o < mask.size(); ++o)
        if (mask[o]) {
            const double r = double(std::int64_t(o) / columns), c = double(std::int64_t(o) % columns);
            b.row0 = std::min(b.row0, r);
            b.row1 = std::max(b.row1, r);
            b.column0 = std::min(b.column0, c);
            b.column1 = std::max(b.column1, c);
        }
    return b;
}

PlaneBox boxOf(const PlaneCrop& crop, const float* probability, std::int64_t rows, std::int64_t columns) {
    PlaneBox b{1e300, -1e300, 1e300, -1e300};
    for (std::int64_t y = 0; y < crop.size; ++y)
        for (std::int64_t x = 0; x < crop.size; ++x) {
            if (probability[y * crop.size + x] <= 0.5f) continue;
            const auto p = crop.toPlane(double(x), double(y));
            if (p[0] < -0.5 || p[1] < -0.5 || p[0] > double(rows) - 0.5 || p[1] > double(columns) - 0.5)
                continue;
            b.row0 = std::min(b.row0, p[0]);
            b.row1 = std::max(b.row1, p[0]);
            b.column0 = std::min(b.column0, p[1]);
            b.column1 = std::max(b.column1, p[1]);
        }
    return b;
}

PlaneCrop cropAround(const PlaneBox& box, const SliceNetConfig& config, double rowMm, double columnMm,
                     double scale) {
    PlaneCrop crop;
    crop.size = config.cropSize;
    crop.rowMm = rowMm;
    crop.columnMm = columnMm;
    crop.row = (box.row0 + box.row1) / 2;
    crop.column = (box.column0 + box.column1) / 2;
    const double extent =
        std::max((box.row1 - box.row0 + 1) * rowMm, (box.column1 - box.column0 + 1) * columnMm);
    const double side = std::max(config.minCropMm, config.context * extent + 2 * config.marginMm) * scale;
    crop.pixelMm = side / double(crop.size);
    return crop;
}

namespace {

// Bilinear value of a crop's map (size^2, x fastest) at plane point (row, column); nullopt beyond the crop.
std::optional<float> cropValue(const PlaneCrop& crop, const float* values, double row, double column) {
    const auto N = crop.size;
    const auto q = crop.toCrop(row, column);
    if (q[0] < -0.5 || q[1] < -0.5 || q[0] > double(N) - 0.5 || q[1] > double(N) - 0.5) return std::nullopt;
    const double qx = std::clamp(q[0], 0.0, double(N - 1)), qy = std::clamp(q[1], 0.0, double(N - 1));
    const auto x0 = std::min<std::int64_t>(std::int64_t(qx), N - 2),
               y0 = std::min<std::int64_t>(std::int64_t(qy), N - 2);
    const double wx = qx - double(x0), wy = qy - double(y0);
    const float* v = values + y0 * N + x0;
    return static_cast<float>((1 - wy) * ((1 - wx) * v[0] + wx * v[1]) +
                              wy * ((1 - wx) * v[N] + wx * v[N + 1]));
}

}  // namespace

std::vector<float> resampleCrop(const PlaneCrop& from, const float* values, const PlaneCrop& to) {
    const auto S = to.size;
    std::vector<float> out(static_cast<std::size_t>(S * S), 0.f);
    for (std::int64_t y = 0; y < S; ++y)
        for (std::int64_t x = 0; x < S; ++x) {
            const auto p = to.toPlane(double(x), double(y));
            if (const auto v = cropValue(from, values, p[0], p[1])) out[std::size_t(y * S + x)] = *v;
        }
    return out;
}

torch::Tensor sliceChannels(const PlaneCrop& crop, const float* voxels,
                            const std::array<std::int64_t, 3>& size, const SlicePlane& plane,
                            std::int64_t slice, const IntensityScale& scale) {
    std::vector<std::uint8_t> valid;
    const auto values = samplePlane(
        crop, plane.rows, plane.columns,
        [&](std::int64_t r, std::int64_t c) { return voxels[plane.voxelIndex(size, slice, r, c)]; }, 0.f,
        &valid);
    auto out = torch::empty({3, crop.size, crop.size});
    fillImageChannels(values, valid, scale, out.data_ptr<float>());
    return out;
}

// ------------------------------------------------------------------------------------------ the network

namespace {

constexpr int kFrequencies = 4;  // position encoding: sin/cos at 1, 2, 4, 8 half-cycles per 100 mm
constexpr double kPositionScaleMm = 100.0;

// One memory attention: bottleneck tokens (queries) read memory tokens, both with 2D positions relative
// to the current crop, the memory with its slice distance.
class MemoryReadImpl : public torch::nn::Module {
  public:
    MemoryReadImpl(int D, int heads, int maxDistance) : heads_(heads), maxDistance_(maxDistance) {
        using namespace torch::nn;
        queryNorm = register_module("query_norm", LayerNorm(LayerNormOptions({D})));
        memoryNorm = register_module("memory_norm", LayerNorm(LayerNormOptions({D})));
        position = register_module("position", Linear(4 * kFrequencies, D));
        distance = register_module("distance", Embedding(maxDistance, D));
        q = register_module("q", Linear(D, D));
        k = register_module("k", Linear(D, D));
        v = register_module("v", Linear(D, D));
        out = register_module("out", Linear(D, D));
        torch::NoGradGuard noGrad;
        out->weight.zero_();
        out->bias.zero_();
    }
    torch::Tensor encodePosition(const torch::Tensor& mm) {  // [N, 2] -> [N, D]
        std::vector<torch::Tensor> parts;
        const auto x = mm / kPositionScaleMm;
        for (int f = 0; f < kFrequencies; ++f) {
            const auto a = x * (M_PI * double(1 << f) / 2.0);
            parts.push_back(torch::sin(a));
            parts.push_back(torch::cos(a));
        }
        return position(torch::cat(parts, 1));
    }
    // query [N, D] with positions [N, 2]; returns the read [N, D].
    torch::Tensor forward(const torch::Tensor& query, const torch::Tensor& queryPos,
                          const std::vector<const SliceNetMemory*>& memories, const PlaneCrop& crop,
                          std::int64_t slice) {
        std::vector<torch::Tensor> tokens, positions, distances;
        const auto device = query.device();
        for (const auto* m : memories) {
            tokens.push_back(m->tokens);
            positions.push_back(m->positions);
            // As SAM 2's conditioning frames: a prompt is read at "distance 0" however far away it is, so
            // that the distance from the prompt cannot stand in for the structure's end.
            const auto d =
                m->prompt ? 0 : std::min<std::int64_t>(std::abs(slice - m->slice), maxDistance_ - 1);
            distances.push_back(torch::full({m->tokens.size(0)}, d,
                                            torch::TensorOptions().dtype(torch::kLong).device(device)));
        }
        const auto D = query.size(1);
        const auto dh = D / heads_;
        const auto kv = memoryNorm(torch::cat(tokens)) + distance(torch::cat(distances));
        const auto memPos = crop.relativeMm(torch::cat(positions));
        const auto Q = q(queryNorm(query) + encodePosition(queryPos)).view({-1, heads_, dh}).transpose(0, 1);
        const auto K = k(kv + encodePosition(memPos)).view({-1, heads_, dh}).transpose(0, 1);
        const auto V = v(kv).view({-1, heads_, dh}).transpose(0, 1);
        const auto w = torch::softmax(torch::matmul(Q, K.transpose(1, 2)) / std::sqrt(double(dh)), -1);
        return out(torch::matmul(w, V).transpose(0, 1).reshape({-1, D}));
    }

  private:
    int heads_, maxDistance_;
    torch::nn::LayerNorm queryNorm{nullptr}, memoryNorm{nullptr};
    torch::nn::Linear position{nullptr}, q{nullptr}, k{nullptr}, v{nullptr}, out{nullptr};
    torch::nn::Embedding distance{nullptr};
};
TORCH_MODULE(MemoryRead);

// Millimetres from the crop centre, along its axes, of the centres of an s x s pooling of the crop: [s*s, 2].
torch::Tensor cellOffsetsMm(const PlaneCrop& crop, std::int64_t s) {
    auto pos = torch::empty({s * s, 2});
    float* p = pos.data_ptr<float>();
    const double cell = double(crop.size) / double(s), half = double(crop.size - 1) / 2;
    for (std::int64_t y = 0; y < s; ++y)
        for (std::int64_t x = 0; x < s; ++x, p += 2) {
            p[0] = float(((double(x) + 0.5) * cell - 0.5 - half) * crop.pixelMm);
            p[1] = float(((double(y) + 0.5) * cell - 0.5 - half) * crop.pixelMm);
        }
    return pos;
}

}  // namespace

SliceNetImpl::SliceNetImpl(const SliceNetConfig& c) : config(c) {
    using namespace torch::nn;
    const auto& w = config.widths;
    const int D = w.back();
    down = register_module("down", ModuleList());
    up = register_module("up", ModuleList());
    decoders = register_module("decode", ModuleList());
    memoryReads = register_module("reads", ModuleList());
    mixer = register_module("mixer", ModuleList());
    int in = kSliceNetChannels;
    for (int width : w) {
        down->push_back(ResidualBlock<2>(in, width));
        in = width;
    }
    for (std::size_t l = w.size() - 1; l > 0; --l) {
        up->push_back(ConvTranspose2d(ConvTranspose2dOptions(w[l], w[l - 1], 2).stride(2)));
        decoders->push_back(ResidualBlock<2>(2 * w[l - 1], w[l - 1]));
    }
    memoryReads->push_back(MemoryRead(D, config.heads, config.maxDistance));  // long-term
    memoryReads->push_back(MemoryRead(D, config.heads, config.maxDistance));  // short-term
    mixer->push_back(ResidualBlock<2>(D, D));
    head = register_module("head", Conv2d(Conv2dOptions(w[0], 1, 1)));
    memoryIn = register_module("memory_in", Linear(D + 1, D));
    objectHidden = register_module("object_hidden", Linear(2 * D, D));
    objectOut = register_module("object_out", Linear(D, 2));
}

torch::Tensor SliceNetImpl::Encoded::descriptor() const { return skips.back().mean({2, 3}); }

SliceNetImpl::Encoded SliceNetImpl::encode(const torch::Tensor& input) {
    Encoded e;
    auto x = input;
    for (std::size_t l = 0; l < down->size(); ++l) {
        if (l > 0) x = F::max_pool2d(x, F::MaxPool2dFuncOptions(2));
        x = down[l]->as<ResidualBlockImpl<2>>()->forward(x);
        e.skips.push_back(x);
    }
    return e;
}

SliceNetImpl::Output SliceNetImpl::decode(const Encoded& e, const std::vector<SliceNetReads>& readsOf) {
    auto x = e.skips.back();
    const auto B = x.size(0), D = x.size(1), s = x.size(2);
    std::vector<torch::Tensor> rows;
    for (std::int64_t b = 0; b < B; ++b) {
        const auto& r = readsOf[static_cast<std::size_t>(b)];
        auto row = x[b];  // [D, s, s]
        if (!r.longTerm.empty() || !r.shortTerm.empty()) {
            const auto query = row.flatten(1).transpose(0, 1);  // [s*s, D]
            const auto pos = cellOffsetsMm(r.crop, s).to(x.device());
            auto read = torch::zeros_like(query);
            if (!r.longTerm.empty())
                read =
                    read + memoryReads[0]->as<MemoryRead>()->forward(query, pos, r.longTerm, r.crop, r.slice);
            if (!r.shortTerm.empty())
                read = read +
                       memoryReads[1]->as<MemoryRead>()->forward(query, pos, r.shortTerm, r.crop, r.slice);
            row = row + read.transpose(0, 1).reshape({D, s, s});
        }
        rows.push_back(row);
    }
    x = mixer[0]->as<ResidualBlockImpl<2>>()->forward(torch::stack(rows));
    Output out;
    out.bottleneck = x;
    const auto pooled = torch::cat({x.mean({2, 3}), x.amax({2, 3})}, 1);
    const auto heads =
        objectOut(F::leaky_relu(objectHidden(pooled), F::LeakyReLUFuncOptions().negative_slope(0.1)));
    out.object = heads.select(1, 0);
    out.iou = torch::sigmoid(heads.select(1, 1));
    for (std::size_t i = 0; i < up->size(); ++i) {
        x = up[i]->as<torch::nn::ConvTranspose2d>()->forward(x);
        x = decoders[i]->as<ResidualBlockImpl<2>>()->forward(
            torch::cat({x, e.skips[e.skips.size() - 2 - i]}, 1));
    }
    out.logits = head(x);
    return out;
}

SliceNetMemory SliceNetImpl::encodeMemory(const torch::Tensor& bottleneck, const torch::Tensor& probability,
                                          const PlaneCrop& crop, std::int64_t slice) {
    const auto s = bottleneck.size(1);
    const auto mask = F::adaptive_avg_pool2d(probability.unsqueeze(0).unsqueeze(0),
                                             F::AdaptiveAvgPool2dFuncOptions({s, s}))[0];  // [1, s, s]
    SliceNetMemory m;
    m.tokens = memoryIn(torch::cat({bottleneck, mask}).flatten(1).transpose(0, 1));  // [s*s, D]
    // Plane millimetres of the cells' centres.
    auto pos = torch::empty({s * s, 2});
    float* p = pos.data_ptr<float>();
    const double cell = double(crop.size) / double(s);
    for (std::int64_t y = 0; y < s; ++y)
        for (std::int64_t x = 0; x < s; ++x, p += 2) {
            const auto rc = crop.toPlane((double(x) + 0.5) * cell - 0.5, (double(y) + 0.5) * cell - 0.5);
            p[0] = float(rc[0] * crop.rowMm);
            p[1] = float(rc[1] * crop.columnMm);
        }
    m.positions = pos.to(bottleneck.device());
    m.slice = slice;
    return m;
}

// ------------------------------------------------------------------------------------------ model files

bool isSliceNetFile(const std::string& path) { return modelFamily(path) == "slicenet"; }

SliceNetModel SliceNetModel::create(const SliceNetConfig& config) {
    SliceNetModel m;
    m.config = config;
    m.net = SliceNet(config);
    return m;
}

SliceNetModel SliceNetModel::load(const std::string& path) {
    return loadFamilyModel<SliceNetModel>(path, "slicenet");
}

void SliceNetModel::save(const std::string& path, const std::map<std::string, torch::Tensor>& extraTensors,
                         const std::map<std::string, std::string>& extraMetadata, bool half) const {
    saveFamilyFile(*net, path, "engram-propagator/1", "slicenet", config.toJson(), extraTensors,
                   extraMetadata, half);
}

// ------------------------------------------------------------------------------------------ propagation

namespace {

// The self-sorting bank of Propagation.h on slicenet memories.
class SortedBank {
  public:
    SortedBank(int capacity, double admissionIou) : capacity_(capacity), admissionIou_(admissionIou) {}
    void offer(const SliceNetMemory& m) {
        if (!m.present || m.iou < admissionIou_) return;
        if (int(entries_.size()) < capacity_) {
            entries_.push_back(m);
            return;
        }
        std::size_t most = 0;
        float best = -2;
        for (std::size_t i = 0; i < entries_.size(); ++i) {
            const float sim = similarity(entries_[i].descriptor, m.descriptor);
            if (sim > best) best = sim, most = i;
        }
        entries_[most] = m;
    }
    // The `count` entries most similar to `descriptor`, oldest slice first.
    std::vector<const SliceNetMemory*> choose(const torch::Tensor& descriptor, int count) const {
        std::vector<std::pair<float, const SliceNetMemory*>> ranked;
        for (const auto& e : entries_) ranked.emplace_back(similarity(e.descriptor, descriptor), &e);
        std::sort(ranked.begin(), ranked.end(),
                  [](const auto& a, const auto& b) { return a.first > b.first; });
        if (int(ranked.size()) > count) ranked.resize(std::size_t(count));
        std::vector<const SliceNetMemory*> out;
        for (const auto& r : ranked) out.push_back(r.second);
        return out;
    }
    std::size_t size() const { return entries_.size(); }

  private:
    static float similarity(const torch::Tensor& a, const torch::Tensor& b) {
        return torch::cosine_similarity(a, b, 0).item<float>();
    }
    int capacity_;
    double admissionIou_;
    std::vector<SliceNetMemory> entries_;
};

}  // namespace

PropagationResult propagateWithSliceNet(SliceNetImpl& net, const VolumeView& volume,
                                        const std::map<std::int64_t, const SlicePrompt*>& promptAt,
                                        const PropagationOptions& o) {
    const auto& c = net.config;
    const auto device = net.parameters().front().device();
    const auto plane = SlicePlane::of(volume.size, o.axis);
    const auto slices = volume.size[std::size_t(o.axis)];
    const double rowMm = volume.spacing[o.axis == 2 ? 1 : 2], columnMm = volume.spacing[o.axis == 0 ? 1 : 0];
    const std::int64_t total = volume.size[0] * volume.size[1] * volume.size[2];
    const auto scale = IntensityScale::of(volume.voxels, total);
    const bool shortLong = o.memory == PropagationMemory::ShortLong;
    const auto planeSize = static_cast<std::size_t>(plane.rows * plane.columns);
    torch::NoGradGuard noGrad;

    PropagationResult result;
    result.mask.assign(std::size_t(total), 0);
    result.objectProbability.assign(std::size_t(slices), -1.f);
    result.predictedIou.assign(std::size_t(slices), -1.f);
    auto checkCancel = [&] {
        if (o.cancelFlag && o.cancelFlag->load()) throw Cancelled();
    };
    const auto firstPrompt = promptAt.begin()->first, lastPrompt = promptAt.rbegin()->first;
    int toDo = 0, done = 0;
    if (o.forward) toDo += int(slices - firstPrompt);
    if (o.backward) toDo += int(lastPrompt + 1);
    auto advance = [&] {
        ++done;
        if (o.progress) o.progress(done, toDo);
    };
    auto writePlane = [&](std::int64_t s, const std::vector<float>& prob) {
        for (std::int64_t r = 0; r < plane.rows; ++r)
            for (std::int64_t col = 0; col < plane.columns; ++col)
                result.mask[std::size_t(plane.voxelIndex(volume.size, s, r, col))] =
                    prob[std::size_t(r * plane.columns + col)] > 0.5f;
    };
    auto input = [&](const PlaneCrop& crop, std::int64_t t, std::int64_t previousSlice,
                     const std::vector<float>& previous) {
        const auto image = sliceChannels(crop, volume.voxels, volume.size, plane, t, scale);
        const auto before = sliceChannels(crop, volume.voxels, volume.size, plane, previousSlice, scale)[0];
        const auto prev =
            torch::from_blob(const_cast<float*>(previous.data()), {1, crop.size, crop.size}).clone();
        return torch::cat({image, before.unsqueeze(0), prev}).unsqueeze(0).to(device);
    };

    // Prompt memories, computed once for both directions; each prompt as a crop and its mask on it.
    struct PromptState {
        PlaneCrop crop;
        std::vector<float> mask;
        PlaneBox box;  // of `mask` on `crop`: the first tracked slice's crop comes from it
        SliceNetMemory memory;
    };
    std::map<std::int64_t, PromptState> prompts;
    for (const auto& [s, p] : promptAt) {
        checkCancel();
        PromptState st;
        const auto& promptMask = p->mask;  // a lambda cannot capture a structured binding in C++17 (clang)
        st.crop = cropAround(boxOf(promptMask, plane.columns), c, rowMm, columnMm);
        st.mask = samplePlane(
            st.crop, plane.rows, plane.columns,
            [&](std::int64_t r, std::int64_t col) {
                return promptMask[std::size_t(r * plane.columns + col)] ? 1.f : 0.f;
            },
            0.f);
        st.box = boxOf(st.crop, st.mask.data(), plane.rows, plane.columns);
        const auto encoded = net.encode(input(st.crop, s, s, st.mask));
        const auto out = net.decode(encoded, {SliceNetReads{{}, {}, st.crop, s}});
        st.memory = net.encodeMemory(out.bottleneck[0],
                                     torch::from_blob(st.mask.data(), {c.cropSize, c.cropSize}).to(device),
                                     st.crop, s);
        st.memory.descriptor = encoded.descriptor()[0];
        st.memory.prompt = true;
        for (std::int64_t r = 0; r < plane.rows; ++r)
            for (std::int64_t col = 0; col < plane.columns; ++col)
                result.mask[std::size_t(plane.voxelIndex(volume.size, s, r, col))] =
                    p->mask[std::size_t(r * plane.columns + col)] != 0;
        result.objectProbability[std::size_t(s)] = 1;
        result.predictedIou[std::size_t(s)] = 1;
        prompts.emplace(s, std::move(st));
    }
    std::vector<const SliceNetMemory*> promptMemories;
    for (const auto& [s, st] : prompts) promptMemories.push_back(&st.memory);

    std::map<std::int64_t, std::vector<float>> between;  // forward probabilities between prompts
    auto pass = [&](int dir) {
        const auto begin = dir > 0 ? firstPrompt : lastPrompt;
        PlaneCrop previousCrop = prompts.at(begin).crop;
        std::vector<float> previous = prompts.at(begin).mask;
        PlaneBox previousBox = prompts.at(begin).box;  // of `previous` above 0.5, on the plane
        std::deque<SliceNetMemory> recent;
        SortedBank bank(o.capacity, o.admissionIou);
        int absent = 0;
        for (std::int64_t t = begin; t >= 0 && t < slices; t += dir) {
            checkCancel();
            if (const auto it = prompts.find(t); it != prompts.end()) {
                previousCrop = it->second.crop;
                previous = it->second.mask;
                previousBox = it->second.box;
                absent = 0;
                advance();
                continue;
            }
            const PlaneCrop crop =
                previousBox.empty() ? previousCrop : cropAround(previousBox, c, rowMm, columnMm);
            const auto encoded =
                net.encode(input(crop, t, t - dir, resampleCrop(previousCrop, previous.data(), crop)));
            SliceNetReads reads{promptMemories, {}, crop, t};
            const int shortCount = shortLong ? std::max(1, o.shortTermSlices) : 0;
            const int longCount = shortLong ? 0 : c.recentSlices;
            std::vector<const SliceNetMemory*> chosen;
            const auto descriptor = encoded.descriptor()[0];
            if (o.selfSorting) chosen = bank.choose(descriptor, c.recentSlices);
            for (auto it = recent.rbegin(); it != recent.rend(); ++it) {
                if (int(reads.shortTerm.size()) < shortCount)
                    reads.shortTerm.insert(reads.shortTerm.begin(), &*it);
                else if (!o.selfSorting && int(chosen.size()) < longCount)
                    chosen.insert(chosen.begin(), &*it);
            }
            reads.longTerm.insert(reads.longTerm.end(), chosen.begin(), chosen.end());
            const auto out = net.decode(encoded, {reads});
            const auto probability = torch::sigmoid(out.logits[0][0]);
            const float objectProbability = torch::sigmoid(out.object[0]).item<float>();
            const float iou = out.iou[0].item<float>();
            ++result.slicesSegmented;
            const auto cpu = probability.to(torch::kCPU).contiguous();
            std::vector<float> prob(cpu.data_ptr<float>(), cpu.data_ptr<float>() + cpu.numel());
            const auto box = boxOf(crop, prob.data(), plane.rows, plane.columns);
            const bool present = objectProbability >= float(c.objectThreshold) && !box.empty();

            // The crop's probabilities on the plane (zero where the object score says absent).
            std::vector<float> onPlane(planeSize, 0.f);
            if (present) {
                std::array<double, 4> lim{1e300, -1e300, 1e300, -1e300};  // the crop's footprint
                for (int corner = 0; corner < 4; ++corner) {
                    const auto p = crop.toPlane(corner & 1 ? double(crop.size) - 0.5 : -0.5,
                                                corner & 2 ? double(crop.size) - 0.5 : -0.5);
                    lim[0] = std::min(lim[0], p[0]);
                    lim[1] = std::max(lim[1], p[0]);
                    lim[2] = std::min(lim[2], p[1]);
                    lim[3] = std::max(lim[3], p[1]);
                }
                const auto r0 = std::max<std::int64_t>(0, std::int64_t(std::floor(lim[0])));
                const auto r1 = std::min<std::int64_t>(plane.rows - 1, std::int64_t(std::ceil(lim[1])));
                const auto c0 = std::max<std::int64_t>(0, std::int64_t(std::floor(lim[2])));
                const auto c1 = std::min<std::int64_t>(plane.columns - 1, std::int64_t(std::ceil(lim[3])));
                for (std::int64_t r = r0; r <= r1; ++r)
                    for (std::int64_t col = c0; col <= c1; ++col)
                        if (const auto v = cropValue(crop, prob.data(), double(r), double(col)))
                            onPlane[std::size_t(r * plane.columns + col)] = *v;
            }
            const bool isBetween = t > firstPrompt && t < lastPrompt;
            if (isBetween && dir > 0 && o.backward) {
                between[t] = onPlane;
            } else {
                if (isBetween && dir < 0 && between.count(t))
                    for (std::size_t i = 0; i < planeSize; ++i) onPlane[i] = (onPlane[i] + between[t][i]) / 2;
                writePlane(t, onPlane);
            }
            auto& slot = result.objectProbability[std::size_t(t)];
            slot = std::max(slot, objectProbability);
            result.predictedIou[std::size_t(t)] = std::max(result.predictedIou[std::size_t(t)], iou);

            auto memory = net.encodeMemory(out.bottleneck[0], probability, crop, t);
            memory.descriptor = descriptor;
            memory.present = present;
            memory.iou = iou;
            if (o.selfSorting) bank.offer(memory);
            recent.push_back(std::move(memory));
            while (int(recent.size()) > std::max(c.recentSlices, std::max(1, o.shortTermSlices)))
                recent.pop_front();
            result.peakStoredMemories =
                std::max(result.peakStoredMemories, int(recent.size() + bank.size() + prompts.size()));
            previousCrop = crop;
            previous = std::move(prob);
            previousBox = box;
            advance();

            const bool beyond = dir > 0 ? t > lastPrompt : t < firstPrompt;
            absent = present ? 0 : absent + 1;
            if (beyond && absent >= o.absentSlicesToStop) break;
        }
    };
    if (o.forward) pass(+1);
    if (o.backward) pass(-1);
    return result;
}

}  // namespace engram::model
