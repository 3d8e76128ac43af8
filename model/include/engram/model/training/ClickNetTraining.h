#pragma once
// Training the clicknet family (ClickNet.h), the default MAIS model, as it is used (issue 16). No Torch
// types here.
//
// Targets: every label value of every volume and, where a label falls apart, each of its connected
// components (26-connected, at least `minTargetVoxels`), class-agnostic. A sample picks a group (the
// dataset list's group=, weighted by `groupWeights`, default 1), then a volume of it, then a target, then a
// random voxel of the target as the crop centre (shifted by up to a quarter crop). Spatial augmentation
// resamples the crop from the original volume: isotropic scale, rotation about each axis, flips; intensity
// augmentation scales, shifts and adds noise to the image channels.
//
// One sample is an interaction sequence as the app runs it: K clicks (1 for `singleClickShare` of the
// batches, else 1..maxClicks, sometimes up to longClicks) from the simulated user (centre of the largest
// error, or a random error voxel), the first sometimes negative; every interaction before the last runs
// without gradients and pushes its memory (its output) into the bank, and the last one is trained (Dice + BCE
// over the crop). The grow-from-seeds channel is the classical tool's answer for the same clicks on the crop.
// Memory and the grow-from-seeds channel are each switched off for a share of batches, so that one run also
// trains the ablations that `engram-cli evaluate` reports (methods none and mais-no-gfs).
//
// A step is one batch; its random numbers come from (seed, step), so a run resumed from a checkpoint (the
// model, Adam's moments, the step, in one safetensors file written atomically every `checkpointEvery`
// steps) continues exactly as the uninterrupted run would. Learning rate: linear warm-up, then cosine decay
// to 5% over `steps`.

#include <engram/model/networks/ClickNetConfig.h>
#include <engram/model/training/Training.h>

#include <functional>
#include <map>
#include <string>

namespace engram::model {

struct ClickNetTrainOptions {
    std::string output;          // the trained model file (written at the end and at every checkpoint)
    std::string checkpoint;      // default: output + ".ckpt"
    std::string resume;          // a checkpoint to continue from; its configuration wins over `config`
    std::string initialWeights;  // a clicknet model file to start from (a new run: step 0, fresh optimiser)
    ClickNetConfig config;
    long steps = 20000;
    int batch = 2;  // torch's CPU convolution is 2-7x slower per sample at batch 1 (TRAINING.md)
    int maxClicks = 12, longClicks = 20;
    double longShare = 0.15;  // batches with maxClicks < K <= longClicks
    // Batches with K = 1: the first click's answer is trained only there, and a run with K uniform in
    // 1..12 (1/12 of the batches) lost it while later clicks improved (held-out Dice@1 0.45 -> 0.11).
    double singleClickShare = 0.25;
    double largeCropShare = 0;  // batches at 4/3 of the crop size (in steps of the network's factor)
    double lr = 1e-3, weightDecay = 1e-5;
    int warmupSteps = 200;
    double memoryOffShare = 0.3, seedsOffShare = 0.25, negativeFirstShare = 0.1, randomRuleShare = 0.3;
    double scaleRange = 0.2;      // crop spacing x [1/(1+r), 1+r]
    double rotationDegrees = 15;  // about each axis
    std::map<std::string, double> groupWeights;
    int minTargetVoxels = 50;
    int checkpointEvery = 100;
    int reportEvery = 25;
    unsigned seed = 1;
    std::string device = "cpu";
    bool half = false;           // float16 model file (the checkpoint stays float32)
    std::function<bool()> stop;  // polled before every step; true ends the run after a checkpoint
};

struct ClickNetReport {
    long step = 0, steps = 0;
    double loss = 0, dice = 0;                // means over the steps since the last report
    std::map<std::string, double> groupDice;  // the same per target group
    double secondsPerStep = 0, learningRate = 0;
    int targets = 0;
};

// Throws std::invalid_argument for unusable options or data, WeightsError for model files. `onReport`
// every `reportEvery` steps and at the end. Returns the last report.
ClickNetReport trainClickNet(const std::vector<LabelledVolume>& data, const ClickNetTrainOptions& options,
                             const std::function<void(const ClickNetReport&)>& onReport = {});

}  // namespace engram::model
