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
// A step is one batch; runs resume exactly from their checkpoints (StepRunOptions, Training.h).

#include <engram/model/networks/ClickNetConfig.h>
#include <engram/model/training/Training.h>

#include <functional>
#include <map>
#include <string>

namespace engram::model {

struct ClickNetTrainOptions : StepRunOptions {
    ClickNetTrainOptions() {
        steps = 20000;
        batch = 2;  // torch's CPU convolution is 2-7x slower per sample at batch 1 (TRAINING.md)
        warmupSteps = 200;
    }
    ClickNetConfig config;
    int maxClicks = 12, longClicks = 20;
    double longShare = 0.15;  // batches with maxClicks < K <= longClicks
    // Batches with K = 1: the first click's answer is trained only there, and a run with K uniform in
    // 1..12 (1/12 of the batches) lost it while later clicks improved (held-out Dice@1 0.45 -> 0.11).
    double singleClickShare = 0.25;
    double largeCropShare = 0;  // batches at 4/3 of the crop size (in steps of the network's factor)
    double memoryOffShare = 0.3, seedsOffShare = 0.25, negativeFirstShare = 0.1, randomRuleShare = 0.3;
    double scaleRange = 0.2;      // crop spacing x [1/(1+r), 1+r]
    double rotationDegrees = 15;  // about each axis
};

// Dice: of every sample's last interaction.
using ClickNetReport = StepReport;

// Throws std::invalid_argument for unusable options or data, WeightsError for model files. `onReport`
// every `reportEvery` steps and at the end. Returns the last report.
ClickNetReport trainClickNet(const std::vector<LabelledVolume>& data, const ClickNetTrainOptions& options,
                             const std::function<void(const ClickNetReport&)>& onReport = {});

}  // namespace engram::model
