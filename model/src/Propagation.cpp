#include <engram/model/Propagation.h>
#include <engram/model/SafeTensors.h>
#include <engram/model/Sam2.h>
#include <engram/model/SliceMemory.h>
#include <engram/model/StateDict.h>

#include <spdlog/spdlog.h>
#include <torch/cuda.h>
#include <torch/nn/functional.h>
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <map>
#include <tuple>

namespace engram::model {

namespace F = torch::nn::functional;

SlicePlane SlicePlane::of(const std::array<std::int64_t, 3>& size, int axis) {
    if (axis < 0 || axis > 2) throw std::invalid_argument("the slice axis must be 0, 1 or 2");
    SlicePlane p;
    p.axis = axis;
    p.columns = size[axis == 0 ? 1 : 0];
    p.rows = size[axis == 2 ? 1 : 2];
    return p;
}

std::int64_t SlicePlane::voxelIndex(const std::array<std::int64_t, 3>& size, std::int64_t slice,
                                    std::int64_t row, std::int64_t column) const {
    std::array<std::int64_t, 3> ijk{};
    ijk[std::size_t(axis)] = slice;
    ijk[axis == 0 ? 1 : 0] = column;
    ijk[axis == 2 ? 1 : 2] = row;
    return ijk[0] + size[0] * (ijk[1] + size[1] * ijk[2]);
}

namespace {

torch::Tensor flattenTokens(const torch::Tensor& map) {
    return map.flatten(2).permute({2, 0, 1});
}  // [N, 1, C]

// SAM 2's temporal encoding of object pointers: sin and cos halves (not interleaved).
torch::Tensor sine1d(const torch::Tensor& positions, int dim) {
    const int half = dim / 2;
    const auto k = torch::arange(half, positions.options());
    const auto dimT = torch::pow(10000.0, 2 * torch::floor(k / 2) / half);
    const auto a = positions.unsqueeze(-1) / dimT;
    return torch::cat({a.sin(), a.cos()}, -1);
}

}  // namespace

struct SlicePropagator::Impl {
    Sam2 net{nullptr};
    torch::Device device{torch::kCPU};
    std::string notice;

    struct Frame {
        BackboneOutput backbone;  // with conv_s0 / conv_s1 applied to the high-resolution levels
        torch::Tensor raw;        // stride-16 features before memory conditioning [1, C, G, G]
    };

    Frame encode(const torch::Tensor& image) {
        Frame f;
        f.backbone = net->encodeImage(image);
        f.raw = f.backbone.visionFeatures();
        return f;
    }

