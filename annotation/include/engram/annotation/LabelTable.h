#pragma once
// Label tables: the names, colours and coded concepts of a label file's values, in the files other tools read
// beside a NIfTI/NRRD/MHA label map. Engram writes two beside every label file it exports:
//   <stem>_labels.txt      ITK-SNAP's label description file (Segmentation > Import Label Descriptions)
//   <stem>_ColorTable.csv  3D Slicer's colour table (CSV: LabelValue, Name, Color_R/G/B/A and the DICOM
//                          category and type of each segment as Slicer's terminology columns)
// and reads either of those, or a Slicer .ctbl/.txt colour table, when it opens a label file.

#include <engram/annotation/LabelMap.h>
#include <engram/annotation/Segment.h>

#include <filesystem>
#include <optional>

namespace engram {

struct LabelTablePaths {
    std::filesystem::path itkSnap;
    std::filesystem::path slicer;
};

// The two table files beside `labelFile` (its name without the image extension, .nii.gz included).
LabelTablePaths labelTablePaths(const std::filesystem::path& labelFile);

// Writes both tables atomically for the segments whose label occurs in `labels`. Throws OutputError.
void writeLabelTables(const SegmentList& segments, const LabelMap& labels,
                      const std::filesystem::path& labelFile);
void writeItkSnapLabelTable(const SegmentList& segments, const std::filesystem::path& path);
void writeSlicerColorTable(const SegmentList& segments, const std::filesystem::path& path);

// Reads an ITK-SNAP label description file, a Slicer CSV colour table or a Slicer .ctbl/.txt colour table
// (told apart by their content). Label 0 (background) is skipped. Throws InputError naming the file and line.
SegmentList readLabelTable(const std::filesystem::path& path);

// The first table found beside `labelFile`: Engram's own two names, then Slicer's <stem>.ctbl; nullopt when
// there is none.
std::optional<std::filesystem::path> findLabelTable(const std::filesystem::path& labelFile);

}  // namespace engram
