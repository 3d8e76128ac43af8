#pragma once
// What the two trainers share (Training.cpp: MAIS; PropagationTraining.cpp: the slice propagator): the
// device, the volume-then-target sampling, the Dice loss, and the epoch and run records. Internal to model/.

#include <engram/model/Training.h>

#include <torch/types.h>

#include <chrono>
#include <random>
#include <string>
#include <vector>

namespace engram::model::training {

using Clock = std::chrono::steady_clock;

// "cpu" or "cuda"; throws std::invalid_argument when CUDA is asked for and there is none.
torch::Device deviceFor(const std::string& name);

// A sample picks a volume uniformly, then one of its targets, so that one densely labelled scan does not
// dominate.
class VolumeThenTarget {
  public:
    // targetVolume[t]: the index of target t's volume.
    explicit VolumeThenTarget(const std::vector<int>& targetVolume);
    int pick(std::mt19937& rng) const;  // a target index

  private:
    std::vector<std::vector<int>> targetsOfVolume_;  // only volumes that have targets
};

// The factor on every learning rate at optimiser step `step` (counted over the whole run, so a resumed run
// continues it): a linear ramp from 1/warmupSamples to 1 over the first `warmupSamples` steps, then 1.
double warmupScale(long step, int warmupSamples);

// 1 - Dice of sigmoid(logits) against a 0/1 target, smoothed by 1.
torch::Tensor diceLoss(const torch::Tensor& logits, const torch::Tensor& target);

// The record of finished epoch `epoch` (0-based) from its sample means; the ETA from the mean duration of the
// epochs run since `firstEpoch`; the learning rate at the epoch's end.
TrainProgress epochProgress(int epoch, int epochs, int firstEpoch, int samples, double meanLoss,
                            double meanDice, Clock::time_point epochStart, Clock::time_point runStart,
                            double learningRate);

// The run's totals, its first and last loss and last Dice from the history.
void finishSummary(TrainSummary& summary, int epochs, int samplesPerEpoch, Clock::time_point runStart);

}  // namespace engram::model::training