    // The prompt slice: its mask is the output (SAM 2's use_mask_input_as_output), its memory and object
    // pointer come from it.
    SliceMemory promptMemory(const Frame& f, const torch::Tensor& mask, std::int64_t slice) {
        const auto high = mask * 20.0 - 10.0;
        const auto present = mask.flatten(1).gt(0).any(1, true).to(mask.dtype());  // [1, 1]
        const auto heads = net->samHeads(f.raw, torch::Tensor(), torch::Tensor(), net->mask_downsample(mask),
                                         f.backbone.backboneFpn[0], f.backbone.backboneFpn[1], false);
        // The object pointer of the decoder, blended with the no-object one by the mask's own presence.
        const auto token = heads.objPtr;
        SliceMemory m;
        m.slice = slice;
        const auto score = present * 20.0 - 10.0;
        m.objPtr = present * token + (1 - present) * net->no_obj_ptr;
        const auto memory = net->encodeMemory(f.raw, high, score, false);
        m.features = memory.features;
        m.posEnc = memory.posEnc;
        m.descriptor = F::adaptive_avg_pool2d(f.raw, F::AdaptiveAvgPool2dFuncOptions(4)).flatten();
        return m;
    }
};

SlicePropagator::SlicePropagator(const std::string& modelPath, const std::string& device)
    : impl_(std::make_unique<Impl>()) {
    const SafeTensorsFile file(modelPath);
    const auto cfg = file.metadata().find("config");
    if (cfg == file.metadata().end())
        throw WeightsError("Model " + modelPath +
                           " has no 'config' metadata: not an Engram SAM 2 model file.");
    Sam2Config config;
    try {
        config = Sam2Config::fromJson(cfg->second);
    } catch (const std::invalid_argument& e) {
        throw WeightsError("Model " + modelPath + ": " + e.what());
    }
    const std::string prefix = file.contains("model.image_encoder.trunk.pos_embed") ? "model." : "";
    // A file without the short-term attention is plain SAM 2.
    config.slm = file.contains(prefix + "slm_memory_attention.norm.weight");
    impl_->net = Sam2(config);
    loadStateDict(*impl_->net, file, prefix);
    impl_->net->eval();
    if (device == "cuda") {
        if (torch::cuda::is_available())
            impl_->device = torch::Device(torch::kCUDA);
        else
            impl_->notice = "No CUDA GPU is available; propagation runs on the CPU.";
    }
    impl_->net->to(impl_->device);
    spdlog::info("slice propagator: {} ({} px, short-term memory {}) on {}", modelPath, config.imageSize,
                 config.slm ? "yes" : "no", impl_->device.str());
}

SlicePropagator::~SlicePropagator() = default;

bool SlicePropagator::hasShortTermMemory() const { return impl_->net->config.slm; }
int SlicePropagator::imageSize() const { return impl_->net->config.imageSize; }
std::string SlicePropagator::device() const { return impl_->device.str(); }

PropagationResult SlicePropagator::propagate(const VolumeView& volume,
                                             const std::vector<SlicePrompt>& prompts,
                                             const PropagationOptions& o) {
    const auto start = std::chrono::steady_clock::now();
    auto& net = impl_->net;
    const auto& c = net->config;
    if (!volume.voxels || volume.size[0] < 1 || volume.size[1] < 1 || volume.size[2] < 1)
        throw std::invalid_argument("No volume to propagate in.");
    const auto plane = SlicePlane::of(volume.size, o.axis);
    const auto slices = volume.size[std::size_t(o.axis)];
    if (prompts.empty()) throw std::invalid_argument("Propagation needs a mask on at least one slice.");
    std::map<std::int64_t, const SlicePrompt*> promptAt;
    for (const auto& p : prompts) {
        if (p.slice < 0 || p.slice >= slices)
            throw std::invalid_argument("Slice " + std::to_string(p.slice) + " is outside the volume (0.." +
                                        std::to_string(slices - 1) + ").");
        if (std::int64_t(p.mask.size()) != plane.rows * plane.columns)
            throw std::invalid_argument("The mask of slice " + std::to_string(p.slice) +
                                        " does not match the slice size.");
        if (std::none_of(p.mask.begin(), p.mask.end(), [](std::uint8_t v) { return v != 0; }))
            throw std::invalid_argument("The mask on slice " + std::to_string(p.slice) +
                                        " is empty: draw the structure on it first.");
        promptAt[p.slice] = &p;
    }
    const bool shortLong = o.memory == PropagationMemory::ShortLong && c.slm;
    PropagationResult result;
    if (o.memory == PropagationMemory::ShortLong && !c.slm)
        result.notice = "This propagation model has no short-term memory; plain SAM 2 memory is used.";

    // Intensity window.
    const std::int64_t total = volume.size[0] * volume.size[1] * volume.size[2];
    double lo, hi;
    if (o.window) {
        std::tie(lo, hi) = *o.window;
    } else {
        const std::int64_t step = std::max<std::int64_t>(1, total / 1000000);
        std::vector<float> sample;
        for (std::int64_t v = 0; v < total; v += step) sample.push_back(volume.voxels[v]);
        auto at = [&](double q) {
            auto nth = sample.begin() + std::ptrdiff_t(q * double(sample.size() - 1));
            std::nth_element(sample.begin(), nth, sample.end());
            return double(*nth);
        };
        lo = at(0.005);
        hi = at(0.995);
    }
    if (!(hi > lo)) hi = lo + 1;

    torch::NoGradGuard noGrad;
    const auto S = c.imageSize;
    const auto opts = torch::TensorOptions().dtype(torch::kFloat32);
    const auto mean = torch::tensor({0.485f, 0.456f, 0.406f}).view({1, 3, 1, 1}).to(impl_->device);
    const auto stdev = torch::tensor({0.229f, 0.224f, 0.225f}).view({1, 3, 1, 1}).to(impl_->device);
    auto resize = [&](const torch::Tensor& x, std::int64_t h, std::int64_t w) {
        return F::interpolate(x, F::InterpolateFuncOptions()
                                     .size(std::vector<std::int64_t>{h, w})
                                     .mode(torch::kBilinear)
                                     .align_corners(false));
    };
    auto sliceImage = [&](std::int64_t s) {
        auto img = torch::empty({plane.rows, plane.columns}, opts);
        auto* out = img.data_ptr<float>();
        for (std::int64_t r = 0; r < plane.rows; ++r)
            for (std::int64_t col = 0; col < plane.columns; ++col)
                out[r * plane.columns + col] = volume.voxels[plane.voxelIndex(volume.size, s, r, col)];
        img = ((img - lo) / (hi - lo)).clamp(0, 1).to(impl_->device);
        img = resize(img.view({1, 1, plane.rows, plane.columns}), S, S).expand({1, 3, S, S});
        return (img - mean) / stdev;
    };
    auto promptMask = [&](const SlicePrompt& p) {
        auto m = torch::from_blob(const_cast<std::uint8_t*>(p.mask.data()), {1, 1, plane.rows, plane.columns},
                                  torch::kUInt8)
                     .to(torch::kFloat32)
                     .gt(0)
                     .to(torch::kFloat32)
                     .to(impl_->device);
        return resize(m, S, S).ge(0.5).to(torch::kFloat32);
    };
    auto toPlane = [&](const torch::Tensor& highRes) {  // [1, 1, S, S] logits -> plane probabilities
        return resize(highRes, plane.rows, plane.columns).sigmoid()[0][0].to(torch::kCPU).contiguous();
    };
    auto checkCancel = [&] {
        if (o.cancelFlag && o.cancelFlag->load()) throw Cancelled();
    };

    result.mask.assign(std::size_t(total), 0);
    result.objectProbability.assign(std::size_t(slices), -1.f);
    result.predictedIou.assign(std::size_t(slices), -1.f);
    const auto firstPrompt = promptAt.begin()->first, lastPrompt = promptAt.rbegin()->first;
    // Probabilities of the slices between prompts from the forward pass, for the mean with the backward one.
    std::map<std::int64_t, torch::Tensor> between;

    int toDo = 0;
    if (o.forward) toDo += int(slices - firstPrompt);
    if (o.backward) toDo += int(lastPrompt + 1);
    int done = 0;
    auto advance = [&] {
        ++done;
        if (o.progress) o.progress(done, toDo);
    };

    auto write = [&](std::int64_t s, const torch::Tensor& prob) {
        const auto* p = prob.data_ptr<float>();
        for (std::int64_t r = 0; r < plane.rows; ++r)
            for (std::int64_t col = 0; col < plane.columns; ++col)
                result.mask[std::size_t(plane.voxelIndex(volume.size, s, r, col))] =
                    p[r * plane.columns + col] > 0.5f;
    };

    // Prompt memories are computed once and used by both directions.
    std::map<std::int64_t, SliceMemory> promptMemories;
    for (const auto& [s, p] : promptAt) {
        checkCancel();
        const auto frame = impl_->encode(sliceImage(s));
        promptMemories[s] = impl_->promptMemory(frame, promptMask(*p), s);
        for (std::int64_t r = 0; r < plane.rows; ++r)
            for (std::int64_t col = 0; col < plane.columns; ++col)
                result.mask[std::size_t(plane.voxelIndex(volume.size, s, r, col))] =
                    p->mask[std::size_t(r * plane.columns + col)] != 0;
        result.objectProbability[std::size_t(s)] = 1;
        result.predictedIou[std::size_t(s)] = 1;
    }

    const int maxPtrs = int(std::min<std::int64_t>(slices, c.maxObjPtrsInEncoder));
    auto pass = [&](int dir) {
        std::map<std::int64_t, SliceMemory> recent;  // non-prompt memories still reachable
        SelfSortingBank bank(o.capacity, o.admissionIou);
        int absent = 0;
        const auto begin = dir > 0 ? firstPrompt : lastPrompt;
        for (std::int64_t t = begin; t >= 0 && t < slices; t += dir) {
            checkCancel();
            if (promptAt.count(t)) {
                absent = 0;
                advance();
                continue;
            }
            const auto frame = impl_->encode(sliceImage(t));
            const auto descriptor =
                F::adaptive_avg_pool2d(frame.raw, F::AdaptiveAvgPool2dFuncOptions(4)).flatten();

            // Spatial memories: prompts (temporal slot 0), then the chosen earlier slices.
            std::vector<torch::Tensor> memory, memoryPos, shortMemory, shortPos;
            auto add = [&](const SliceMemory& m, int tpos, std::vector<torch::Tensor>& to,
                           std::vector<torch::Tensor>& toPos) {
                to.push_back(flattenTokens(m.features));
                toPos.push_back(flattenTokens(m.posEnc) + net->maskmem_tpos_enc[c.numMaskmem - tpos - 1]);
            };
            for (const auto& [s, m] : promptMemories) add(m, 0, memory, memoryPos);
            const auto chosen = o.selfSorting ? bank.choose(descriptor, t, c.numMaskmem)
                                              : chooseRecent(recent, t, dir, c.numMaskmem);
            for (const auto& [tpos, m] : chosen) add(*m, tpos, memory, memoryPos);
            if (shortLong)
                for (int k = 1; k <= o.shortTermSlices; ++k) {
                    const auto it = recent.find(t - dir * k);
                    if (it != recent.end()) add(it->second, c.numMaskmem - k, shortMemory, shortPos);
                }

            // Object pointers: prompts in the past of this direction, then the latest slices.
            std::vector<torch::Tensor> pointers;
            std::vector<float> positions;
            for (const auto& [s, m] : promptMemories)
                if ((dir > 0 && s <= t) || (dir < 0 && s >= t)) {
                    pointers.push_back(m.objPtr);
                    positions.push_back(float((t - s) * dir));
                }
            for (int d = 1; d < maxPtrs; ++d) {
                const auto it = recent.find(t - dir * d);
                if (it != recent.end()) {
                    pointers.push_back(it->second.objPtr);
                    positions.push_back(float(d));
                }
            }
            std::int64_t pointerTokens = 0;
            auto appendPointers = [&](std::vector<torch::Tensor>& to, std::vector<torch::Tensor>& toPos) {
                if (pointers.empty()) return;
                const auto split = c.dModel / c.memDim;
                auto ptrs = torch::stack(pointers, 0);  // [P, 1, C]
                auto pos = net->obj_ptr_tpos_proj(sine1d(
                    torch::tensor(positions, opts).to(impl_->device) / double(std::max(1, maxPtrs - 1)),
                    c.dModel));  // [P, memDim]
                ptrs = ptrs.reshape({-1, 1, split, c.memDim}).permute({0, 2, 1, 3}).flatten(0, 1);
                to.push_back(ptrs);
                toPos.push_back(pos.unsqueeze(1).repeat_interleave(split, 0));
                pointerTokens = ptrs.size(0);
            };
            appendPointers(memory, memoryPos);

            const auto curr = flattenTokens(frame.raw),
                       currPos = flattenTokens(frame.backbone.visionPosEnc.back());
            const auto G = frame.raw.size(-1);
            auto attend = [&](Sam2MemoryAttention& attention, const std::vector<torch::Tensor>& m,
                              const std::vector<torch::Tensor>& mp, std::int64_t ptrTokens) {
                return attention(curr, currPos, torch::cat(m, 0), torch::cat(mp, 0), ptrTokens)
                    .permute({1, 2, 0})
                    .reshape({1, c.dModel, G, G});
            };
            auto conditioned = attend(net->memory_attention, memory, memoryPos, pointerTokens);
            if (shortLong) {
                const auto shortTerm = shortMemory.empty()
                                           ? torch::zeros_like(conditioned)
                                           : attend(net->slm_memory_attention, shortMemory, shortPos, 0);
                conditioned = net->fuseShortTerm(conditioned, shortTerm);
            }
            const auto heads =
                net->samHeads(conditioned, torch::Tensor(), torch::Tensor(), torch::Tensor(),
                              frame.backbone.backboneFpn[0], frame.backbone.backboneFpn[1], true);
            const float objectProbability = heads.objectScoreLogits.sigmoid().item<float>();
            const bool present = heads.objectScoreLogits.item<float>() > 0;
            const float iou = heads.ious.max().item<float>();
            ++result.slicesSegmented;

            // Output: this direction's probabilities, averaged with the other direction's between prompts.
            auto prob = toPlane(heads.highResMasks);
            const bool isBetween = t > firstPrompt && t < lastPrompt;
            if (isBetween && dir > 0 && o.backward) {
                between[t] = prob;
            } else {
                if (isBetween && dir < 0 && between.count(t)) prob = (prob + between[t]) / 2;
                write(t, prob);
            }
            auto& slot = result.objectProbability[std::size_t(t)];
            slot = std::max(slot, objectProbability);
            result.predictedIou[std::size_t(t)] = std::max(result.predictedIou[std::size_t(t)], iou);

            // This slice's memory.
            SliceMemory m;
            m.slice = t;
            const auto mem = net->encodeMemory(frame.raw, heads.highResMasks, heads.objectScoreLogits, false);
            m.features = mem.features;
            m.posEnc = mem.posEnc;
            m.objPtr = heads.objPtr;
            m.descriptor = descriptor;
            m.iou = iou;
            m.present = present;
            if (o.selfSorting) bank.offer(m);
            recent[t] = std::move(m);
            // Keep only what the next slices can still reach.
            const std::int64_t reach = std::max<std::int64_t>(maxPtrs, c.numMaskmem);
            for (auto it = recent.begin(); it != recent.end();)
                it = std::abs(it->first - t) >= reach ? recent.erase(it) : std::next(it);
            result.peakStoredMemories =
                std::max(result.peakStoredMemories,
                         int(recent.size() + bank.entries().size() + promptMemories.size()));
            advance();

            // Stop once the target has been absent long enough beyond the prompts.
            const bool beyond = dir > 0 ? t > lastPrompt : t < firstPrompt;
            absent = present ? 0 : absent + 1;
            if (beyond && absent >= o.absentSlicesToStop) break;
        }
    };
    if (o.forward) pass(+1);
    if (o.backward) pass(-1);

    for (std::int64_t s = 0; s < slices; ++s) {
        bool any = false;
        for (std::int64_t r = 0; r < plane.rows && !any; ++r)
            for (std::int64_t col = 0; col < plane.columns && !any; ++col)
                any = result.mask[std::size_t(plane.voxelIndex(volume.size, s, r, col))] != 0;
        if (any) {
            if (result.first < 0) result.first = s;
            result.last = s;
        }
    }
    result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (!impl_->notice.empty())
        result.notice = result.notice.empty() ? impl_->notice : impl_->notice + " " + result.notice;
    return result;
}

}  // namespace engram::model
