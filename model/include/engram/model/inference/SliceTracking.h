#pragma once
// The steps of slice propagation (Propagation.h) shared by the propagator and its training: slice images
// and masks at the network's size, the prompt slice's memory, one tracked slice (memory attention over the
// chosen memories and object pointers, SAM heads, the new memory), and the rules that choose the memories.
// Torch-typed: used by the model layer and its tests, not by the app.

#include <engram/model/inference/Propagation.h>
#include <engram/model/networks/Sam2.h>

#include <torch/types.h>

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace engram::model {

// One segmented slice's contribution to later slices.
struct SliceMemory {
    std::int64_t slice = 0;
    torch::Tensor features, posEnc;  // [1, memDim, G, G]
    torch::Tensor objPtr;            // [1, C]
    torch::Tensor descriptor;        // pooled image features [D], for the self-sorting bank
    float iou = 1;
    bool present = true;
};

// A chosen memory and its temporal slot (1 = furthest back, numMaskmem - 1 = the slice just before; the
// prompt slices use slot 0).
using ChosenMemory = std::pair<int, const SliceMemory*>;

// Plain SAM 2: the slices 1..numMaskmem-1 steps back along the direction `dir` (+1 or -1) from slice t,
// those that exist in `recent`, each in the slot of its distance.
std::vector<ChosenMemory> chooseRecent(const std::map<std::int64_t, SliceMemory>& recent, std::int64_t t,
                                       int dir, int numMaskmem);

// Medical SAM 2's self-sorting bank (deterministic variant, see Propagation.h).
class SelfSortingBank {
  public:
    SelfSortingBank(int capacity, double admissionIou) : capacity_(capacity), admissionIou_(admissionIou) {}
    // Admits `m` when its object is present and its IoU reaches the threshold; a full bank replaces the entry
    // whose memory features are most similar (cosine) to it. Returns whether it was admitted.
    bool offer(const SliceMemory& m);
    // The `count` entries whose descriptors are most similar to `descriptor`, most similar first, each in
    // the slot of its slice distance from t (clamped to 1..numMaskmem-1).
    std::vector<ChosenMemory> choose(const torch::Tensor& descriptor, std::int64_t t, int numMaskmem) const;
    const std::vector<SliceMemory>& entries() const { return entries_; }

  private:
    int capacity_;
    double admissionIou_;
    std::vector<SliceMemory> entries_;
};

// Loads an Engram SAM 2 model file (keys bare or under "model."; the short-term attention when present).
// Throws WeightsError.
Sam2 loadSam2(const std::string& path);

// The volume's 0.5 and 99.5 intensity percentiles (sampled).
std::pair<double, double> percentileWindow(const VolumeView& volume);

// Bilinear resize of [B, C, H, W] maps to h x w (the one used for images, masks and logits).
torch::Tensor resize(const torch::Tensor& x, std::int64_t h, std::int64_t w);

// Slice `slice` of the volume as the network's input [1, 3, S, S]: window to [0, 1], resized, ImageNet-
// normalised. A plane mask (bytes, SlicePlane layout) as [1, 1, S, S] of 0/1.
torch::Tensor sliceImage(const VolumeView& volume, const SlicePlane& plane, std::int64_t slice, double lo,
                         double hi, int size, const torch::Device& device);
torch::Tensor sliceMask(const std::uint8_t* mask, const SlicePlane& plane, int size,
                        const torch::Device& device);

struct Sam2Frame {
    BackboneOutput backbone;   // high-resolution levels after conv_s0 / conv_s1
    torch::Tensor raw;         // stride-16 features [1, C, G, G]
    torch::Tensor descriptor;  // pooled features, for the self-sorting bank
};
Sam2Frame encodeFrame(Sam2Impl& net, const torch::Tensor& image);

// The prompt slice: its mask is the output (SAM 2's use_mask_input_as_output); memory and object pointer
// from it.
SliceMemory promptMemory(Sam2Impl& net, const Sam2Frame& frame, const torch::Tensor& mask,
                         std::int64_t slice);

struct TrackedSlice {
    SamHeadsOutput heads;  // three masks, the best in lowResMasks / highResMasks
    SliceMemory memory;
};
// Slice t going in direction dir: memory attention over the prompts (slot 0) and `chosen`, object pointers of
// the prompts behind t and of `recent` within maxPointers slices; with `shortTermSlices` > 0 (and the
// network's short-term attention) the SLM fusion over the latest `recent` slices.
TrackedSlice trackSlice(Sam2Impl& net, const Sam2Frame& frame, std::int64_t t, int dir,
                        const std::map<std::int64_t, SliceMemory>& prompts,
                        const std::vector<ChosenMemory>& chosen,
                        const std::map<std::int64_t, SliceMemory>& recent, int shortTermSlices,
                        int maxPointers);

}  // namespace engram::model
