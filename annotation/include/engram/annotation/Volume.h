#pragma once
// An image volume on an ImageGeometry. Voxels are stored as float32, Engram's documented working type:
// it holds every CT/MR value exactly after rescale slope/intercept (int16, uint16 and int32 HU fit the
// 24-bit mantissa) and is what the networks consume. The source's pixel type is kept in `metadata` so a
// conversion can write it back. DICOM-derived volumes carry their identity for DICOM-SEG export.

#include <engram/annotation/Geometry.h>

#include <optional>
#include <string>
#include <vector>

namespace engram {

// One source image of a DICOM series, in the volume's slice order (index k).
struct DicomSliceRef {
    std::string file;
    std::string sopClassUid;
    std::string sopInstanceUid;
};

// The DICOM context a DICOM-SEG needs to reference its source.
struct DicomIdentity {
    std::string patientName, patientId;
    std::string studyInstanceUid, studyDate, studyDescription;
    std::string seriesInstanceUid, seriesDescription, seriesNumber;
    std::string frameOfReferenceUid;
    std::vector<DicomSliceRef> slices;  // slices[k] is the image at index k
};

struct VolumeMetadata {
    std::string sourcePath;       // the file or folder it was read from
    std::string sourcePixelType;  // e.g. "int16", "float32", as in the source
    std::string modality;         // "CT", "MR", ... or empty when unknown
    std::string description;      // series description or file name, for titles and lists
    std::optional<DicomIdentity> dicom;
    std::vector<std::string> warnings;  // geometry issues found while loading (tilt, uneven spacing, ...)
};

class Volume {
  public:
    Volume() = default;
    // Throws std::invalid_argument when voxels.size() != geometry.voxelCount().
    Volume(ImageGeometry geometry, std::vector<float> voxels, VolumeMetadata metadata = {});

    const ImageGeometry& geometry() const { return geometry_; }
    const std::vector<float>& voxels() const { return voxels_; }
    std::vector<float>& voxels() { return voxels_; }
    float at(std::int64_t i, std::int64_t j, std::int64_t k) const {
        return voxels_[geometry_.offset(i, j, k)];
    }

    VolumeMetadata& metadata() { return metadata_; }
    const VolumeMetadata& metadata() const { return metadata_; }

    // Minimum and maximum voxel value; {0, 0} for an empty volume.
    std::pair<float, float> valueRange() const;

  private:
    ImageGeometry geometry_;
    std::vector<float> voxels_;
    VolumeMetadata metadata_;
};

}  // namespace engram
