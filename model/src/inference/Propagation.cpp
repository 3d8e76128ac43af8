#include <engram/model/inference/Propagation.h>
#include <engram/model/inference/SliceTracking.h>
#include <engram/model/networks/Sam2.h>
#include <engram/model/networks/SliceNet.h>

#include <spdlog/spdlog.h>
#include <torch/cuda.h>
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <map>

namespace engram::model {

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

std::vector<std::uint8_t> SlicePlane::maskOf(const std::uint8_t* labels,
                                             const std::array<std::int64_t, 3>& size, std::int64_t slice,
                                             int label) const {
    std::vector<std::uint8_t> m(std::size_t(rows * columns));
    for (std::int64_t r = 0; r < rows; ++r)
        for (std::int64_t c = 0; c < columns; ++c)
            m[std::size_t(r * columns + c)] = labels[voxelIndex(size, slice, r, c)] == label;
    return m;
}

namespace {

// The slices with the target, the time since `start`, and the propagator's notice before the run's own.
void finish(PropagationResult& result, const VolumeView& volume, const SlicePlane& plane,
            std::chrono::steady_clock::time_point start, const std::string& notice) {
    const auto slices = volume.size[std::size_t(plane.axis)];
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
    if (!notice.empty()) result.notice = result.notice.empty() ? notice : notice + " " + result.notice;
}

}  // namespace

struct SlicePropagator::Impl {
    Sam2 net{nullptr};           // the SAM 2 family
    SliceNet sliceNet{nullptr};  // or the slicenet family
    torch::Device device{torch::kCPU};
    std::string notice;
};

SlicePropagator::SlicePropagator(const std::string& modelPath, const std::string& device)
    : impl_(std::make_unique<Impl>()) {
    if (device == "cuda") {
        if (torch::cuda::is_available())
            impl_->device = torch::Device(torch::kCUDA);
        else
            impl_->notice = "No CUDA GPU is available; propagation runs on the CPU.";
    }
    if (isSliceNetFile(modelPath)) {
        impl_->sliceNet = SliceNetModel::load(modelPath).net;
        impl_->sliceNet->to(impl_->device);
        spdlog::info("slice propagator: {} (slicenet, {} px crops) on {}", modelPath,
                     impl_->sliceNet->config.cropSize, impl_->device.str());
        return;
    }
    impl_->net = loadSam2(modelPath);
    const auto& config = impl_->net->config;
    impl_->net->eval();
    impl_->net->to(impl_->device);
    spdlog::info("slice propagator: {} ({} px, short-term memory {}) on {}", modelPath, config.imageSize,
                 config.slm ? "yes" : "no", impl_->device.str());
}

SlicePropagator::~SlicePropagator() = default;

bool SlicePropagator::hasShortTermMemory() const { return impl_->sliceNet || impl_->net->config.slm; }
int SlicePropagator::imageSize() const {
    return impl_->sliceNet ? impl_->sliceNet->config.cropSize : impl_->net->config.imageSize;
}
std::string SlicePropagator::device() const { return impl_->device.str(); }

PropagationResult SlicePropagator::propagate(const VolumeView& volume,
                                             const std::vector<SlicePrompt>& prompts,
                                             const PropagationOptions& o) {
    const auto start = std::chrono::steady_clock::now();
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
    if (impl_->sliceNet) {
        auto result = propagateWithSliceNet(*impl_->sliceNet, volume, promptAt, o);
        finish(result, volume, plane, start, impl_->notice);
        return result;
    }
    auto& net = impl_->net;
    const auto& c = net->config;
    const bool shortLong = o.memory == PropagationMemory::ShortLong && c.slm;
    PropagationResult result;
    if (o.memory == PropagationMemory::ShortLong && !c.slm)
        result.notice = "This propagation model has no short-term memory; plain SAM 2 memory is used.";

    const auto window = o.window ? *o.window : percentileWindow(volume);
    const auto lo = window.first, hi = window.second;  // not a structured binding: lambdas below use them
    const std::int64_t total = volume.size[0] * volume.size[1] * volume.size[2];

    torch::NoGradGuard noGrad;
    const auto S = c.imageSize;
    const auto& device = impl_->device;
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
        const auto frame = encodeFrame(*net, sliceImage(volume, plane, s, lo, hi, S, device));
        promptMemories[s] = promptMemory(*net, frame, sliceMask(p->mask.data(), plane, S, device), s);
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
            const auto frame = encodeFrame(*net, sliceImage(volume, plane, t, lo, hi, S, device));
            const auto chosen = o.selfSorting ? bank.choose(frame.descriptor, t, c.numMaskmem)
                                              : chooseRecent(recent, t, dir, c.numMaskmem);
            auto tracked = trackSlice(*net, frame, t, dir, promptMemories, chosen, recent,
                                      shortLong ? o.shortTermSlices : 0, maxPtrs);
            const auto& heads = tracked.heads;
            const float objectProbability = heads.objectScoreLogits.sigmoid().item<float>();
            const bool present = tracked.memory.present;
            const float iou = tracked.memory.iou;
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

            auto& m = tracked.memory;
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

    finish(result, volume, plane, start, impl_->notice);
    return result;
}

}  // namespace engram::model
