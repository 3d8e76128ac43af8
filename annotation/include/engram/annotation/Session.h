#pragma once
// Session files (.engram): everything needed to continue an annotation later, in one JSON document (format
// in docs/SESSION_FORMAT.md): a reference to the volume (path, DICOM series key, and its grid so a changed
// file is noticed), the label map (run-length coded, zlib-compressed, base64), the segments with their coded
// concepts and colours, the interaction history, and the view (cursor, window/level). Autosave recovery
// files use the same format.

#include <engram/annotation/Interaction.h>
#include <engram/annotation/LabelMap.h>
#include <engram/annotation/Segment.h>

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace engram {

// Everything in a session but its label map.
struct SessionInfo {
    std::string volumePath;  // volume file or DICOM folder, absolute
    std::string seriesKey;   // the series within a DICOM folder (empty for files)
    SegmentList segments;
    std::vector<Interaction> history;  // applied interactions, oldest first
    std::optional<Index3> cursor;
    std::optional<std::array<double, 2>> windowLevel;  // window, level
};

struct SessionDocument : SessionInfo {
    LabelMap labels;  // on the volume's grid
};

// A session whose label map is already run-length coded: packing reads the labels once and copies nothing
// of their size, which keeps saving and autosave short on the GUI thread (docs/PERFORMANCE.md).
struct PackedSession : SessionInfo {
    ImageGeometry grid;
    std::vector<std::uint8_t> labelRuns;  // encodeLabelRuns of the labels
};
PackedSession packSession(SessionInfo info, const LabelMap& labels);

// Write atomically; throw OutputError naming the file.
void writeSession(const PackedSession& session, const std::filesystem::path& path);
void writeSession(const SessionDocument& session, const std::filesystem::path& path);
// Throws InputError naming the file when it is missing, not a session, of a newer version, or damaged. A
// relative volume path is resolved against the session file's folder.
SessionDocument readSession(const std::filesystem::path& path);

// Run-length code of a label buffer: (value byte, run length as unsigned LEB128) pairs.
std::vector<std::uint8_t> encodeLabelRuns(const std::vector<std::uint8_t>& labels);
// Throws InputError when the runs are malformed or do not add up to `voxels`.
std::vector<std::uint8_t> decodeLabelRuns(const std::vector<std::uint8_t>& runs, std::size_t voxels);

}  // namespace engram
