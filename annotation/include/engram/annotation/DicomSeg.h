#pragma once
// DICOM Segmentation objects (DICOM-SEG).
//
// writeDicomSeg writes a binary SEG (DCMTK dcmseg) for a volume that came from DICOM: one segment per label
// present, with name, recommended CIELab colour, coded category/type and algorithm; patient, study and Frame
// of Reference taken from the source; a ReferencedSeriesSequence and, per frame, the source image it derives
// from. Frames that hold no voxel of their segment are omitted; each frame's plane position keeps the
// geometry. The file is written atomically.
//
// readDicomSeg reads Segmentation Storage (BINARY and FRACTIONAL) and Label Map Segmentation Storage
// objects onto a loaded volume's grid; segments may overlap. Frames must lie on that grid (same orientation
// and pixel spacing, at slice positions of the volume), otherwise InputError says how they differ.

#include <engram/annotation/LabelMap.h>
#include <engram/annotation/Progress.h>
#include <engram/annotation/Segment.h>
#include <engram/annotation/Volume.h>

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace engram {

struct SegExportOptions {
    std::string seriesDescription = "Engram segmentation";
    std::string seriesNumber = "300";
    std::string contentCreator;  // ContentCreatorName (person name), optional
};

struct SegExportReport {
    std::size_t segments = 0;
    std::size_t frames = 0;
    std::vector<std::string> skippedEmptySegments;  // segments with no voxel in the label map
};

// Throws InputError when the volume has no DICOM identity (or its UIDs are missing) or the label map is on
// another grid, OutputError when the file cannot be written, Cancelled on cancel.
SegExportReport writeDicomSeg(const Volume& source, const LabelMap& labels, const SegmentList& segments,
                              const std::filesystem::path& path, const SegExportOptions& options = {},
                              const ProgressReporter& progress = {});

struct ImportedSegment {
    std::uint16_t segmentNumber = 0;  // as in the SEG
    Segment segment;                  // label = position in the import (1..), name, colour, concept
    std::vector<std::uint8_t> mask;   // 0/1 per voxel of the target grid
    std::int64_t voxelCount = 0;
};

struct DicomSegImport {
    std::string seriesDescription;
    std::string referencedSeriesUid;
    std::vector<ImportedSegment> segments;

    // One label map: segment i gets label i+1; where segments overlap the first one keeps the voxel, and the
    // number of such voxels is returned in `overlappingVoxels`.
    LabelMap toLabelMap(const ImageGeometry& grid, std::int64_t* overlappingVoxels = nullptr) const;
    SegmentList segmentList() const;
    // Voxels that lie in more than one segment.
    std::int64_t overlappingVoxels() const;
    // Gives each combination of segments that share voxels a segment of its own ("Liver + Tumour", after the
    // file's segments) holding exactly those voxels, and takes them out of the segments they came from, so
    // that no two segments overlap and a label map holds them all. Throws InputError when that would make
    // more than 255 segments.
    void separateOverlaps();
};

DicomSegImport readDicomSeg(const std::filesystem::path& path, const ImageGeometry& grid);

// True for a DICOM Part 10 file ("DICM" after the 128-byte preamble), which is how a SEG is told from a
// label image before reading it.
bool isDicomFile(const std::filesystem::path& path);
// True for a DICOM file whose SOP class is Segmentation or Label Map Segmentation Storage (reads the file's
// meta header only).
bool isDicomSegFile(const std::filesystem::path& path);

}  // namespace engram
