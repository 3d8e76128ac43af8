#pragma once
// The labels being annotated and their segments, with what every edit keeps up to date for the next one:
// the voxels per label value, and per label a box that holds all its voxels (grown by edits, never shrunk),
// so that an AI result or a grow-from-seeds click looks only where that segment can be, not at the whole
// volume. No Qt: EditHistory.h makes each applied edit an undoable interaction.

#include <engram/annotation/LabelEdits.h>
#include <engram/annotation/LabelMap.h>
#include <engram/annotation/Segment.h>

#include <array>
#include <cstdint>

namespace engram {

class LabelDocument {
  public:
    LabelDocument() = default;
    // Labels read back (a session, a recovery file) or empty ones: counts and boxes from one pass over them.
    // Every label value present gets a segment (SegmentList::defaultFor) when `segments` has none for it.
    explicit LabelDocument(LabelMap labels, SegmentList segments = {});

    const LabelMap& labels() const { return labels_; }
    // For tools that change voxels as the user draws (the brush): the counts and boxes follow when the
    // edit is applied (VoxelChanges::asEdit, then apply).
    LabelMap& labelsForDrawing() { return labels_; }
    const SegmentList& segments() const { return segments_; }
    SegmentList& segments() { return segments_; }
    std::int64_t voxelCount(std::uint8_t label) const { return counts_[label]; }
    // Gives `label` a segment entry (SegmentList::defaultFor) when it has none; true when one was added.
    bool ensureSegment(std::uint8_t label);
    // A box holding every voxel of `label` (empty when it never had any).
    const VoxelBox& extentOf(std::uint8_t label) const { return extents_[label]; }

    // Writes the edit's labels after it (forward) or before it, keeping the counts, and grows the boxes of
    // the labels that gain voxels.
    void apply(const SegmentEdit& edit, bool forward);

  private:
    LabelMap labels_;
    SegmentList segments_;
    std::array<std::int64_t, 256> counts_{};
    std::array<VoxelBox, 256> extents_{};
};

}  // namespace engram
