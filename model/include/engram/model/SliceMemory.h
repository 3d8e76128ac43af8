#pragma once
// The memories of slice propagation (Propagation.h) and the rules that choose which of them a slice attends
// to. Torch-typed: used by the propagator and its tests, not by the app.

#include <torch/types.h>

#include <cstdint>
#include <map>
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

}  // namespace engram::model
