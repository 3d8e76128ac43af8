#pragma once
// The Segment menu's tools (annotation/SegmentOps.h, SliceInterpolation.h): their names in scripts, their
// menu entries and parameters. Workspace::runSegmentTool runs one on the active segment.

#include <QString>

#include <optional>
#include <vector>

namespace engram::ui {

enum class SegmentTool {
    KeepLargestIsland,
    RemoveSmallIslands,
    FillHoles,
    Median,
    Opening,
    Closing,
    Grow,
    Shrink,
    FillBetweenSlices
};

struct SegmentToolInfo {
    SegmentTool tool;
    const char* name;       // in scripts: keep-largest-island, remove-small-islands, fill-holes, median,
                            // opening, closing, grow, shrink, fill-between-slices
    const char* menu;       // menu entry, untranslated (context "SegmentTools")
    const char* parameter;  // unit of its parameter, or null
    double value = 0, maximum = 0;  // the parameter's default and largest value

    QString title() const;  // the translated menu entry without "..."
};

// In menu order.
const std::vector<SegmentToolInfo>& segmentTools();
const SegmentToolInfo& segmentTool(SegmentTool tool);
std::optional<SegmentTool> segmentToolNamed(const QString& name);

}  // namespace engram::ui
