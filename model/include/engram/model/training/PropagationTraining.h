#pragma once
// Training and evaluation of the slice propagator (issue 6; docs/MODELS.md section 3). No Torch types here.
//
// Training: one sample is a sequence of `sequenceLength` consecutive slices along `axis` of one labelled
// volume, starting on a random slice where the target (a label value, class-agnostic) is present and going
// up or down at random; the first slice's true mask is the prompt, every later slice is tracked exactly as
// the propagator does (SliceTracking.h: memory attention over the prompt and the latest slices, object
// pointers, the short-term attention when the network has it) from the network's own earlier predictions.
// Loss per tracked slice as SAM 2's: 20 x focal + Dice on the best of the three masks (only where the target
// is present; on the decoder's logits, see the source), L1 between the predicted and the actual IoU of that
// mask, and binary cross-entropy of the object score against presence. AdamW, linear warm-up; the model file
// is written after every epoch.
//
// Evaluation: for each structure, the prompt is its true mask on its central slice (the median of the slices
// where it is present); the propagation's 3D Dice and ASSD, the mean Dice over the slices where the target is
// present, and over the slices where it is absent the fraction left empty (the over-propagation measure),
// for each memory method in one run.

#include <engram/model/inference/Propagation.h>
#include <engram/model/training/Training.h>

#include <functional>
#include <string>
#include <vector>

namespace engram::model {

struct PropagatorTrainOptions {
    std::string initialWeights;  // a SAM 2 model file to fine-tune; empty: a new network
    // A new network: "mini" (Hiera 32 with stages 1/1/3/1, 128 px: trainable on a CPU), "tiny" (the released
    // sam2.1_hiera_t structure, 512 px), or a JSON file of the configuration (Sam2Config keys).
    std::string architecture = "mini";
    bool shortTermMemory =
        true;  // give the network the SLM short-term attention (added untrained when fine-tuning)
    std::string output;
    int epochs = 10;
    int samplesPerEpoch = 0;  // 0: 4 per target
    int sequenceLength = 8;
    int axis = 2;
    double learningRate = 1e-4, weightDecay = 0.01;
    int warmupSamples = 0;
    double focalWeight = 20, diceWeight = 1, iouWeight = 1, objectWeight = 1;
    int minTargetVoxels = 20;
    unsigned seed = 1;
    std::string device = "cpu";
    bool half = false;  // store the output in float16
};

// Throws std::invalid_argument for unusable options or data, WeightsError for model files.
TrainSummary trainPropagator(const std::vector<LabelledVolume>& data, const PropagatorTrainOptions& options,
                             const std::function<void(const TrainProgress&)>& onEpoch = {});

struct PropagationEvalOptions {
    std::string model;
    // "slm" (short-term + long-term memory), "plain" (SAM 2 memory), "self-sorting" (plain memory with the
    // self-sorting bank), "slm+self-sorting"; the classical baselines "copy" and "grow-from-seeds"
    // (ClassicalPropagation.h), which need no model.
    std::vector<std::string> methods{"slm", "plain", "self-sorting"};
    int axis = 2;
    int absentSlicesToStop = 2;
    int minTargetVoxels = 20;
    std::string device = "cpu";
};

struct PropagationEvalRow {
    std::string scan, target, method;
    int label = 0;
    std::int64_t promptSlice = 0;
    double dice = 0, assdMm = 0;
    double presentSliceDice = 0;  // mean over slices where the target is present
    double absentSliceClean = 0;  // fraction of target-absent slices left empty (1 when there are none)
    int slicesSegmented = 0;
    double secondsPerSlice = 0;
};

// Throws std::invalid_argument for an unknown method or unusable data, WeightsError for the model.
std::vector<PropagationEvalRow> evaluatePropagation(
    const std::vector<LabelledVolume>& data, const PropagationEvalOptions& options,
    const std::function<void(const PropagationEvalRow&)>& onRow = {});

// Mean per method: Dice, ASSD, present-slice Dice, absent-slice clean fraction, seconds per slice.
std::string formatPropagationTable(const std::vector<PropagationEvalRow>& rows);
std::string toCsv(const std::vector<PropagationEvalRow>& rows);

}  // namespace engram::model
