#include <engram/model/inference/SliceTracking.h>
#include <engram/model/weights/SafeTensors.h>
#include <engram/model/weights/StateDict.h>

#include <torch/nn/functional.h>
#include <torch/torch.h>

#include <algorithm>

namespace engram::model {

namespace F = torch::nn::functional;

std::vector<ChosenMemory> chooseRecent(const std::map<std::int64_t, SliceMemory>& recent, std::int64_t t,
                                       int dir, int numMaskmem) {
    std::vector<ChosenMemory> chosen;
    for (int slot = 1; slot < numMaskmem; ++slot) {
        const auto it = recent.find(t - dir * (numMaskmem - slot));
        if (it != recent.end()) chosen.push_back({slot, &it->second});
    }
    return chosen;
}

bool SelfSortingBank::offer(const SliceMemory& m) {
    if (!m.present || m.iou < admissionIou_ || capacity_ < 1) return false;
    if (int(entries_.size()) < capacity_) {
        entries_.push_back(m);
        return true;
    }
    const auto candidate = m.features.flatten();
    std::size_t redundant = 0;
    float highest = -2;
    for (std::size_t i = 0; i < entries_.size(); ++i) {
        const float similarity =
            torch::cosine_similarity(candidate, entries_[i].features.flatten(), 0).item<float>();
        if (similarity > highest) {
            highest = similarity;
            redundant = i;
        }
    }
    entries_[redundant] = m;
    return true;
}

std::vector<ChosenMemory> SelfSortingBank::choose(const torch::Tensor& descriptor, std::int64_t t,
                                                  int numMaskmem) const {
    std::vector<std::pair<float, const SliceMemory*>> ranked;
    for (const auto& m : entries_)
        ranked.push_back({torch::cosine_similarity(descriptor, m.descriptor, 0).item<float>(), &m});
    std::stable_sort(ranked.begin(), ranked.end(),
                     [](const auto& a, const auto& b) { return a.first > b.first; });
    std::vector<ChosenMemory> chosen;
    for (std::size_t i = 0; i < ranked.size() && int(i) < numMaskmem - 1; ++i) {
        const auto distance = std::abs(t - ranked[i].second->slice);
        chosen.push_back(
            {int(std::clamp<std::int64_t>(numMaskmem - distance, 1, numMaskmem - 1)), ranked[i].second});
    }
    return chosen;
}

Sam2 loadSam2(const std::string& path) {
    const SafeTensorsFile file(path);
    const auto cfg = file.metadata().find("config");
    if (cfg == file.metadata().end())
        throw WeightsError("Model " + path + " has no 'config' metadata: not an Engram SAM 2 model file.");
    Sam2Config config;
    try {
        config = Sam2Config::fromJson(cfg->second);
    } catch (const std::invalid_argument& e) {
        throw WeightsError("Model " + path + ": " + e.what());
    }
    const std::string prefix = file.contains("model.image_encoder.trunk.pos_embed") ? "model." : "";
    // A file without the short-term attention is plain SAM 2.
    config.slm = file.contains(prefix + "slm_memory_attention.norm.weight");
    Sam2 net(config);
    loadStateDict(*net, file, prefix);
    return net;
}

std::pair<double, double> percentileWindow(const VolumeView& volume) {
    const std::int64_t total = volume.size[0] * volume.size[1] * volume.size[2];
    const std::int64_t step = std::max<std::int64_t>(1, total / 1000000);
    std::vector<float> sample;
    for (std::int64_t v = 0; v < total; v += step) sample.push_back(volume.voxels[v]);
    auto at = [&](double q) {
        auto nth = sample.begin() + std::ptrdiff_t(q * double(sample.size() - 1));
        std::nth_element(sample.begin(), nth, sample.end());
        return double(*nth);
    };
    const double lo = at(0.005), hi = at(0.995);
    return {lo, hi > lo ? hi : lo + 1};
}

torch::Tensor resize(const torch::Tensor& x, std::int64_t h, std::int64_t w) {
    return F::interpolate(x, F::InterpolateFuncOptions()
                                 .size(std::vector<std::int64_t>{h, w})
                                 .mode(torch::kBilinear)
                                 .align_corners(false));
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

torch::Tensor sliceImage(const VolumeView& volume, const SlicePlane& plane, std::int64_t slice, double lo,
                         double hi, int size, const torch::Device& device) {
    auto img = torch::empty({plane.rows, plane.columns}, torch::kFloat32);
    auto* out = img.data_ptr<float>();
    for (std::int64_t r = 0; r < plane.rows; ++r)
        for (std::int64_t c = 0; c < plane.columns; ++c)
            out[r * plane.columns + c] = volume.voxels[plane.voxelIndex(volume.size, slice, r, c)];
    img = ((img - lo) / (hi - lo)).clamp(0, 1).to(device);
    img = resize(img.view({1, 1, plane.rows, plane.columns}), size, size).expand({1, 3, size, size});
    const auto mean = torch::tensor({0.485f, 0.456f, 0.406f}).view({1, 3, 1, 1}).to(device);
    const auto stdev = torch::tensor({0.229f, 0.224f, 0.225f}).view({1, 3, 1, 1}).to(device);
    return (img - mean) / stdev;
}

torch::Tensor sliceMask(const std::uint8_t* mask, const SlicePlane& plane, int size,
                        const torch::Device& device) {
    auto m =
        torch::from_blob(const_cast<std::uint8_t*>(mask), {1, 1, plane.rows, plane.columns}, torch::kUInt8)
            .gt(0)
            .to(torch::kFloat32)
            .to(device);
    return resize(m, size, size).ge(0.5).to(torch::kFloat32);
}

Sam2Frame encodeFrame(Sam2Impl& net, const torch::Tensor& image) {
    Sam2Frame f;
    f.backbone = net.encodeImage(image);
    f.raw = f.backbone.visionFeatures();
    f.descriptor = F::adaptive_avg_pool2d(f.raw, F::AdaptiveAvgPool2dFuncOptions(4)).flatten().detach();
    return f;
}

SliceMemory promptMemory(Sam2Impl& net, const Sam2Frame& f, const torch::Tensor& mask, std::int64_t slice) {
    const auto high = mask * 20.0 - 10.0;
    const auto present = mask.flatten(1).gt(0).any(1, true).to(mask.dtype());  // [1, 1]
    const auto heads = net.samHeads(f.raw, torch::Tensor(), torch::Tensor(), net.mask_downsample(mask),
                                    f.backbone.backboneFpn[0], f.backbone.backboneFpn[1], false);
    SliceMemory m;
    m.slice = slice;
    // The decoder's object pointer, blended with the no-object one by the mask's own presence.
    m.objPtr = present * heads.objPtr + (1 - present) * net.no_obj_ptr;
    const auto memory = net.encodeMemory(f.raw, high, present * 20.0 - 10.0, false);
    m.features = memory.features;
    m.posEnc = memory.posEnc;
    m.descriptor = f.descriptor;
    return m;
}

TrackedSlice trackSlice(Sam2Impl& net, const Sam2Frame& frame, std::int64_t t, int dir,
                        const std::map<std::int64_t, SliceMemory>& prompts,
                        const std::vector<ChosenMemory>& chosen,
                        const std::map<std::int64_t, SliceMemory>& recent, int shortTermSlices,
                        int maxPointers) {
    const auto& c = net.config;
    std::vector<torch::Tensor> memory, memoryPos, shortMemory, shortPos;
    auto add = [&](const SliceMemory& m, int slot, std::vector<torch::Tensor>& to,
                   std::vector<torch::Tensor>& toPos) {
        to.push_back(flattenTokens(m.features));
        toPos.push_back(flattenTokens(m.posEnc) + net.maskmem_tpos_enc[c.numMaskmem - slot - 1]);
    };
    for (const auto& [s, m] : prompts) add(m, 0, memory, memoryPos);
    for (const auto& [slot, m] : chosen) add(*m, slot, memory, memoryPos);
    const bool shortLong = c.slm && shortTermSlices > 0;
    if (shortLong)
        for (int k = 1; k <= shortTermSlices; ++k) {
            const auto it = recent.find(t - dir * k);
            if (it != recent.end()) add(it->second, c.numMaskmem - k, shortMemory, shortPos);
        }

    // Object pointers: prompts behind t in this direction, then the latest slices.
    std::vector<torch::Tensor> pointers;
    std::vector<float> positions;
    for (const auto& [s, m] : prompts)
        if ((dir > 0 && s <= t) || (dir < 0 && s >= t)) {
            pointers.push_back(m.objPtr);
            positions.push_back(float((t - s) * dir));
        }
    for (int d = 1; d < maxPointers; ++d) {
        const auto it = recent.find(t - dir * d);
        if (it != recent.end()) {
            pointers.push_back(it->second.objPtr);
            positions.push_back(float(d));
        }
    }
    std::int64_t pointerTokens = 0;
    if (!pointers.empty()) {
        const auto split = c.dModel / c.memDim;
        const auto ptrs =
            torch::stack(pointers, 0).reshape({-1, 1, split, c.memDim}).permute({0, 2, 1, 3}).flatten(0, 1);
        const auto pos = net.obj_ptr_tpos_proj(
            sine1d(torch::tensor(positions).to(frame.raw.device()) / double(std::max(1, maxPointers - 1)),
                   c.dModel));
        memory.push_back(ptrs);
        memoryPos.push_back(pos.unsqueeze(1).repeat_interleave(split, 0));
        pointerTokens = ptrs.size(0);
    }

    const auto curr = flattenTokens(frame.raw), currPos = flattenTokens(frame.backbone.visionPosEnc.back());
    const auto G = frame.raw.size(-1);
    auto attend = [&](Sam2MemoryAttention& attention, const std::vector<torch::Tensor>& m,
                      const std::vector<torch::Tensor>& mp, std::int64_t ptrTokens) {
        return attention(curr, currPos, torch::cat(m, 0), torch::cat(mp, 0), ptrTokens)
            .permute({1, 2, 0})
            .reshape({1, c.dModel, G, G});
    };
    auto conditioned = attend(net.memory_attention, memory, memoryPos, pointerTokens);
    if (shortLong) {
        // No short-term memory yet (the slice next to the prompt): the fuser sees the long-term output alone.
        const auto shortTerm = shortMemory.empty()
                                   ? torch::zeros_like(conditioned)
                                   : attend(net.slm_memory_attention, shortMemory, shortPos, 0);
        conditioned = net.fuseShortTerm(conditioned, shortTerm);
    }
    TrackedSlice r;
    r.heads = net.samHeads(conditioned, torch::Tensor(), torch::Tensor(), torch::Tensor(),
                           frame.backbone.backboneFpn[0], frame.backbone.backboneFpn[1], true);
    auto& m = r.memory;
    m.slice = t;
    const auto mem = net.encodeMemory(frame.raw, r.heads.highResMasks, r.heads.objectScoreLogits, false);
    m.features = mem.features;
    m.posEnc = mem.posEnc;
    m.objPtr = r.heads.objPtr;
    m.descriptor = frame.descriptor;
    m.iou = r.heads.ious.max().item<float>();
    m.present = r.heads.objectScoreLogits.item<float>() > 0;
    return r;
}

}  // namespace engram::model
