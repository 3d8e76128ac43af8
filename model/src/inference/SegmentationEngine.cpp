#include <engram/model/inference/MaisModel.h>
#include <engram/model/inference/ModelCrop.h>
#include <engram/model/inference/SegmentationEngine.h>
#include <engram/model/networks/ClickNet.h>
#include <engram/model/weights/SafeTensors.h>

#include <c10/core/InferenceMode.h>
#include <spdlog/spdlog.h>
#include <torch/cuda.h>

#include <atomic>
#include <chrono>
#include <deque>
#include <utility>

namespace engram::model {

// ------------------------------------------------------------------------------------------------ engine

struct SegmentationEngine::Impl {
    EngineOptions options;
    MaisModel model;                        // SAM-Med3D-style files
    std::optional<ClickNetModel> clicknet;  // clicknet files
    IntensityScale scale;                   // clicknet: of the current volume
    CropOptions crop;                       // the options' override, or the model file's
    torch::Device device{torch::kCPU};
    MemoryMode mode = MemoryMode::None;
    Grid grid;
    const float* voxels = nullptr;
    std::shared_ptr<const void> owner;
    std::shared_ptr<std::atomic<bool>> cancelRequested;
    struct Cached {
        Point3 centre;
        torch::Tensor embedding;
    };
    std::deque<Cached> cache;  // most recent last
    static constexpr std::size_t kCacheSize = 4;
    torch::Tensor densePe;
    std::string notice;  // delivered with the next click outcome

    void place(const torch::Device& d) {
        device = d;
        if (clicknet) {
            clicknet->net->to(device);
            return;
        }
        model.to(device);
        c10::InferenceMode guard;
        densePe = model.sam->prompt_encoder->densePe();
        cache.clear();
    }

    void fallBackToCpu(const std::string& why) {
        spdlog::warn("{}; continuing on the CPU", why);
        notice = why + "; Engram continues on the CPU.";
        place(torch::Device(torch::kCPU));
    }

