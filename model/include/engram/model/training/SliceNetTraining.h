#pragma once
// Training the slicenet family (SliceNet.h), the default slice propagator, as it is used (issue 17). No
// Torch types here.
//
// Targets as for the default MAIS model (ClickNetTraining.h): every label value and each connected component
// of it, sampled group -> volume -> target. One sample is a sequence of `sequence` slices along one axis
// (axial for `axialShare` of them, else one of the other two), each `step` apart (2 for `skipShare` of the
// sequences on scans thinner than 2.5 mm): the first is the prompt (the true mask on a slice with at least
// `minPromptPixels` target pixels; for `endShare` of the sequences one of the last three such slices in the
// sequence's direction, so that the sequence runs past the target's end), every later one is tracked exactly
// as the propagator does (propagateWithSliceNet): the crop from the previous prediction, the previous slice's
// probability as a channel, the memory read over the prompt and the latest slices, either SLM (the short
// term reading 1..maxShortTerm slices) or plain SAM 2 memory (`plainShare` of the sequences). Gradients run
// through the whole sequence (memories included); the previous probability channel is detached.
// Loss per tracked slice: BCE over the crop + Dice where the target is on the crop, `objectWeight` x BCE of
// the object score against presence on the crop, `iouWeight` x |predicted - actual IoU| where present.
// Spatial augmentation: crop rotation, flip and scale; intensity: gain, shift, noise. Synthetic volumes
// (LabelledVolume::synthetic: a label map without its image) get a new image for every sequence, as SynthSeg
// makes its training images: a random intensity in [-0.9, 0.9] per label value, partial volumes from the
// bilinear sampling, a linear bias field of up to +-15% across the crop, then the same gain, shift and noise.
//
// A step is one batch; runs resume exactly from their checkpoints (StepRunOptions, Training.h).

#include <engram/model/networks/SliceNetConfig.h>
#include <engram/model/training/Training.h>

#include <functional>
#include <map>
#include <string>

namespace engram::model {

struct SliceNetTrainOptions : StepRunOptions {
    SliceNetTrainOptions() {
        steps = 4000;
        batch = 8;
        warmupSteps = 100;
    }
    SliceNetConfig config;
    int sequence = 8;
    double plainShare = 0.4;
    int maxShortTerm = 3;
    double axialShare = 0.7, endShare = 0.3, skipShare = 0.2;
    double scaleRange = 0.25;     // crop side x [1/(1+r), 1+r]
    double rotationDegrees = 20;  // in the plane
    double objectWeight = 0.5, iouWeight = 0.5;
    int minPromptPixels = 10;
};

// Dice: over tracked slices with the target on the crop.
struct SliceNetReport : StepReport {
    double absentClean = 0;  // tracked slices without it whose object score said absent
};

// Throws std::invalid_argument for unusable options or data, WeightsError for model files. `onReport` every
// `reportEvery` steps and at the end. Returns the last report.
SliceNetReport trainSliceNet(const std::vector<LabelledVolume>& data, const SliceNetTrainOptions& options,
                             const std::function<void(const SliceNetReport&)>& onReport = {});

}  // namespace engram::model
