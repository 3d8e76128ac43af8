#include "TrainingSupport.h"

#include <torch/cuda.h>
#include <torch/torch.h>

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
