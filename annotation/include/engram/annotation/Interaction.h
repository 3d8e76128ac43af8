#pragma once
// One entry of the interaction history: what it did (a kind that logic uses), where, to which segment, and
// its result's size. Its text (`label()`) is only for display and for the session file, which stores it as
// "kind". Qt Core only; the history itself is the controller's undo stack (AnnotationController.h).

#include <engram/annotation/Geometry.h>

#include <QDateTime>
#include <QString>

#include <cstdint>

namespace engram {

// What an interaction did. Logic uses this; its text (Interaction::label) is for display and session files.
enum class InteractionKind {
    AiClick,
    SeedsClick,
    Propagation,
    Brush,
    Erase,
    ThresholdFill,
    DeleteSegment,
    SegmentEdit
};

struct Interaction {
    InteractionKind kind = InteractionKind::SegmentEdit;
    bool positive = true;  // a click's sign
    QString detail;        // a segment edit's name ("Keep largest island", "Open segmentation: Liver")
    QString view;          // "axial", "coronal", "sagittal", "3d" or "" (script, menu)
    int segment = 0;
    Vec3 world{0, 0, 0};
    std::int64_t changedVoxels = 0;
    std::int64_t segmentVoxels = 0;  // the segment's size after the interaction
    float confidence = 0;
    double milliseconds = 0;
    QDateTime time;
    bool applied = true;    // false for undone entries (redo can bring them back)
    bool restored = false;  // from a saved session: listed, not undoable
    bool preview = false;   // an AI click of the open preview, not accepted yet
    // A click of the AI tool (the model's or grow from seeds'), with its sign.
    bool isClick() const { return kind == InteractionKind::AiClick || kind == InteractionKind::SeedsClick; }
    bool isPositiveClick() const { return isClick() && positive; }
    // "AI click +", "Seeds click -", "Propagation", "Brush", "Erase", "Threshold fill", "Delete segment", or
    // a segment edit's detail: the History panel's text and the session file's "kind".
    QString label() const;
    // Sets kind, positive and detail from a label (reading a session); other text is a segment edit's.
    void setFromLabel(const QString& text);
};

}  // namespace engram
