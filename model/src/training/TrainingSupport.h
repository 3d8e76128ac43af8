#pragma once
// What the trainers share (Training.cpp: MAIS; PropagationTraining.cpp: the SAM 2 propagator;
// ClickNetTraining.cpp and SliceNetTraining.cpp: the compact default models): the device, the target lists
// and their sampling, the Dice loss, Adam's state in checkpoints, and the epoch and run records. Internal to
// model/.

#include <engram/model/networks/ClickNet.h>
#include <engram/model/training/Training.h>
#include <engram/model/weights/SafeTensors.h>

#include <torch/optim/adam.h>
#include <torch/types.h>

#include <chrono>
#include <map>
#include <memory>
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

// A training target: one label value of one volume, or one connected component of it.
struct Target {
    int volume = 0;
    int label = 0;
    int component = -1;  // -1: the whole label
    std::vector<std::int32_t> voxels;
};

struct PreparedVolume {
    IntensityScale scale;
    std::vector<std::int32_t> component;  // per voxel: its label's component id, when a label has several
    std::string group;
    // Whether voxel `offset` belongs to target `t` (of this volume).
    bool inTarget(const LabelledVolume& d, const Target& t, std::size_t offset) const {
        return d.labels[offset] == t.label && (t.component < 0 || component[offset] == t.component);
    }
};

// Every used label value of every volume and, where a label falls apart, each of its 26-connected
// components of at least `minVoxels`. Throws std::invalid_argument when there is none.
std::vector<Target> findTargets(const std::vector<LabelledVolume>& data, int minVoxels,
                                std::vector<PreparedVolume>& prepared);

// Group (the dataset list's group=, weighted; default weight 1) -> volume -> target.
class GroupSampler {
  public:
    GroupSampler(const std::vector<Target>& targets, const std::vector<PreparedVolume>& volumes,
                 const std::map<std::string, double>& weights);
    int pick(std::mt19937& rng);  // a target index
    const std::vector<std::string>& groups() const { return groups_; }

  private:
    std::vector<std::string> groups_;
    std::vector<std::vector<std::vector<int>>> volumes_;
    std::discrete_distribution<int> pickGroup_;
};

// Throws std::invalid_argument naming the first synthetic (label-only) volume: `who` cannot use them.
void requireImages(const std::vector<LabelledVolume>& data, const std::string& who);

double uniform(std::mt19937& rng, double a, double b);
bool chance(std::mt19937& rng, double p);

// Adam's moments and step counts of `named` parameters as checkpoint tensors ("optimizer.<name>.*"), and
// back from a checkpoint file.
std::map<std::string, torch::Tensor> adamState(torch::optim::Adam& optimizer,
                                               const torch::OrderedDict<std::string, torch::Tensor>& named);
void restoreAdamState(torch::optim::Adam& optimizer,
                      const torch::OrderedDict<std::string, torch::Tensor>& named,
                      const SafeTensorsFile& file, const torch::Device& device);

// A training checkpoint's "training" metadata (JSON: step, steps, seed), as checkpointStep reads it.
std::string checkpointMetadata(long step, long steps, unsigned seed);
// The step a training checkpoint of `family` was written at. Throws WeightsError for a file without
// "training" metadata (a model file, not a checkpoint).
long checkpointStep(const SafeTensorsFile& file, const std::string& path, const std::string& family);

// Where a step-based run (trainClickNet, trainSliceNet) starts: the checkpoint `resume` at its step (its
// file kept for Adam's state), else the model file `initial` at step 0, else a new model of `config` drawn
// from `seed`. Model: ClickNetModel or SliceNetModel.
template <typename Model>
struct RunStart {
    Model model;
    long step = 0;
    std::unique_ptr<SafeTensorsFile> checkpoint;
};
template <typename Model, typename Config>
RunStart<Model> startRun(const std::string& resume, const std::string& initial, const Config& config,
                         unsigned seed, const std::string& family) {
    RunStart<Model> r;
    if (!resume.empty()) {
        r.model = Model::load(resume);
        r.checkpoint = std::make_unique<SafeTensorsFile>(resume);
        r.step = checkpointStep(*r.checkpoint, resume, family);
    } else if (!initial.empty()) {
        r.model = Model::load(initial);
    } else {
        torch::manual_seed(seed);
        r.model = Model::create(config);
    }
    return r;
}

// A step-based run's files at `step`: the checkpoint (the model, Adam's state, checkpointMetadata) and the
// model file (float16 when `half`, with `trained`, JSON, as its "trained" metadata).
template <typename Model>
void writeRunFiles(const Model& model, torch::optim::Adam& optimizer,
                   const torch::OrderedDict<std::string, torch::Tensor>& named, const std::string& checkpoint,
                   const std::string& output, long step, long steps, unsigned seed,
                   const std::string& trained, bool half) {
    model.save(checkpoint, adamState(optimizer, named),
               {{"training", checkpointMetadata(step, steps, seed)}});
    model.save(output, {}, {{"trained", trained}}, half);
}

// One optimiser step on `loss`: gradients, clipped to norm 1 over `parameters`, then Adam.
void descend(torch::optim::Adam& optimizer, const torch::Tensor& loss,
             const std::vector<torch::Tensor>& parameters);

// The learning rate at `step` of `steps`: a linear warm-up over `warmupSteps`, then a cosine decay to 5%.
double cosineRate(double lr, long step, long steps, int warmupSteps);

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
