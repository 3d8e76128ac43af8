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
#include <functional>
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

// A step-based run (trainClickNet, trainSliceNet, StepRunOptions) of a model family (Model: ClickNetModel or
// SliceNetModel). It starts from the checkpoint `resume` at its step, with Adam's state, else from the model
// file `initialWeights` at step 0, else from a new model of `config` drawn from the seed; `run` is the loop.
template <typename Model>
class StepRun {
  public:
    StepRun(const StepRunOptions& options, const typename Model::Config& config, const std::string& family);

    Model& model() { return start_.model; }  // on `device`, in training mode
    long startStep() const { return start_.step; }
    const torch::Device device;

    // A trained prediction's Dice (of a target in `group`) for the next report.
    void addDice(const std::string& group, double dice);

    // The steps from startStep() to options.steps. Each: the stop check (a checkpoint, then TrainingStopped),
    // random numbers seeded from (seed, step), the learning rate, `step` (the batch's loss, its graph
    // attached), descent. Every reportEvery steps and at the end: `report`'s means, the family's own fields
    // (`finish`), `onReport`. Every checkpointEvery steps and at the end: the checkpoint and the model file
    // (float16 when `half`), whose "trained" metadata (JSON) `trained` gives.
    template <typename Report>
    void run(Report& report, const std::function<torch::Tensor(long step, std::mt19937& rng)>& step,
             const std::function<std::string(long step)>& trained,
             const std::function<void(const Report&)>& onReport, const std::function<void(Report&)>& finish);

  private:
    struct Start {
        Model model;
        long step = 0;
        std::unique_ptr<SafeTensorsFile> checkpoint;
    };
    static Start begin(const StepRunOptions& o, const typename Model::Config& config,
                       const std::string& family, const torch::Device& device);
    void write(long step, const std::string& trained);
    template <typename Report>
    void closeReport(Report& report, long step);

    const StepRunOptions& o_;
    Start start_;
    torch::optim::Adam optimizer_;
    torch::OrderedDict<std::string, torch::Tensor> named_;
    std::string checkpoint_;
    double lossSum_ = 0, diceSum_ = 0;
    int steps_ = 0, dices_ = 0;  // since the last report
    std::map<std::string, std::pair<double, int>> groupSums_;
    Clock::time_point window_ = Clock::now();
};

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

// ------------------------------------------------------------------------------------------ template bodies

template <typename Model>
typename StepRun<Model>::Start StepRun<Model>::begin(const StepRunOptions& o,
                                                     const typename Model::Config& config,
                                                     const std::string& family, const torch::Device& device) {
    Start r;
    if (!o.resume.empty()) {
        r.model = Model::load(o.resume);
        r.checkpoint = std::make_unique<SafeTensorsFile>(o.resume);
        r.step = checkpointStep(*r.checkpoint, o.resume, family);
    } else if (!o.initialWeights.empty()) {
        r.model = Model::load(o.initialWeights);
    } else {
        torch::manual_seed(o.seed);
        r.model = Model::create(config);
    }
    r.model.net->to(device);
    r.model.net->train();
    return r;
}

template <typename Model>
StepRun<Model>::StepRun(const StepRunOptions& o, const typename Model::Config& config,
                        const std::string& family)
    : device(deviceFor(o.device)),
      o_(o),
      start_(begin(o, config, family, device)),
      optimizer_(start_.model.net->parameters(), torch::optim::AdamOptions(o.lr).weight_decay(o.weightDecay)),
      named_(start_.model.net->named_parameters()),
      checkpoint_(o.checkpoint.empty() ? o.output + ".ckpt" : o.checkpoint) {
    if (start_.checkpoint) restoreAdamState(optimizer_, named_, *start_.checkpoint, device);
}

template <typename Model>
void StepRun<Model>::addDice(const std::string& group, double dice) {
    diceSum_ += dice;
    ++dices_;
    auto& g = groupSums_[group];
    g.first += dice;
    g.second += 1;
}

template <typename Model>
void StepRun<Model>::write(long step, const std::string& trained) {
    model().save(checkpoint_, adamState(optimizer_, named_),
                 {{"training", checkpointMetadata(step, o_.steps, o_.seed)}});
    model().save(o_.output, {}, {{"trained", trained}}, o_.half);
}

template <typename Model>
template <typename Report>
void StepRun<Model>::closeReport(Report& report, long step) {
    report.step = step;
    report.steps = o_.steps;
    report.loss = steps_ ? lossSum_ / steps_ : 0;
    report.dice = diceSum_ / std::max(1, dices_);
    report.groupDice.clear();
    for (const auto& [g, s] : groupSums_) report.groupDice[g] = s.first / std::max(1, s.second);
    report.secondsPerStep =
        std::chrono::duration<double>(Clock::now() - window_).count() / std::max(1, steps_);
    report.learningRate = optimizer_.param_groups()[0].options().get_lr();
    lossSum_ = diceSum_ = 0;
    steps_ = dices_ = 0;
    groupSums_.clear();
    window_ = Clock::now();
}

template <typename Model>
template <typename Report>
void StepRun<Model>::run(Report& report, const std::function<torch::Tensor(long, std::mt19937&)>& step,
                         const std::function<std::string(long)>& trained,
                         const std::function<void(const Report&)>& onReport,
                         const std::function<void(Report&)>& finish) {
    report.steps = o_.steps;
    for (long s = startStep(); s < o_.steps; ++s) {
        if (o_.stop && o_.stop()) {
            write(s, trained(s));
            throw TrainingStopped("training stopped at step " + std::to_string(s));
        }
        std::mt19937 rng(o_.seed * 1000003u + static_cast<unsigned>(s));
        torch::manual_seed(o_.seed * 1000003u + static_cast<std::uint64_t>(s));
        static_cast<torch::optim::AdamOptions&>(optimizer_.param_groups()[0].options())
            .lr(cosineRate(o_.lr, s, o_.steps, o_.warmupSteps));
        const auto loss = step(s, rng);
        descend(optimizer_, loss, model().net->parameters());
        lossSum_ += loss.item<double>();
        ++steps_;
        if ((s + 1) % o_.reportEvery == 0 || s + 1 == o_.steps) {
            closeReport(report, s + 1);
            if (finish) finish(report);
            if (onReport) onReport(report);
        }
        if ((s + 1) % o_.checkpointEvery == 0 || s + 1 == o_.steps) write(s + 1, trained(s + 1));
    }
    if (startStep() >= o_.steps) write(startStep(), trained(startStep()));
}

}  // namespace engram::model::training
