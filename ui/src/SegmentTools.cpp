#include <engram/ui/SegmentTools.h>

#include <QCoreApplication>

#include <algorithm>

namespace engram::ui {

QString SegmentToolInfo::title() const {
    return QCoreApplication::translate("SegmentTools", menu).remove("...");
}

const std::vector<SegmentToolInfo>& segmentTools() {
    static const std::vector<SegmentToolInfo> tools = {
        {SegmentTool::KeepLargestIsland, "keep-largest-island",
         QT_TRANSLATE_NOOP("SegmentTools", "Keep Largest Island"), nullptr},
        {SegmentTool::RemoveSmallIslands, "remove-small-islands",
         QT_TRANSLATE_NOOP("SegmentTools", "Remove Small Islands..."), "mL", 1, 100000},
        {SegmentTool::FillHoles, "fill-holes", QT_TRANSLATE_NOOP("SegmentTools", "Fill Holes"), nullptr},
        {SegmentTool::Median, "median", QT_TRANSLATE_NOOP("SegmentTools", "Smooth (Median)..."), "mm", 2, 50},
        {SegmentTool::Opening, "opening",
         QT_TRANSLATE_NOOP("SegmentTools", "Smooth (Opening: Remove Spurs)..."), "mm", 2, 50},
        {SegmentTool::Closing, "closing", QT_TRANSLATE_NOOP("SegmentTools", "Smooth (Closing: Fill Gaps)..."),
         "mm", 2, 50},
        {SegmentTool::Grow, "grow", QT_TRANSLATE_NOOP("SegmentTools", "Grow by..."), "mm", 3, 100},
        {SegmentTool::Shrink, "shrink", QT_TRANSLATE_NOOP("SegmentTools", "Shrink by..."), "mm", 3, 100},
        {SegmentTool::FillBetweenSlices, "fill-between-slices",
         QT_TRANSLATE_NOOP("SegmentTools", "Fill Between Slices"), nullptr},
    };
    return tools;
}

const SegmentToolInfo& segmentTool(SegmentTool tool) {
    const auto& all = segmentTools();
    return *std::find_if(all.begin(), all.end(), [&](const SegmentToolInfo& d) { return d.tool == tool; });
}

std::optional<SegmentTool> segmentToolNamed(const QString& name) {
    for (const auto& d : segmentTools())
        if (name == d.name) return d.tool;
    return std::nullopt;
}

}  // namespace engram::ui
