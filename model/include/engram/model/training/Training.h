#pragma once
// Training MAIS on labelled volumes (docs/MODELS.md section 2, issue 5). No Torch types here: engram-cli and
// tests drive it with plain volumes.
//
// One sample: pick a volume, then one of its target labels (each label value is a separate, class-agnostic
// target), then a foreground voxel of it; the crop (the model's crop geometry) is centred there. Optional
// augmentation: flips along each axis, intensity scale and shift. The simulated user (SimulatedClicks.h)
// clicks `clicks` times: first in the target, then in the current error; each interaction runs exactly as
// in the engine (MaisModel::interact: all clicks so far, the previous low-resolution logits, memory
// attention over the bank of earlier interactions) and adds Dice (+ BCE) of the upsampled logits to the
// sample's loss. AdamW with three parameter groups (prompt encoder + mask decoder, memory attention, image
// encoder), learning rates ramped up linearly over `warmupSamples` steps, then multiplied by `gamma` at each
// milestone epoch.
//
// Two modes: from scratch (every part trained; the default model) and fine-tuning from a model file with
// the image encoder frozen: its embeddings are computed once per crop from a fixed pool of crop centres
// per target and kept in memory, so an epoch costs decoder work only.
//
// After every epoch a checkpoint (the model file plus the optimiser's moments and the progress in its
// metadata) is written atomically; `resume` continues from one, the same as an uninterrupted run (each
// epoch reseeds its random generator from the seed and the epoch number).

#include <engram/model/Types.h>
#include <engram/model/metrics/SimulatedClicks.h>

#include <functional>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace engram::model {

struct LabelledVolume {
    std::string name;
    Grid grid;
    std::vector<float> image;               // grid.size product, i fastest
    std::vector<std::uint8_t> labels;       // same grid
    std::vector<int> targets;               // label values to learn; empty: every value present
    std::map<int, std::string> labelNames;  // optional, for reports ("liver")
    std::string group;                      // optional: the sampling group (dataset list's group=)
    // No image, only labels (dataset list image "synthetic"): `image` is zeros; the slicenet trainer draws a
    // new SynthSeg-style image from the labels for every sample, the other trainers refuse such volumes.
    bool synthetic = false;
    std::string targetName(int label) const;  // the name, or "label N"
    // Label values of `targets` (all present when empty) with at least `minVoxels` voxels, ascending. Throws
    // std::invalid_argument when image or labels do not match the grid.
    std::vector<int> labelsToUse(int minVoxels) const;
};

struct TrainOptions {
    // Fine-tuning: the model file to start from. Empty: a new network of `architecture`.
    std::string initialWeights;
    // "tiny" (tests), "small" (the default model, trainable on a CPU), "vit_b_ori" (SAM-Med3D's), or the
    // path of a JSON file {"network": {...}, "memory_attention": {...}, "crop": {...}}.
    std::string architecture = "small";
    std::string resume;      // checkpoint to continue from (overrides initialWeights / architecture)
    std::string output;      // the trained model file
    std::string checkpoint;  // default: output + ".ckpt"
    std::optional<bool> freezeEncoder;  // default: frozen when fine-tuning, trained from scratch
    int epochs = 20;
    int samplesPerEpoch = 0;  // 0: 4 per target
    int clicks = 6;           // interactions per sample
    ClickRule rule = ClickRule::RandomError;
    double lrDecoder = 8e-5, lrMemory = 8e-4, lrEncoder = 8e-5;
    double weightDecay = 0.01;
    std::vector<int> milestones;  // epochs; default: 65% and 90% of `epochs` (the paper's 129, 180 of 200)
    double gamma = 0.1;
    // Optimiser steps (samples, counted over the whole run) over which every learning rate ramps linearly
    // from lr/warmup to lr; 0: none. Training from scratch without it falls back to empty masks.
    int warmupSamples = 0;
    double bceWeight = 1.0;  // loss = Dice + bceWeight * BCE
    bool flips = true, intensity = true;
    int minTargetVoxels = 20;         // smaller targets are skipped
    double minTargetMillilitres = 0;  // so are targets of a smaller physical volume
    // The model file written: the last epoch's network, or (keepBest) the network of the epoch with the
    // highest training Dice, written as soon as that epoch ends (so a run that later diverges keeps it).
    bool keepBest = false;
    int cropsPerTarget = 4;  // frozen encoder: crop centres per target whose embeddings are cached
    int memoryCapacity = 60;
    MemoryMode memoryMode = MemoryMode::SparseDense;
    unsigned seed = 1;
    std::string device = "cpu";
    bool half = false;  // store the output in float16
    // Polled before every sample (from the training thread): returning true ends the run with
    // TrainingStopped. The checkpoint of the last finished epoch stays (and, with keepBest, the model file).
    std::function<bool()> stop;
};

// Thrown by trainMais when TrainOptions::stop asked it to end.
struct TrainingStopped : std::runtime_error {
    using std::runtime_error::runtime_error;
};

struct TrainProgress {
    int epoch = 0, epochs = 0;  // epoch just finished (1-based)
    int samples = 0;            // in that epoch
    double loss = 0;            // mean over its samples and clicks
    double dice = 0;            // mean Dice after the last click
    double seconds = 0, etaSeconds = 0;
    double learningRate = 0;  // of the decoder group
};

struct TrainSummary {
    int epochs = 0, samples = 0, targets = 0;
    int keptEpoch = 0;  // the epoch whose network is in the model file (1-based)
    double firstLoss = 0, lastLoss = 0, lastDice = 0, seconds = 0;
    std::string device;
    std::vector<TrainProgress> history;
};

// What a step-based run (trainClickNet, trainSliceNet) takes besides its family's own options. A step is one
// batch; its random numbers come from (seed, step), so a run resumed from a checkpoint (the model, Adam's
// moments, the step, in one safetensors file written atomically every `checkpointEvery` steps) continues
// exactly as the uninterrupted run would. Learning rate: linear warm-up over `warmupSteps`, then cosine
// decay to 5% over `steps`. Each family's options set its own defaults for steps, batch and warm-up.
struct StepRunOptions {
    std::string output;      // the trained model file (written at the end and at every checkpoint)
    std::string checkpoint;  // default: output + ".ckpt"
    std::string resume;      // a checkpoint to continue from; its configuration wins over the family's
    std::string initialWeights;  // a model file of the family to start from (step 0, fresh optimiser)
    long steps = 1000;
    int batch = 1;
    double lr = 1e-3, weightDecay = 1e-5;
    int warmupSteps = 100;
    std::map<std::string, double> groupWeights;  // the dataset list's group= -> sampling weight (default 1)
    int minTargetVoxels = 50;
    int checkpointEvery = 100;
    int reportEvery = 25;
    unsigned seed = 1;
    std::string device = "cpu";
    bool half = false;           // float16 model file (the checkpoint stays float32)
    std::function<bool()> stop;  // polled before every step; true ends the run after a checkpoint
};

// A step-based run's report: means over the steps since the last one.
struct StepReport {
    long step = 0, steps = 0;
    double loss = 0;
    double dice = 0;                          // mean over the trained predictions with the target present
    std::map<std::string, double> groupDice;  // the same per target group
    double secondsPerStep = 0, learningRate = 0;
    int targets = 0;
};

// Throws std::invalid_argument for unusable options or data (no target large enough), WeightsError for
// model files, TrainingStopped when stopped. `onEpoch` is called after every epoch, once its checkpoint is
// written.
TrainSummary trainMais(const std::vector<LabelledVolume>& data, const TrainOptions& options,
                       const std::function<void(const TrainProgress&)>& onEpoch = {});

}  // namespace engram::model