    torch::Tensor embeddingFor(const ModelCrop& at, bool& encoded) {
        const Point3 c =
            at.cropToWorld({at.options().size / 2.0, at.options().size / 2.0, at.options().size / 2.0});
        for (const auto& e : cache)
            if (std::abs(e.centre[0] - c[0]) < 1e-6 && std::abs(e.centre[1] - c[1]) < 1e-6 &&
                std::abs(e.centre[2] - c[2]) < 1e-6) {
                encoded = false;
                return e.embedding;
            }
        c10::InferenceMode guard;  // thread-local: entered on the engine's (worker's) thread
        const auto input = at.networkInput(grid, voxels).to(device);
        model.sam->image_encoder->shouldStop = [this] { return cancelRequested->load(); };
        torch::Tensor embedding;
        try {
            embedding = model.sam->image_encoder->forward(input);
        } catch (const Cancelled&) {
            *cancelRequested = false;
            throw;
        }
        encoded = true;
        cache.push_back({c, embedding});
        if (cache.size() > kCacheSize) cache.pop_front();
        return embedding;
    }
};

SegmentationEngine::SegmentationEngine(const EngineOptions& options) : impl_(std::make_unique<Impl>()) {
    impl_->options = options;
    impl_->cancelRequested =
        options.cancelFlag ? options.cancelFlag : std::make_shared<std::atomic<bool>>(false);
    if (isClickNetFile(options.weights)) {
        impl_->clicknet = ClickNetModel::load(options.weights);
        impl_->mode = options.memoryMode;
    } else {
        impl_->model = MaisModel::load(options.weights);
        impl_->crop = options.crop.value_or(impl_->model.crop);
        if (impl_->crop.size != impl_->model.config.imgSize)
            throw WeightsError("Weights " + options.weights + ": the network takes " +
                               std::to_string(impl_->model.config.imgSize) + "^3 crops, not " +
                               std::to_string(impl_->crop.size) + "^3");
        impl_->model.sam->image_encoder->mode =
            options.exactEncoder ? EncoderAttentionMode::Exact : EncoderAttentionMode::Literal;
        impl_->mode = impl_->model.memory ? options.memoryMode : MemoryMode::None;
    }
    torch::Device device(torch::kCPU);
    if (options.device == "cuda") {
        if (torch::cuda::is_available())
            device = torch::Device(torch::kCUDA);
        else
            impl_->notice = "No CUDA GPU is available; Engram runs on the CPU.";
    }
    impl_->place(device);
    spdlog::info("segmentation engine: {} ({}) on {}, memory {} x {}", options.weights,
                 impl_->clicknet ? "clicknet" : "SAM-Med3D", device.str(),
                 impl_->mode == MemoryMode::None ? "off" : "on", options.memoryCapacity);
}

SegmentationEngine::~SegmentationEngine() = default;

void SegmentationEngine::setVolume(const Grid& grid, const float* voxels, std::shared_ptr<const void> owner) {
    impl_->grid = grid;
    impl_->voxels = voxels;
    impl_->owner = std::move(owner);
    impl_->cache.clear();
    if (impl_->clicknet)
        impl_->scale = IntensityScale::of(voxels, grid.size[0] * grid.size[1] * grid.size[2]);
}

bool SegmentationEngine::hasVolume() const { return impl_->voxels != nullptr; }
const Grid& SegmentationEngine::grid() const { return impl_->grid; }
std::string SegmentationEngine::device() const { return impl_->device.str(); }
MemoryMode SegmentationEngine::memoryMode() const { return impl_->mode; }
int SegmentationEngine::memoryCapacity() const { return impl_->options.memoryCapacity; }
void SegmentationEngine::cancel() { *impl_->cancelRequested = true; }
std::string SegmentationEngine::takeNotice() { return std::exchange(impl_->notice, std::string()); }

// ------------------------------------------------------------------------------------------------ session

namespace {

struct Step {
    bool hasCrop = false;
    Point3 centre{};
    std::vector<std::pair<Point3, bool>> clicks;  // in the current crop (clicknet: all of them)
    torch::Tensor previousLogits;                 // [1,1,L,L,L] on the engine's device
    MemoryBank bank;
    std::vector<ClickMemory> clickBank;  // clicknet: each interaction's output memory, oldest first
    RegionMask mask;
    float confidence = 0;
};

bool inInnerCrop(const ModelCrop& crop, const Point3& world) {
    const Point3 c = crop.worldToCrop(world);
    const double margin = crop.options().size / 8.0;
    for (double v : c)
        if (v < margin || v > crop.options().size - 1 - margin) return false;
    return true;
}

}  // namespace

struct SegmentationSession::Impl {
    SegmentationEngine::Impl* engine;
    std::vector<Step> steps;
    int current = 0;

    explicit Impl(SegmentationEngine::Impl* e) : engine(e) { reset(); }
    void reset() {
        steps.clear();
        steps.push_back(
            Step{false, {}, {}, {}, MemoryBank(engine->options.memoryCapacity, engine->mode), {}, {}, 0});
        current = 0;
    }

    // Runs the network for `next` (whose clicks include the new one). Fills logits, bank, mask.
    bool run(Step& next) {
        SegmentationEngine::Impl& e = *engine;
        if (e.clicknet) {
            runClickNet(next);
            return false;
        }
        const ModelCrop crop(next.centre, e.crop);
        bool encoded = false;
        const auto embedding = e.embeddingFor(crop, encoded);
        c10::InferenceMode guard;
        const auto n = static_cast<std::int64_t>(next.clicks.size());
        auto coords = torch::empty({1, n, 3});
        auto labels = torch::empty({1, n}, torch::kLong);
        for (std::int64_t i = 0; i < n; ++i) {
            const Point3 c = crop.worldToCrop(next.clicks[i].first);
            for (int a = 0; a < 3; ++a)
                coords[0][i][a] = std::clamp(std::round(c[a]), 0.0, double(e.crop.size - 1));
            labels[0][i] = next.clicks[i].second ? 1 : 0;
        }
        const auto out = e.model.interact(embedding, e.densePe, coords.to(e.device), labels.to(e.device),
                                          next.previousLogits, next.bank, true);
        next.previousLogits = out.lowResLogits;
        next.mask = crop.pasteBack(out.lowResLogits, e.grid);
        next.confidence = out.iou.item<float>();
        return encoded;
    }

