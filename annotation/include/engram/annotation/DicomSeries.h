#pragma once
// DICOM folders: listing the series a folder holds, and loading one series as a Volume.
//
// scanDicomFolder reads only headers (DCMTK, stopping before the pixel data), groups images by Series
// Instance UID (or, when UIDs are missing or empty, by the series' other identifying attributes), and lists
// DICOM-SEG objects separately. loadDicomSeries sorts images by their position along the slice normal (not by
// instance number), checks the stack (mixed orientations, duplicate positions and missing slices are errors;
// uneven spacing and gantry tilt are reported in the volume's warnings), decodes pixels with GDCM through ITK
// (JPEG 2000, JPEG-LS, RLE and the other compressed transfer syntaxes) and applies rescale slope/intercept.
// Every header value is treated as untrusted input; errors are InputError naming the file.

#include <engram/annotation/Progress.h>
#include <engram/annotation/Volume.h>

#include <array>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace engram {

struct DicomImageHeader {
    std::string file;
    std::string sopClassUid, sopInstanceUid;
    int rows = 0, columns = 0, frames = 1;
    std::optional<Vec3> position;                       // ImagePositionPatient
    std::optional<std::array<double, 6>> orientation;   // ImageOrientationPatient (row, column cosines)
    std::optional<std::array<double, 2>> pixelSpacing;  // PixelSpacing (between rows, between columns)
    std::optional<double> sliceThickness;
    double gantryTilt = 0.0;
    int instanceNumber = 0;
    std::string damage;       // non-empty when the file is truncated or damaged: why
    std::string unsupported;  // non-empty when its pixel format is not a greyscale one Engram reads: why
};

struct DicomSeriesInfo {
    std::string key;  // identifies this entry within one scan
    std::string patientName, patientId;
    std::string studyInstanceUid, studyDate, studyDescription;
    std::string seriesInstanceUid, seriesNumber, seriesDescription, modality;
    std::string frameOfReferenceUid;
    bool isSegmentation = false;  // a DICOM-SEG object, not an image series
    std::vector<DicomImageHeader> images;

    // Number of 2D images (frames of multi-frame files counted).
    std::size_t imageCount() const;
    // "CT  'CT Body 3.0'  20 images  patient ... study ..." for lists and `engram-cli info`.
    std::string summary() const;
};

// Throws InputError when the folder does not exist or holds no DICOM file.
std::vector<DicomSeriesInfo> scanDicomFolder(const std::filesystem::path& folder,
                                             const ProgressReporter& progress = {});

Volume loadDicomSeries(const DicomSeriesInfo& series, const ProgressReporter& progress = {});

// Scans `folder` and loads the image series whose key is `seriesKey`; with an empty key, the folder must hold
// exactly one image series (otherwise InputError lists them).
Volume loadDicomFolder(const std::filesystem::path& folder, const std::string& seriesKey = {},
                       const ProgressReporter& progress = {});

}  // namespace engram
