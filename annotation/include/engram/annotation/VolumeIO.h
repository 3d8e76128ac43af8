#pragma once
// Reading and writing volumes and label maps as files: NIfTI (.nii, .nii.gz), NRRD (.nrrd, .nhdr), MetaImage
// (.mha, .mhd) through ITK, and FreeSurfer MGH (.mgh, .mgz, read only) through Engram's own reader.
// Geometry follows ITK exactly (NIfTI: sform when its code is set, else qform), converted to LPS.
// DICOM folders are read with DicomSeries.h. Every function throws InputError / OutputError with a message
// naming the file; Cancelled when the reporter was cancelled.

#include <engram/annotation/Errors.h>
#include <engram/annotation/LabelMap.h>
#include <engram/annotation/Progress.h>
#include <engram/annotation/Volume.h>

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>

namespace engram {

// True when the extension is one this module reads.
bool isVolumeFile(const std::filesystem::path& path);
// The file name without its volume extension (".nii.gz" whole): "liver.nii.gz" -> "liver".
std::string volumeFileStem(const std::filesystem::path& path);

Volume readVolumeFile(const std::filesystem::path& path, const ProgressReporter& progress = {});

// A volume file, or a DICOM folder (the series `seriesKey`, or its only image series when empty).
Volume readVolume(const std::filesystem::path& path, const std::string& seriesKey = {},
                  const ProgressReporter& progress = {});

// Writes the volume atomically in the format given by the extension (NIfTI, NRRD, MetaImage). The voxel
// type is the source's when it was integral and every value fits it, float32 otherwise.
void writeVolumeFile(const Volume& volume, const std::filesystem::path& path);

struct LabelFileImport {
    LabelMap labels;
    // File value -> label value, for files whose values exceed 255 (e.g. FreeSurfer's aseg codes); values
    // were renumbered 1..N in ascending order. Empty when values were used as they are.
    std::map<std::int64_t, std::uint8_t> renumbered;
    // How the file's grid was mapped onto the image's (GridMapping::describe), when it differs from it only
    // in axis order or direction; empty otherwise.
    std::string mapping;
    // Set when the labels were resampled by nearest neighbour (GridRule::ResampleNearest on a different
    // grid): how many labelled voxels of the file lie outside the image's grid.
    bool resampled = false;
    std::int64_t labelledOutside = 0;
    // One line for the log and the user: what was mapped or resampled; empty when the file was on the grid.
    std::string summary() const;
};

// What to do with a label file on a genuinely different grid from the image's.
enum class GridRule {
    Exact,            // refuse it (GridMismatch)
    ResampleNearest,  // resample it by nearest neighbour onto the image's grid
};

// A label file whose grid is not the image's (not even in another axis order). The message names both grids
// and how to resample.
class GridMismatch : public InputError {
  public:
    GridMismatch(const std::string& message, std::string grids)
        : InputError(message), grids_(std::move(grids)) {}
    // The first part of the message: the file and both grids, without the advice on resampling.
    const std::string& grids() const { return grids_; }

  private:
    std::string grids_;
};

// Reads a label file. Values must be integers >= 0; at most 255 distinct non-zero values.
LabelFileImport readLabelFile(const std::filesystem::path& path);
// As above, on `grid`: a file storing the same voxel centres in another axis order or direction (sameLattice)
// is mapped exactly (logged, and said in `mapping`); a genuinely different grid throws GridMismatch, or with
// GridRule::ResampleNearest is resampled (logged, and said in `resampled` / `labelledOutside`).
LabelFileImport readLabelFile(const std::filesystem::path& path, const ImageGeometry& grid,
                              GridRule rule = GridRule::Exact);

// Writes an unsigned 8-bit label image atomically (NIfTI, NRRD or MetaImage by extension), on exactly the
// label map's grid.
void writeLabelFile(const LabelMap& labels, const std::filesystem::path& path);

}  // namespace engram