    void runClickNet(Step& next) {
        SegmentationEngine::Impl& e = *engine;
        c10::InferenceMode guard;
        const bool memoryOn = e.mode != MemoryMode::None && e.options.memoryCapacity > 0;
        auto out = runClickNetInteraction(*e.clicknet->net, e.grid, e.voxels, e.scale, next.clicks, next.mask,
                                          memoryOn ? next.clickBank : std::vector<ClickMemory>{},
                                          e.options.seedChannel);
        next.mask = std::move(out.mask);
        next.confidence = out.confidence;
        if (memoryOn) {
            next.clickBank.push_back(std::move(out.memory));
            const auto capacity = static_cast<std::size_t>(e.options.memoryCapacity);
            if (next.clickBank.size() > capacity)
                next.clickBank.erase(next.clickBank.begin(),
                                     next.clickBank.end() - static_cast<std::ptrdiff_t>(capacity));
        }
    }
};

SegmentationSession::SegmentationSession(SegmentationEngine& engine)
    : impl_(std::make_unique<Impl>(engine.impl_.get())) {}
SegmentationSession::~SegmentationSession() = default;
SegmentationSession::SegmentationSession(SegmentationSession&&) noexcept = default;

ClickOutcome SegmentationSession::addClick(const Point3& world, bool positive) {
    const auto start = std::chrono::steady_clock::now();
    SegmentationEngine::Impl& e = *impl_->engine;
    if (!e.voxels) throw std::invalid_argument("No volume is loaded to segment.");
    const Point3 idx = e.grid.worldToIndex(world);
    for (int a = 0; a < 3; ++a)
        if (!(idx[a] >= -0.5 && idx[a] < double(e.grid.size[a]) - 0.5))
            throw std::invalid_argument("The click lies outside the volume.");

    Step next = impl_->steps[static_cast<std::size_t>(impl_->current)];
    if (!e.clicknet && (!next.hasCrop || !inInnerCrop(ModelCrop(next.centre, e.crop), world))) {
        next.hasCrop = true;
        next.centre = world;
        next.clicks.clear();
        next.previousLogits = torch::Tensor();
        next.bank = MemoryBank(e.options.memoryCapacity, e.mode);
    }
    next.clicks.emplace_back(world, positive);

    ClickOutcome outcome;
    try {
        outcome.encoded = impl_->run(next);
    } catch (const c10::Error& err) {
        if (e.device.is_cuda() && std::string(err.what()).find("out of memory") != std::string::npos) {
            e.fallBackToCpu("The GPU ran out of memory");
            if (next.previousLogits.defined()) next.previousLogits = next.previousLogits.to(torch::kCPU);
            outcome.encoded = impl_->run(next);
        } else {
            throw;
        }
    }
    impl_->steps.resize(static_cast<std::size_t>(impl_->current) + 1);
    impl_->steps.push_back(std::move(next));
    ++impl_->current;
    const Step& s = impl_->steps.back();
    outcome.mask = s.mask;
    outcome.confidence = s.confidence;
    outcome.step = impl_->current;
    outcome.notice = std::exchange(e.notice, std::string());
    outcome.milliseconds =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    return outcome;
}

int SegmentationSession::step() const { return impl_->current; }
int SegmentationSession::maxStep() const { return static_cast<int>(impl_->steps.size()) - 1; }

void SegmentationSession::goToStep(int step) {
    if (step < 0 || step > maxStep())
        throw std::invalid_argument("step " + std::to_string(step) + " does not exist (0.." +
                                    std::to_string(maxStep()) + ")");
    impl_->current = step;
}

void SegmentationSession::reset() { impl_->reset(); }
const RegionMask& SegmentationSession::mask() const {
    return impl_->steps[static_cast<std::size_t>(impl_->current)].mask;
}
int SegmentationSession::memorySize() const {
    const Step& s = impl_->steps[static_cast<std::size_t>(impl_->current)];
    return impl_->engine->clicknet ? static_cast<int>(s.clickBank.size()) : s.bank.size();
}
int SegmentationSession::clickCount() const {
    return static_cast<int>(impl_->steps[static_cast<std::size_t>(impl_->current)].clicks.size());
}

}  // namespace engram::model
