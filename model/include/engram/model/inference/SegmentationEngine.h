#pragma once
// The interactive segmentation engine: the application's only door into the networks. No Torch types here.
//
// A SegmentationEngine holds one loaded model on one device and the volume being annotated, and caches image
// embeddings per crop (an embedding is computed once per crop and shared by every object's session). A
// SegmentationSession is one object (segment) being segmented: each click is one step; every step keeps the
// full state needed to return to it (clicks, the crop, the previous low-resolution logits, the memory bank,
// the mask), so goToStep() restores the mask AND the model's memory, for undo and redo alike. Memories are
// shared between steps, so keeping all steps costs a few pointers each.
//
// Crops: the first click centres a 1.5 mm 128^3 crop on itself; later clicks inside it (away from its outer
// eighth) reuse it; a click beyond re-centres on that click, which needs a new embedding and starts the
// memory afresh (memories are tied to a crop's voxels).
//
// Model families: a SAM-Med3D-style file (MaisModel.h) runs as above; a clicknet file (ClickNet.h, the
// default model) runs the whole network on every click, on a crop that grows to cover the object, with every
// click, the previous mask and the memory bank kept in world space, so a moving crop loses nothing. For
// clicknet files the memory mode is on (any mode but None) or off.
//
// Threads: an engine and its sessions are used from one thread at a time (the annotation worker's);
// cancel() may be called from any thread and stops an encoding between encoder blocks.

#include <engram/model/Types.h>

#include <atomic>
#include <memory>
#include <optional>
#include <string>

namespace engram::model {

struct EngineOptions {
    std::string weights;         // Engram model file (safetensors)
    std::string device = "cpu";  // "cpu" or "cuda" (falls back to the CPU, with a notice, when unavailable)
    int memoryCapacity = 60;     // N, 0..80
    MemoryMode memoryMode = MemoryMode::SparseDense;  // forced to None when the model has no memory attention
    bool seedChannel = true;   // clicknet: give the network the grow-from-seeds answer (off: an ablation)
    bool exactEncoder = true;  // false: the reference's literal padded windows (slower, same result)
    std::optional<CropOptions> crop;  // unset: the geometry the model file was trained with
    // Set to true (from any thread) to stop an encoding between encoder blocks; the engine clears it when it
    // throws Cancelled. Shared so that its owner never has to touch the engine itself. Null: the engine's
    // own.
    std::shared_ptr<std::atomic<bool>> cancelFlag;
};

struct ClickOutcome {
    RegionMask mask;          // on the volume's grid
    float confidence = 0;     // the decoder's predicted IoU
    int step = 0;             // the session's step after this click
    bool encoded = false;     // this click needed a new image embedding
    double milliseconds = 0;  // total time of the click
    std::string notice;       // e.g. a fallback from CUDA to the CPU; empty when nothing to say
};

class SegmentationEngine {
  public:
    // Throws WeightsError (SafeTensors.h) when the model file cannot be used.
    explicit SegmentationEngine(const EngineOptions& options);
    ~SegmentationEngine();
    SegmentationEngine(const SegmentationEngine&) = delete;
    SegmentationEngine& operator=(const SegmentationEngine&) = delete;

    // `voxels` (grid.size product floats, i fastest) must stay valid while `owner` is held.
    void setVolume(const Grid& grid, const float* voxels, std::shared_ptr<const void> owner);
    bool hasVolume() const;
    const Grid& grid() const;

    std::string device() const;     // where the model runs now
    MemoryMode memoryMode() const;  // effective mode
    int memoryCapacity() const;
    void cancel();  // thread-safe; the current or next encoding throws Cancelled
    // A message for the user from loading (e.g. no CUDA GPU, running on the CPU), cleared once taken;
    // otherwise it comes with the next click's outcome.
    std::string takeNotice();

  private:
    friend class SegmentationSession;
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

class SegmentationSession {
  public:
    explicit SegmentationSession(SegmentationEngine& engine);
    ~SegmentationSession();
    SegmentationSession(SegmentationSession&&) noexcept;

    // Throws std::invalid_argument when no volume is set or the point lies outside the volume; Cancelled
    // when the engine was cancelled during encoding (the session is then unchanged).
    ClickOutcome addClick(const Point3& world, bool positive);

    int step() const;     // clicks in effect (0 = none)
    int maxStep() const;  // steps that redo can reach
    // Restores step `step` (0..maxStep()): mask, clicks, previous logits and memory bank.
    void goToStep(int step);
    void reset();  // back to step 0, forgetting every step

    const RegionMask& mask() const;
    int memorySize() const;  // memories in the bank at the current step
    int clickCount() const;

  private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace engram::model
