#pragma once
// Slice propagation with the SAM 2 network or the default slicenet (issues 6 and 17; docs/MODELS.md
// section 3, model/networks/SliceNet.h): the slices of a volume along one axis are the frames of a video. The
// user's mask on one or more slices is the prompt; each other slice is segmented from its own image features
// conditioned, through memory attention, on the memories of the prompt slices and of the slices just
// segmented, and on their object pointers; the object score says whether the target is still there, and
// propagation in a direction stops after `absentSlicesToStop` consecutive slices without it.
//
// Memory modes (switchable, for the ablation):
//   - plain SAM 2: one bank, the prompt slices plus the (numMaskmem - 1) slices before the current one;
//   - SLM-SAM 2 (when the model file has the short-term attention): a second attention reads only the
//     latest non-prompt slices (`shortTermSlices`), its output summed with the long-term one and fused;
//   - self-sorting (Medical SAM 2), on top of either: the non-prompt memories form a bank of `capacity`
//     entries; a slice is admitted only if its object is present and its predicted IoU reaches
//     `admissionIou`, and when the bank is full it replaces the entry most similar to it (cosine similarity
//     of pooled image features); before each slice the (numMaskmem - 1) entries most similar to it are
//     attended to. (Medical SAM 2 samples them with similarity-weighted probabilities; here the choice is
//     the deterministic top of that ranking, so runs are reproducible.)
//
// Directions: forward from the first prompt slice to the end, backward from the last prompt slice to the
// start, each with its own memory; slices between prompts, seen by both, get the mean of the two
// probabilities. Only the memories that can still be attended to are kept, so a 300-slice propagation holds
// a bounded number of slice features. No Torch types here.

#include <engram/model/Types.h>

#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace engram::model {

// A volume as float voxels, i fastest, and its voxel spacing in mm (slicenet crops are sized in mm).
struct VolumeView {
    std::array<std::int64_t, 3> size{0, 0, 0};
    const float* voxels = nullptr;
    Point3 spacing{1, 1, 1};
};

// The plane of slice `index` along `axis` (0: i, sagittal; 1: j, coronal; 2: k, axial): rows along the
// higher remaining axis, columns along the lower one; a plane mask is rows x columns, columns fastest.
struct SlicePlane {
    int axis = 2;
    std::int64_t rows = 0, columns = 0;
    static SlicePlane of(const std::array<std::int64_t, 3>& size, int axis);
    std::int64_t voxelIndex(const std::array<std::int64_t, 3>& size, std::int64_t slice, std::int64_t row,
                            std::int64_t column) const;
    // The plane mask of the voxels of `labels` (the volume's label values, i fastest) equal to `label` on
    // slice `slice`.
    std::vector<std::uint8_t> maskOf(const std::uint8_t* labels, const std::array<std::int64_t, 3>& size,
                                     std::int64_t slice, int label) const;
};

struct SlicePrompt {
    std::int64_t slice = 0;
    std::vector<std::uint8_t> mask;  // plane mask (SlicePlane), non-zero = target
};

enum class PropagationMemory { Plain, ShortLong };

struct PropagationOptions {
    int axis = 2;
    bool forward = true, backward = true;
    PropagationMemory memory =
        PropagationMemory::ShortLong;  // Plain when the model has no short-term attention
    int shortTermSlices = 1;
    bool selfSorting = false;
    int capacity = 16;
    double admissionIou = 0.8;
    int absentSlicesToStop = 2;
    // Intensities mapped to [0, 1] before the network's normalisation; default: the volume's 0.5 and 99.5
    // percentiles.
    std::optional<std::pair<double, double>> window;
    std::function<void(int done, int total)> progress;  // after each slice, on the calling thread
    std::shared_ptr<std::atomic<bool>> cancelFlag;      // set: the current slice finishes, then Cancelled
};

struct PropagationResult {
    std::vector<std::uint8_t> mask;        // the whole volume (i fastest), prompt slices included
    std::vector<float> objectProbability;  // per slice along the axis; -1 where not visited
    std::vector<float> predictedIou;       // per slice; -1 where not visited
    std::int64_t first = -1, last = -1;    // slices with the target
    int slicesSegmented = 0;               // network runs (both directions)
    int peakStoredMemories = 0;            // the most slice memories held at once
    double seconds = 0;
    std::string notice;  // e.g. short-term memory asked for, the model has none
};

class SlicePropagator {
  public:
    // A slicenet model file (SliceNet.h: the default propagator) or a SAM 2 one (safetensors; `config`
    // metadata; keys bare or under "model."), told apart by the file's "family". Throws WeightsError.
    explicit SlicePropagator(const std::string& modelPath, const std::string& device = "cpu");
    ~SlicePropagator();
    SlicePropagator(const SlicePropagator&) = delete;
    SlicePropagator& operator=(const SlicePropagator&) = delete;

    bool hasShortTermMemory() const;
    int imageSize() const;
    std::string device() const;

    // Throws std::invalid_argument for an empty volume, no prompt, a prompt slice outside the volume or of
    // the wrong size, or an empty prompt mask; Cancelled when the flag is set.
    PropagationResult propagate(const VolumeView& volume, const std::vector<SlicePrompt>& prompts,
                                const PropagationOptions& options);

  private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace engram::model
