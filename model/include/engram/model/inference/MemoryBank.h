#pragma once
// MAIS memory bank for one object being segmented. After each interaction the engine pushes one memory: the
// prompt encoder's sparse embeddings of that interaction's clicks and its dense embedding of the previous
// mask (MAIS keeps no separate memory encoder). The bank is a FIFO of the latest `capacity` memories
// (paper: 60; allowed 0..80). Memories are immutable and shared: copying a bank (a snapshot) copies at most
// 80 pointers, and restoring one is an assignment, so undo can put the model's memory back cheaply.

#include <engram/model/Types.h>

#include <torch/types.h>

#include <deque>
#include <memory>

namespace engram::model {

struct Memory {
    torch::Tensor sparse;  // [T, P]: the interaction's click embeddings (T >= 1)
    torch::Tensor dense;   // [P, G, G, G]: the dense embedding of the mask the interaction started from
    // Optional [W, G, G, G]: memory attention's per-memory encoding of `dense`, computed once at push time
    // (MemoryAttention::encodeDense) so a click does not redo it for every memory in the bank.
    torch::Tensor denseFeature;
    // Its 2x average-pooled map [W, G/2, G/2, G/2] (the dense memory layers work on that grid), also cached.
    torch::Tensor denseCoarse;
};

class MemoryBank {
  public:
    static constexpr int kMaxCapacity = 80;

    // Throws std::invalid_argument for a capacity outside 0..80.
    explicit MemoryBank(int capacity = 60, MemoryMode mode = MemoryMode::SparseDense);

    // Adds a memory, dropping the oldest when full. Tensors are detached (no autograd history is kept).
    // Throws std::invalid_argument when shapes do not match the memories already held.
    void push(const torch::Tensor& sparse, const torch::Tensor& dense,
              const torch::Tensor& denseFeature = {});

    int capacity() const { return capacity_; }
    MemoryMode mode() const { return mode_; }
    int size() const { return static_cast<int>(memories_.size()); }
    bool empty() const { return memories_.empty(); }
    const Memory& at(int i) const { return *memories_.at(static_cast<std::size_t>(i)); }  // 0 = oldest

    // The stacks memory attention reads, oldest first; undefined when the mode excludes them or the bank is
    // empty. sparse: [1, sum of T, P] with per-token memory index in `sparseOwner` [sum of T];
    // dense: [1, N, P, G, G, G].
    torch::Tensor sparseStack(torch::Tensor* sparseOwner = nullptr) const;
    torch::Tensor denseStack() const;
    // [1, N, W, G, G, G] of the cached dense features and [1, N, W, G/2, G/2, G/2] of their pooled maps, or
    // undefined when a memory has none.
    torch::Tensor denseFeatureStack() const;
    torch::Tensor denseCoarseStack() const;

  private:
    int capacity_;
    MemoryMode mode_;
    std::deque<std::shared_ptr<const Memory>> memories_;
};

}  // namespace engram::model
