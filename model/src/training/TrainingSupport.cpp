#include "TrainingSupport.h"

#include <torch/cuda.h>
#include <torch/nn/utils/clip_grad.h>
#include <torch/torch.h>

#include <spdlog/spdlog.h>

#include <cmath>
#include <deque>

#include "JsonValues.h"

namespace engram::model::training {

torch::Device deviceFor(const std::string& name) {
    if (name != "cuda") return torch::Device(torch::kCPU);
    if (!torch::cuda::is_available()) throw std::invalid_argument("no CUDA GPU is available");
    return torch::Device(torch::kCUDA);
}

VolumeThenTarget::VolumeThenTarget(const std::vector<int>& targetVolume) {
    std::vector<std::vector<int>> byVolume;
    for (int t = 0; t < static_cast<int>(targetVolume.size()); ++t) {
        const auto v = static_cast<std::size_t>(targetVolume[static_cast<std::size_t>(t)]);
        if (byVolume.size() <= v) byVolume.resize(v + 1);
        byVolume[v].push_back(t);
    }
    for (auto& targets : byVolume)
        if (!targets.empty()) targetsOfVolume_.push_back(std::move(targets));
}

int VolumeThenTarget::pick(std::mt19937& rng) const {
    const auto& targets =
        targetsOfVolume_[std::uniform_int_distribution<std::size_t>(0, targetsOfVolume_.size() - 1)(rng)];
    return targets[std::uniform_int_distribution<std::size_t>(0, targets.size() - 1)(rng)];
}

namespace {

// The 26-connected components of label `label` (`voxels`: its voxels' offsets).
std::vector<std::vector<std::int32_t>> componentsOf(const LabelledVolume& d, int label,
                                                    const std::vector<std::int32_t>& voxels) {
    const auto& n = d.grid.size;
    std::vector<std::uint8_t> seen(d.labels.size(), 0);
    std::vector<std::vector<std::int32_t>> out;
    std::deque<std::int32_t> queue;
    for (const auto start : voxels) {
        if (seen[static_cast<std::size_t>(start)]) continue;
        std::vector<std::int32_t> comp;
        seen[static_cast<std::size_t>(start)] = 1;
        queue.push_back(start);
        while (!queue.empty()) {
            const auto o = queue.front();
            queue.pop_front();
            comp.push_back(o);
            const std::int64_t x = o % n[0], y = (o / n[0]) % n[1], z = o / (n[0] * n[1]);
            for (int dz = -1; dz <= 1; ++dz)
                for (int dy = -1; dy <= 1; ++dy)
                    for (int dx = -1; dx <= 1; ++dx) {
                        const std::int64_t X = x + dx, Y = y + dy, Z = z + dz;
                        if (X < 0 || Y < 0 || Z < 0 || X >= n[0] || Y >= n[1] || Z >= n[2]) continue;
                        const auto p = static_cast<std::int32_t>(X + n[0] * (Y + n[1] * Z));
                        if (seen[static_cast<std::size_t>(p)] ||
                            d.labels[static_cast<std::size_t>(p)] != label)
                            continue;
                        seen[static_cast<std::size_t>(p)] = 1;
                        queue.push_back(p);
                    }
        }
        out.push_back(std::move(comp));
    }
    return out;
}

}  // namespace

std::vector<Target> findTargets(const std::vector<LabelledVolume>& data, int minVoxels,
                                std::vector<PreparedVolume>& prepared) {
    std::vector<Target> targets;
    prepared.resize(data.size());
    for (int v = 0; v < static_cast<int>(data.size()); ++v) {
        const auto& d = data[static_cast<std::size_t>(v)];
        auto& p = prepared[static_cast<std::size_t>(v)];
        p.scale = IntensityScale::of(d.image.data(), static_cast<std::int64_t>(d.image.size()));
        p.group = d.group.empty() ? "default" : d.group;
        std::array<std::vector<std::int32_t>, 256> byLabel;
        const auto used = d.labelsToUse(minVoxels);
        std::array<bool, 256> wanted{};
        for (int l : used) wanted[static_cast<std::size_t>(l)] = true;
        for (std::size_t o = 0; o < d.labels.size(); ++o)
            if (wanted[d.labels[o]]) byLabel[d.labels[o]].push_back(static_cast<std::int32_t>(o));
        int nextComponent = 0;
        for (int l : used) {
            auto& voxels = byLabel[static_cast<std::size_t>(l)];
            auto comps = componentsOf(d, l, voxels);
            if (comps.size() > 1) {
                if (p.component.empty()) p.component.assign(d.labels.size(), -1);
                for (auto& c : comps) {
                    const int id = nextComponent++;
                    for (auto o : c) p.component[static_cast<std::size_t>(o)] = id;
                    if (static_cast<int>(c.size()) >= minVoxels) targets.push_back({v, l, id, std::move(c)});
                }
            }
            targets.push_back({v, l, -1, std::move(voxels)});
        }
        spdlog::info("{}: {} ({}), {} label values", d.name, p.group, p.scale.ct ? "CT" : "MR", used.size());
    }
    if (targets.empty())
        throw std::invalid_argument("no target label has at least " + std::to_string(minVoxels) + " voxels");
    return targets;
}

GroupSampler::GroupSampler(const std::vector<Target>& targets, const std::vector<PreparedVolume>& volumes,
                           const std::map<std::string, double>& weights) {
    std::map<std::string, std::map<int, std::vector<int>>> tree;
    for (int t = 0; t < static_cast<int>(targets.size()); ++t) {
        const int v = targets[static_cast<std::size_t>(t)].volume;
        tree[volumes[static_cast<std::size_t>(v)].group][v].push_back(t);
    }
    std::vector<double> w;
    for (auto& [group, byVolume] : tree) {
        groups_.push_back(group);
        std::vector<std::vector<int>> vols;
        for (auto& [v, ts] : byVolume) vols.push_back(ts);
        volumes_.push_back(std::move(vols));
        const auto it = weights.find(group);
        w.push_back(it == weights.end() ? 1.0 : it->second);
    }
    pickGroup_ = std::discrete_distribution<int>(w.begin(), w.end());
}

int GroupSampler::pick(std::mt19937& rng) {
    const auto g = static_cast<std::size_t>(pickGroup_(rng));
    const auto& vols = volumes_[g];
    const auto& ts = vols[std::uniform_int_distribution<std::size_t>(0, vols.size() - 1)(rng)];
    return ts[std::uniform_int_distribution<std::size_t>(0, ts.size() - 1)(rng)];
}

void requireImages(const std::vector<LabelledVolume>& data, const std::string& who) {
    for (const auto& d : data)
        if (d.synthetic)
            throw std::invalid_argument(d.name +
                                        " has no image (\"synthetic\"): only the slicenet trainer "
                                        "(train-slicenet) synthesises images; " +
                                        who + " needs real ones");
}

double uniform(std::mt19937& rng, double a, double b) {
    return std::uniform_real_distribution<double>(a, b)(rng);
}
bool chance(std::mt19937& rng, double p) { return uniform(rng, 0, 1) < p; }

namespace {
std::string tensorKey(const torch::Tensor& p) { return c10::guts::to_string(p.unsafeGetTensorImpl()); }
}  // namespace

std::map<std::string, torch::Tensor> adamState(torch::optim::Adam& optimizer,
                                               const torch::OrderedDict<std::string, torch::Tensor>& named) {
    std::map<std::string, torch::Tensor> out;
    for (const auto& p : named) {
        const auto it = optimizer.state().find(tensorKey(p.value()));
        if (it == optimizer.state().end()) continue;
        const auto& s = static_cast<const torch::optim::AdamParamState&>(*it->second);
        out["optimizer." + p.key() + ".exp_avg"] = s.exp_avg().cpu();
        out["optimizer." + p.key() + ".exp_avg_sq"] = s.exp_avg_sq().cpu();
        out["optimizer." + p.key() + ".step"] = torch::tensor(s.step(), torch::kLong);
    }
    return out;
}

void restoreAdamState(torch::optim::Adam& optimizer,
                      const torch::OrderedDict<std::string, torch::Tensor>& named,
                      const SafeTensorsFile& file, const torch::Device& device) {
    for (const auto& p : named) {
        const std::string prefix = "optimizer." + p.key() + ".";
        if (!file.contains(prefix + "exp_avg")) continue;
        auto state = std::make_unique<torch::optim::AdamParamState>();
        state->step(file.load(prefix + "step").item<std::int64_t>());
        state->exp_avg(file.load(prefix + "exp_avg").to(device));
        state->exp_avg_sq(file.load(prefix + "exp_avg_sq").to(device));
        optimizer.state()[tensorKey(p.value())] = std::move(state);
    }
}

std::string checkpointMetadata(long step, long steps, unsigned seed) {
    return nlohmann::json{{"step", step}, {"steps", steps}, {"seed", seed}}.dump();
}

void descend(torch::optim::Adam& optimizer, const torch::Tensor& loss,
             const std::vector<torch::Tensor>& parameters) {
    optimizer.zero_grad();
    loss.backward();
    torch::nn::utils::clip_grad_norm_(parameters, 1.0);
    optimizer.step();
}

long checkpointStep(const SafeTensorsFile& file, const std::string& path, const std::string& family) {
    const auto it = file.metadata().find("training");
    if (it == file.metadata().end())
        throw WeightsError(path + " is a model file, not a " + family + " training checkpoint");
    try {
        return json::at<long>(nlohmann::json::parse(it->second), "step");
    } catch (const std::exception& e) {
        throw WeightsError(path + ": damaged training record (" + e.what() + ")");
    }
}

double cosineRate(double lr, long step, long steps, int warmupSteps) {
    const double ramp = step < warmupSteps ? double(step + 1) / warmupSteps : 1.0;
    const double progress = double(step) / double(steps);
    return lr * ramp * (0.05 + 0.95 * 0.5 * (1 + std::cos(M_PI * progress)));
}

double warmupScale(long step, int warmupSamples) {
    return step < warmupSamples ? double(step + 1) / warmupSamples : 1.0;
}

torch::Tensor diceLoss(const torch::Tensor& logits, const torch::Tensor& target) {
    const auto p = torch::sigmoid(logits);
    return 1 - (2 * (p * target).sum() + 1) / (p.sum() + target.sum() + 1);
}

TrainProgress epochProgress(int epoch, int epochs, int firstEpoch, int samples, double meanLoss,
                            double meanDice, Clock::time_point epochStart, Clock::time_point runStart,
                            double learningRate) {
    const auto now = Clock::now();
    TrainProgress p;
    p.epoch = epoch + 1;
    p.epochs = epochs;
    p.samples = samples;
    p.loss = meanLoss;
    p.dice = meanDice;
    p.seconds = std::chrono::duration<double>(now - epochStart).count();
    const double elapsed = std::chrono::duration<double>(now - runStart).count();
    p.etaSeconds = elapsed / double(epoch + 1 - firstEpoch) * double(epochs - epoch - 1);
    p.learningRate = learningRate;
    return p;
}

void finishSummary(TrainSummary& summary, int epochs, int samplesPerEpoch, Clock::time_point runStart) {
    summary.epochs = epochs;
    summary.samples = samplesPerEpoch;
    summary.seconds = std::chrono::duration<double>(Clock::now() - runStart).count();
    if (!summary.history.empty()) {
        summary.firstLoss = summary.history.front().loss;
        summary.lastLoss = summary.history.back().loss;
        summary.lastDice = summary.history.back().dice;
    }
}

}  // namespace engram::model::training
