#include <engram/annotation/DicomSeries.h>
#include <engram/annotation/Errors.h>

#include "DicomSetup.h"
#include "ItkBridge.h"

#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcfilefo.h>
#include <dcmtk/dcmdata/dcmetinf.h>
#include <dcmtk/dcmdata/dcstack.h>
#include <dcmtk/dcmdata/dcuid.h>
#include <dcmtk/dcmdata/dcxfer.h>
#include <itkGDCMImageIO.h>
#include <itkImageFileReader.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdint>
#include <fstream>
#include <map>
#include <sstream>

namespace fs = std::filesystem;

namespace engram {
namespace {

constexpr const char* kSegmentationStorage = "1.2.840.10008.5.1.4.1.1.66.4";
constexpr const char* kLabelMapSegmentationStorage = "1.2.840.10008.5.1.4.1.1.66.7";

template <std::size_t N>
std::optional<std::array<double, N>> getDoubles(DcmItem& item, const DcmTagKey& tag) {
    std::array<double, N> out{};
    for (std::size_t i = 0; i < N; ++i) {
        Float64 v;
        if (item.findAndGetFloat64(tag, v, static_cast<unsigned long>(i)).bad() || !std::isfinite(v))
            return std::nullopt;
        out[i] = v;
    }
    return out;
}

// "its element (gggg,eeee) has no valid value representation" for the first element at any depth whose VR
// in the file is no DICOM one; empty when there is none.
std::string elementWithoutVr(DcmItem& item) {
    DcmStack stack;
    while (item.nextObject(stack, true).good())
        if (const DcmEVR vr = stack.top()->ident(); vr == EVR_UNKNOWN || vr == EVR_UNKNOWN2B)
            return std::string("its element ") + stack.top()->getTag().toString().c_str() +
                   " has no valid value representation";
    return {};
}

// What is wrong with a Part 10 file's meta group, read as GDCM reads it: element by element from byte 132,
// each in explicit VR little endian with a DICOM VR, in ascending order, none a sequence or of undefined
// length, each value within the file. DCMTK forgives more: it drops a repeated element (GDCM read the
// repeat, whose VR was no DICOM one, fell back to implicit VR and asserted; found by fuzz_dicom), and reads
// past a VR it does not know (GDCM asserted on that too). Empty when nothing is, or the file has no meta
// group (no "DICM" at byte 128).
std::string metaGroupDamage(const fs::path& path, std::uintmax_t fileBytes) {
    std::ifstream in(path, std::ios::binary);
    char magic[4] = {};
    if (!in.seekg(128) || !in.read(magic, 4) || std::string(magic, 4) != "DICM") return {};
    const auto le = [](const unsigned char* b, int n) {
        std::uint32_t v = 0;
        for (int i = n - 1; i >= 0; --i) v = v << 8 | b[i];
        return v;
    };
    std::int64_t previous = -1;  // element number
    for (std::uint64_t at = 132;;) {
        unsigned char head[12];
        if (!in.seekg(std::streamoff(at)) || !in.read(reinterpret_cast<char*>(head), 8) ||
            le(head, 2) != 0x0002)
            return {};  // the data set begins (or the file ends: the data set's own checks say so)
        const std::uint32_t element = le(head + 2, 2);
        const std::string name =
            std::string("its file meta element ") + DcmTagKey(0x0002, Uint16(element)).toString().c_str();
        const DcmVR vr(std::string(reinterpret_cast<const char*>(head) + 4, 2).c_str());
        if (!vr.isStandard())
            return name + " has no valid value representation" +
                   (at == 132 ? " (the meta group must be in explicit VR little endian)" : "");
        if (std::int64_t(element) <= previous) return name + " is out of order or repeated";
        previous = element;
        std::uint64_t length = le(head + 6, 2), value = at + 8;
        if (vr.usesExtendedLengthEncoding()) {
            if (!in.read(reinterpret_cast<char*>(head + 8), 4)) return name + " is cut off";
            length = le(head + 8, 4);
            value = at + 12;
        }
        if (vr.getEVR() == EVR_SQ || length == DCM_UndefinedLength)
            return name + " is a sequence or of undefined length";
        if (value + length > fileBytes) return name + " claims more bytes than the file holds";
        at = value + length;
    }
}

// An attribute GDCM reads as one fixed kind (gdcm::Attribute) on its way to the pixels and the geometry,
// stored as another kind: GDCM asserts on it (aborting the process; found by fuzz_dicom: PlanarConfiguration
// as CS, RescaleIntercept as AE). Looked for at every depth, as GDCM finds an enhanced file's geometry in its
// functional groups; UN is read as the dictionary's kind. The pixel-format attributes must hold one value.
// Empty when there is none.
std::string elementOfWrongKind(DcmDataset& ds) {
    static const DcmTagKey onePixelFormatValue[] = {
        DCM_SamplesPerPixel, DCM_PlanarConfiguration, DCM_Rows,    DCM_Columns,
        DCM_BitsAllocated,   DCM_BitsStored,          DCM_HighBit, DCM_PixelRepresentation};
    static const DcmTagKey fixedKind[] = {
        DCM_NumberOfFrames, DCM_FrameIncrementPointer, DCM_PixelSpacing, DCM_RescaleIntercept,
        DCM_RescaleSlope, DCM_RescaleType, DCM_SliceThickness, DCM_SpacingBetweenSlices, DCM_FrameTime,
        DCM_PhysicalDeltaX, DCM_PhysicalDeltaY, DCM_ImagePositionPatient, DCM_ImageOrientationPatient,
        DCM_RETIRED_ImagePosition, DCM_RETIRED_ImageOrientation, DCM_RETIRED_ImageDimensions,
        DCM_RETIRED_Planes, DCM_LossyImageCompression, DCM_RealWorldValueIntercept, DCM_RealWorldValueSlope,
        DCM_TotalPixelMatrixColumns, DCM_TotalPixelMatrixRows, DCM_GridFrameOffsetVector, DCM_DoseGridScaling,
        // overlays, in any of the groups 6000-601E (as 6000 here)
        DCM_OverlayRows, DCM_OverlayColumns, DCM_NumberOfFramesInOverlay, DCM_OverlayOrigin,
        DCM_ImageFrameOrigin, DCM_OverlayBitsAllocated, DCM_OverlayBitPosition, DCM_RETIRED_OverlayLocation};
    const auto listed = [](const auto& list, const DcmTagKey& key) {
        return std::find(std::begin(list), std::end(list), key) != std::end(list);
    };
    DcmStack stack;
    while (ds.nextObject(stack, true).good()) {
        const DcmObject* o = stack.top();
        DcmTagKey key = o->getTag();
        if (key.getGroup() >= 0x6000 && key.getGroup() <= 0x601e && key.getGroup() % 2 == 0)
            key.setGroup(0x6000);
        const bool pixelFormat = listed(onePixelFormatValue, key);
        if (!pixelFormat && !listed(fixedKind, key)) continue;
        DcmTag tag(o->getTag());
        const std::string name = std::string("its ") + tag.getTagName() + " " + tag.toString().c_str();
        const DcmEVR expected = DcmTag(key).getEVR();
        if (o->ident() != expected && o->ident() != EVR_UN)
            return name + " is stored as " + DcmVR(o->ident()).getVRName() + ", where DICOM has " +
                   DcmVR(expected).getVRName();
        if (pixelFormat && o->getLengthField() != 2 && o->getLengthField() != 0)
            return name + " holds " + std::to_string(o->getLengthField()) + " bytes, not one unsigned short";
    }
    return {};
}

// What makes GDCM, which decodes the pixels, abort the process or allocate far beyond the file although
// DCMTK reads the file (each found by fuzz_dicom), so that the file is refused, by name, before GDCM sees it.
// Empty when there is nothing.
std::string gdcmCannotRead(DcmDataset& ds, const fs::path& path, std::uintmax_t fileBytes) {
    if (auto meta = metaGroupDamage(path, fileBytes); !meta.empty()) return meta;
    // An element whose VR is not a DICOM one in the data set: DCMTK reads past it (assuming a 2-byte
    // length), GDCM reads on with a 4-byte one (a 3 GB allocation for a 39 KB file). In implicit VR unknown
    // (private) tags have no VR and are read alike.
    if (DcmXfer(ds.getOriginalXfer()).isExplicitVR())
        if (auto noVr = elementWithoutVr(ds); !noVr.empty()) return noVr;
    if (auto odd = detail::oddStructureLength(ds); !odd.empty()) return odd;
    // A Recognition Code (0008,0010), a retired ACR-NEMA element, that is not empty and starts with none of
    // the marks GDCM knows: it asserts (a UID there).
    DcmElement* recognition = nullptr;
    if (ds.findAndGetElement(DCM_RETIRED_RecognitionCode, recognition).good() &&
        recognition->getLengthField() > 0) {
        char* value = nullptr;
        const std::string code = recognition->getString(value).good() && value ? value : "";
        if (code.rfind("ACR-NEMA", 0) != 0 && code.rfind("ACRNEMA", 0) != 0 && code.rfind("MIPS 2.0", 0) != 0)
            return "its Recognition Code (0008,0010), a retired ACR-NEMA element, is not an ACR-NEMA mark";
    }
    return elementOfWrongKind(ds);
}

struct ScannedFile {
    DicomImageHeader header;
    DicomSeriesInfo series;  // series-level attributes of this file (images empty)
};

std::optional<ScannedFile> readHeader(const fs::path& path) {
    // Parses the whole file but leaves values over 4 KB (the pixels) on disk: a pixel data element longer
    // than the rest of the file is caught here, while the header values stay usable.
    DcmFileFormat ff;
    const OFCondition status = ff.loadFile(path.c_str(), EXS_Unknown, EGL_noChange, 4096, ERM_autoDetect);
    DcmDataset& ds = *ff.getDataset();
    if (status.bad() && !ds.tagExists(DCM_Rows)) return std::nullopt;
    // An element claiming more bytes than the file holds: the pixel data of a cut file is reported by name
    // (it is never read here); any other would make DCMTK allocate its claim when read, so the file is
    // passed over.
    std::error_code ec;
    const auto fileBytes = fs::file_size(path, ec);
    const std::string oversized = ec ? "size" : detail::elementLongerThanFile(ds, fileBytes);
    const bool pixelsCut = oversized == DcmTag(DCM_PixelData).toString().c_str();
    if (!oversized.empty() && !pixelsCut) return std::nullopt;
    ScannedFile f;
    DicomImageHeader& h = f.header;
    if (status.bad()) h.damage = status.text();
    if (pixelsCut && h.damage.empty()) h.damage = "its pixel data claims more bytes than the file holds";
    if (h.damage.empty()) h.damage = gdcmCannotRead(ds, path, fileBytes);
    h.file = path.string();
    h.sopClassUid = detail::dicomString(ds, DCM_SOPClassUID);
    if (h.sopClassUid.empty())
        h.sopClassUid = detail::dicomString(*ff.getMetaInfo(), DCM_MediaStorageSOPClassUID);
    h.sopInstanceUid = detail::dicomString(ds, DCM_SOPInstanceUID);
    Uint16 u16 = 0;
    if (ds.findAndGetUint16(DCM_Rows, u16).good()) h.rows = u16;
    if (ds.findAndGetUint16(DCM_Columns, u16).good()) h.columns = u16;
    Sint32 frames = 1;
    if (ds.findAndGetSint32(DCM_NumberOfFrames, frames).good() && frames > 1) h.frames = frames;
    if (auto p = getDoubles<3>(ds, DCM_ImagePositionPatient)) h.position = Vec3{(*p)[0], (*p)[1], (*p)[2]};
    h.orientation = getDoubles<6>(ds, DCM_ImageOrientationPatient);
    h.pixelSpacing = getDoubles<2>(ds, DCM_PixelSpacing);
    if (auto t = getDoubles<1>(ds, DCM_SliceThickness)) h.sliceThickness = (*t)[0];
    if (auto t = getDoubles<1>(ds, DCM_GantryDetectorTilt)) h.gantryTilt = (*t)[0];
    Sint32 inst = 0;
    if (ds.findAndGetSint32(DCM_InstanceNumber, inst).good()) h.instanceNumber = inst;
    // The pixel format, checked here: GDCM aborts the process (an assert) on some impossible ones, such as
    // two samples per pixel, and on some it cannot decode: 8- or 32-bit pixels with fewer bits stored, and
    // signed 12-bit MONOCHROME1, which it cannot invert (found by fuzz_dicom).
    Uint16 samples = 1, allocated = 0, stored = 0, highBit = 0, representation = 0;
    ds.findAndGetUint16(DCM_SamplesPerPixel, samples);
    ds.findAndGetUint16(DCM_BitsAllocated, allocated);
    ds.findAndGetUint16(DCM_BitsStored, stored);
    ds.findAndGetUint16(DCM_HighBit, highBit);
    ds.findAndGetUint16(DCM_PixelRepresentation, representation);
    // GDCM reads a photometric interpretation it does not know by its first letters (MONOC... as
    // MONOCHROME1, found by fuzz_dicom), so a greyscale image must name one of the two exactly.
    std::string photometric = detail::dicomString(ds, DCM_PhotometricInterpretation);
    if (samples != 1)
        h.unsupported = "it has " + std::to_string(samples) +
                        " samples per pixel (a colour image); Engram reads greyscale images";
    else if (ds.tagExists(DCM_PixelData) && !photometric.empty() && photometric != "MONOCHROME1" &&
             photometric != "MONOCHROME2") {
        for (auto& c : photometric)
            if (!std::isprint(static_cast<unsigned char>(c))) c = '?';
        h.unsupported = "its photometric interpretation is \"" + photometric +
                        "\", where a greyscale image has MONOCHROME1 or MONOCHROME2";
    } else if (ds.tagExists(DCM_PixelData) &&
               !((allocated == 8 || allocated == 16 || allocated == 32) && stored >= 1 &&
                 stored <= allocated && highBit < allocated && representation <= 1))
        h.unsupported = "its pixel format (BitsAllocated " + std::to_string(allocated) + ", BitsStored " +
                        std::to_string(stored) + ", HighBit " + std::to_string(highBit) +
                        ", PixelRepresentation " + std::to_string(representation) + ") is not a valid one";
    else if (ds.tagExists(DCM_PixelData) && allocated != 16 && stored != allocated)
        h.unsupported = "it stores " + std::to_string(stored) + " bits in each " + std::to_string(allocated) +
                        "-bit pixel, which the DICOM decoder (GDCM) cannot read";
    else if (ds.tagExists(DCM_PixelData) && representation == 1 && stored == 12 &&
             photometric == "MONOCHROME1")
        h.unsupported =
            "its pixels are signed 12-bit MONOCHROME1, which the DICOM decoder (GDCM) cannot invert";
    // Uncompressed pixel data shorter than its rows, columns and frames need: GDCM copies the full size
    // out of the short buffer (a heap overflow, found by fuzz_dicom), so the file is refused by name.
    DcmElement* pixels = nullptr;
    if (h.damage.empty() && h.unsupported.empty() && ds.findAndGetElement(DCM_PixelData, pixels).good() &&
        !DcmXfer(ds.getOriginalXfer()).isEncapsulated() && pixels->getLengthField() != DCM_UndefinedLength) {
        const auto needed = static_cast<std::uint64_t>(h.rows) * static_cast<std::uint64_t>(h.columns) *
                            static_cast<std::uint64_t>(std::max(1, h.frames)) * (allocated / 8u);
        if (pixels->getLengthField() < needed)
            h.damage = "its pixel data holds " + std::to_string(pixels->getLengthField()) +
                       " bytes where its " + std::to_string(h.columns) + "x" + std::to_string(h.rows) +
                       (h.frames > 1 ? "x" + std::to_string(h.frames) : std::string()) + " pixels need " +
                       std::to_string(needed);
    }

    DicomSeriesInfo& s = f.series;
    s.patientName = detail::dicomString(ds, DCM_PatientName);
    s.patientId = detail::dicomString(ds, DCM_PatientID);
    s.studyInstanceUid = detail::dicomString(ds, DCM_StudyInstanceUID);
    s.studyDate = detail::dicomString(ds, DCM_StudyDate);
    s.studyDescription = detail::dicomString(ds, DCM_StudyDescription);
    s.seriesInstanceUid = detail::dicomString(ds, DCM_SeriesInstanceUID);
    s.seriesNumber = detail::dicomString(ds, DCM_SeriesNumber);
    s.seriesDescription = detail::dicomString(ds, DCM_SeriesDescription);
    s.modality = detail::dicomString(ds, DCM_Modality);
    s.frameOfReferenceUid = detail::dicomString(ds, DCM_FrameOfReferenceUID);
    s.isSegmentation = h.sopClassUid == kSegmentationStorage ||
                       h.sopClassUid == kLabelMapSegmentationStorage || s.modality == "SEG";
    return f;
}

// Series Instance UID when present; otherwise every attribute that tells series apart, plus the folder.
std::string seriesKey(const ScannedFile& f) {
    const DicomSeriesInfo& s = f.series;
    if (!s.seriesInstanceUid.empty())
        return s.seriesInstanceUid + (s.isSegmentation ? "#" + f.header.file : "");
    std::ostringstream k;
    k << "nouid:" << fs::path(f.header.file).parent_path().string() << "|" << s.patientId << "|"
      << s.studyDate << "|" << s.modality << "|" << s.seriesNumber << "|" << s.seriesDescription << "|"
      << s.frameOfReferenceUid << "|" << f.header.rows << "x" << f.header.columns;
    if (s.isSegmentation) k << "|" << f.header.file;
    return k.str();
}

double dot(const Vec3& a, const Vec3& b) { return a[0] * b[0] + a[1] * b[1] + a[2] * b[2]; }
Vec3 cross(const Vec3& a, const Vec3& b) {
    return {a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]};
}
double norm(const Vec3& a) { return std::sqrt(dot(a, a)); }

std::string fileName(const std::string& path) { return fs::path(path).filename().string(); }

Volume loadMultiFrame(const DicomSeriesInfo& series, const ProgressReporter& progress) {
    const auto& header = series.images.front();
    const std::string& file = header.file;
    requireVoxelCount({header.columns, header.rows, header.frames}, "Cannot read " + file + ": it");
    using Image = itk::Image<float, 3>;
    auto reader = itk::ImageFileReader<Image>::New();
    auto io = itk::GDCMImageIO::New();
    reader->SetImageIO(io);
    reader->SetFileName(file);
    progress.report(0.0, "Decoding " + fileName(file));
    try {
        reader->Update();
    } catch (const itk::ExceptionObject& e) {
        throw InputError("Cannot read " + file + ": " + detail::describe(e));
    }
    const ImageGeometry g = detail::geometryOf(reader->GetOutput());
    if (!g.hasOrthonormalDirection(1e-3))
        throw InputError("Cannot read " + file + ": its frames do not form an orthogonal grid.");
    requireUsableGeometry(g, "Cannot read " + file);
    const float* buf = reader->GetOutput()->GetBufferPointer();
    VolumeMetadata meta;
    meta.sourcePixelType = detail::componentTypeName(io->GetInternalComponentType());
    progress.report(1.0, "Decoded " + fileName(file));
    return Volume(g, std::vector<float>(buf, buf + g.voxelCount()), meta);
}

}  // namespace

std::size_t DicomSeriesInfo::imageCount() const {
    std::size_t n = 0;
    for (const auto& i : images) n += static_cast<std::size_t>(std::max(1, i.frames));
    return n;
}

std::string DicomSeriesInfo::summary() const {
    std::ostringstream s;
    s << (modality.empty() ? "??" : modality) << "  '" << seriesDescription << "'  " << imageCount()
      << (isSegmentation ? " frames (segmentation)" : " images");
    if (!seriesNumber.empty()) s << "  series #" << seriesNumber;
    s << "  patient '" << patientName << "' (" << patientId << ")  study '" << studyDescription << "' "
      << studyDate;
    return s.str();
}

std::vector<DicomSeriesInfo> scanDicomFolder(const fs::path& folder, const ProgressReporter& progress) {
    detail::ensureDicomLibrariesInitialised();
    std::error_code ec;
    if (!fs::is_directory(folder, ec))
        throw InputError("Cannot scan " + folder.string() + ": it is not a folder.");
    std::vector<fs::path> files;
    for (auto it =
             fs::recursive_directory_iterator(folder, fs::directory_options::skip_permission_denied, ec);
         !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
        if (it->is_regular_file(ec) && it->path().filename().string().rfind('.', 0) != 0 &&
            it->path().filename() != "DICOMDIR")
            files.push_back(it->path());
    }
    std::sort(files.begin(), files.end());

    std::map<std::string, DicomSeriesInfo> byKey;
    std::vector<std::string> order;
    for (std::size_t i = 0; i < files.size(); ++i) {
        if (i % 16 == 0) progress.report(double(i) / double(files.size()), "Scanning " + folder.string());
        auto scanned = readHeader(files[i]);
        if (!scanned ||
            ((scanned->header.rows == 0 || scanned->header.columns == 0) && !scanned->series.isSegmentation))
            continue;
        const std::string key = seriesKey(*scanned);
        auto [it, inserted] = byKey.try_emplace(key, scanned->series);
        if (inserted) {
            it->second.key = key;
            order.push_back(key);
        }
        it->second.images.push_back(std::move(scanned->header));
    }
    if (byKey.empty())
        throw InputError("No DICOM images found in " + folder.string() + " (" + std::to_string(files.size()) +
                         " files looked at).");
    std::vector<DicomSeriesInfo> out;
    for (const auto& k : order) out.push_back(std::move(byKey[k]));
    progress.report(1.0, "Scanned " + folder.string());
    spdlog::info("scanned {}: {} files, {} series", folder.string(), files.size(), out.size());
    return out;
}

Volume loadDicomSeries(const DicomSeriesInfo& series, const ProgressReporter& progress) {
    detail::ensureDicomLibrariesInitialised();
    if (series.isSegmentation)
        throw InputError("'" + series.seriesDescription +
                         "' is a DICOM segmentation, not an image series; load "
                         "its image series first, then import the segmentation onto it.");
    if (series.images.empty())
        throw InputError("The DICOM series '" + series.seriesDescription + "' has no images.");
    std::vector<std::string> warnings;
    Volume volume;

    for (const auto& h : series.images) {
        if (!h.unsupported.empty()) throw InputError("Cannot load " + h.file + ": " + h.unsupported + ".");
        if (!h.damage.empty())
            throw InputError("Cannot load " + h.file + ": the file is truncated or damaged (" + h.damage +
                             ").");
    }
    if (series.images.size() == 1 && series.images.front().frames > 1) {
        volume = loadMultiFrame(series, progress);
    } else {
        // 1. Every image must carry the geometry attributes, with one orientation and one matrix size.
        const DicomImageHeader& first = series.images.front();
        for (const auto& h : series.images) {
            if (h.frames > 1)
                throw InputError("Cannot load " + h.file +
                                 ": a multi-frame image mixed with single-frame images in one series.");
            if (!h.position || !h.orientation || !h.pixelSpacing)
                throw InputError("Cannot load " + h.file +
                                 ": it lacks ImagePositionPatient, ImageOrientationPatient or "
                                 "PixelSpacing, so its place in the volume is unknown.");
            if (!((*h.pixelSpacing)[0] > 0 && (*h.pixelSpacing)[1] > 0))
                throw InputError("Cannot load " + h.file + ": its PixelSpacing is not positive.");
            if (h.rows != first.rows || h.columns != first.columns)
                throw InputError("Cannot load the series: " + fileName(h.file) + " is " +
                                 std::to_string(h.columns) + "x" + std::to_string(h.rows) + " pixels while " +
                                 fileName(first.file) + " is " + std::to_string(first.columns) + "x" +
                                 std::to_string(first.rows) + ".");
            for (int c = 0; c < 6; ++c)
                if (std::abs((*h.orientation)[c] - (*first.orientation)[c]) > 1e-3)
                    throw InputError("Cannot load the series: it mixes image orientations (" +
                                     fileName(h.file) + " is oriented differently from " +
                                     fileName(first.file) + "). Load each orientation as its own series.");
        }
        const auto& o = *first.orientation;
        const Vec3 rowDir{o[0], o[1], o[2]}, colDir{o[3], o[4], o[5]};
        if (std::abs(norm(rowDir) - 1) > 1e-2 || std::abs(norm(colDir) - 1) > 1e-2 ||
            std::abs(dot(rowDir, colDir)) > 1e-2)
            throw InputError("Cannot load " + first.file +
                             ": its ImageOrientationPatient is not two orthogonal unit vectors.");
        Vec3 normal = cross(rowDir, colDir);
        const double nn = norm(normal);
        for (double& x : normal) x /= nn;

        // 2. Sort by position along the slice normal.
        std::vector<const DicomImageHeader*> sorted;
        for (const auto& h : series.images) sorted.push_back(&h);
        std::stable_sort(sorted.begin(), sorted.end(),
                         [&](const DicomImageHeader* a, const DicomImageHeader* b) {
                             return dot(*a->position, normal) < dot(*b->position, normal);
                         });
        const std::size_t n = sorted.size();

        // 3. Check the stack: duplicates, missing slices, uneven steps, tilt.
        double sliceStep = first.sliceThickness.value_or(1.0);
        if (n > 1) {
            std::vector<double> steps;
            for (std::size_t k = 1; k < n; ++k) {
                const double d = dot(*sorted[k]->position, normal) - dot(*sorted[k - 1]->position, normal);
                if (d < 1e-3)
                    throw InputError("Cannot load the series: " + fileName(sorted[k - 1]->file) + " and " +
                                     fileName(sorted[k]->file) +
                                     " lie at the same position (several acquisitions "
                                     "or echoes in one series?).");
                steps.push_back(d);
            }
            std::vector<double> tmp = steps;
            std::nth_element(tmp.begin(), tmp.begin() + tmp.size() / 2, tmp.end());
            const double median = tmp[tmp.size() / 2];
            for (std::size_t k = 0; k < steps.size(); ++k)
                if (steps[k] > 1.5 * median) {
                    std::ostringstream s;
                    s.precision(4);
                    s << "Cannot load the series: a slice is missing between " << fileName(sorted[k]->file)
                      << " and " << fileName(sorted[k + 1]->file) << " (a gap of " << steps[k]
                      << " mm where the series steps " << median << " mm).";
                    throw InputError(s.str());
                }
            const double total = dot(*sorted[n - 1]->position, normal) - dot(*sorted[0]->position, normal);
            sliceStep = total / double(n - 1);
            const auto [lo, hi] = std::minmax_element(steps.begin(), steps.end());
            if ((*hi - *lo) > 0.01 * sliceStep) {
                double worst = 0;  // largest distance of a slice from where the regular grid puts it
                for (std::size_t k = 0; k < n; ++k)
                    worst =
                        std::max(worst, std::abs(dot(*sorted[k]->position, normal) -
                                                 dot(*sorted[0]->position, normal) - double(k) * sliceStep));
                std::ostringstream s;
                s.precision(3);
                s << "Uneven slice spacing: steps from " << *lo << " to " << *hi
                  << " mm; the volume uses the mean " << sliceStep << " mm, which places some slices up to "
                  << worst << " mm from their true position.";
                warnings.push_back(s.str());
            }
            Vec3 stack{(*sorted[n - 1]->position)[0] - (*sorted[0]->position)[0],
                       (*sorted[n - 1]->position)[1] - (*sorted[0]->position)[1],
                       (*sorted[n - 1]->position)[2] - (*sorted[0]->position)[2]};
            const double tilt =
                std::acos(std::clamp(dot(stack, normal) / norm(stack), -1.0, 1.0)) * 180.0 / M_PI;
            if (tilt > 0.05 || std::abs(first.gantryTilt) > 0.05) {
                std::ostringstream s;
                s.precision(3);
                s << "Gantry tilt: the slices are stacked " << std::max(tilt, std::abs(first.gantryTilt))
                  << " degrees off their normal; the volume is shown on an orthogonal grid, which shears the "
                     "anatomy.";
                warnings.push_back(s.str());
            }
        }

        // 4. Geometry from the headers: i along the rows, j down the columns, k along the normal.
        ImageGeometry g;
        g.size = {first.columns, first.rows, static_cast<std::int64_t>(n)};
        g.spacing = {(*first.pixelSpacing)[1], (*first.pixelSpacing)[0], sliceStep};
        g.origin = *sorted[0]->position;
        for (int r = 0; r < 3; ++r) {
            g.direction[r][0] = rowDir[r];
            g.direction[r][1] = colDir[r];
            g.direction[r][2] = normal[r];
        }

        // 5. Pixels, slice by slice (GDCM decodes compressed syntaxes and applies slope/intercept), into a
        // buffer of the size the headers claim: checked first.
        requireVoxelCount(g.size, "Cannot read the series " + series.key + ": it");
        requireUsableGeometry(g, "Cannot read the series " + series.key);
        using SliceImage = itk::Image<float, 2>;
        std::vector<float> voxels(static_cast<std::size_t>(g.voxelCount()));
        const std::size_t sliceVoxels = static_cast<std::size_t>(g.size[0] * g.size[1]);
        std::string pixelType;
        for (std::size_t k = 0; k < n; ++k) {
            progress.report(double(k) / double(n),
                            "Reading slice " + std::to_string(k + 1) + " of " + std::to_string(n));
            auto io = itk::GDCMImageIO::New();
            auto reader = itk::ImageFileReader<SliceImage>::New();
            reader->SetImageIO(io);
            reader->SetFileName(sorted[k]->file);
            try {
                reader->Update();
            } catch (const itk::ExceptionObject& e) {
                throw InputError("Cannot decode " + sorted[k]->file + ": " + detail::describe(e));
            }
            const auto size = reader->GetOutput()->GetLargestPossibleRegion().GetSize();
            if (std::int64_t(size[0]) != g.size[0] || std::int64_t(size[1]) != g.size[1])
                throw InputError("Cannot decode " + sorted[k]->file +
                                 ": its pixel data does not match its Rows/Columns.");
            const float* src = reader->GetOutput()->GetBufferPointer();
            std::copy(src, src + sliceVoxels, voxels.begin() + static_cast<std::ptrdiff_t>(k * sliceVoxels));
            if (k == 0) pixelType = detail::componentTypeName(io->GetInternalComponentType());
        }
        VolumeMetadata meta;
        meta.sourcePixelType = pixelType;
        volume = Volume(g, std::move(voxels), meta);

        DicomIdentity id;
        for (const auto* h : sorted) id.slices.push_back({h->file, h->sopClassUid, h->sopInstanceUid});
        volume.metadata().dicom = id;
    }

    VolumeMetadata& meta = volume.metadata();
    meta.sourcePath = fs::path(series.images.front().file).parent_path().string();
    meta.modality = series.modality;
    meta.description =
        series.seriesDescription.empty() ? "DICOM series " + series.seriesNumber : series.seriesDescription;
    meta.warnings = warnings;
    if (!meta.dicom) meta.dicom = DicomIdentity{};
    DicomIdentity& id = *meta.dicom;
    id.patientName = series.patientName;
    id.patientId = series.patientId;
    id.studyInstanceUid = series.studyInstanceUid;
    id.studyDate = series.studyDate;
    id.studyDescription = series.studyDescription;
    id.seriesInstanceUid = series.seriesInstanceUid;
    id.seriesDescription = series.seriesDescription;
    id.seriesNumber = series.seriesNumber;
    id.frameOfReferenceUid = series.frameOfReferenceUid;
    for (const auto& w : warnings) spdlog::warn("{}: {}", meta.description, w);
    progress.report(1.0, "Loaded " + meta.description);
    spdlog::info("loaded DICOM series '{}': {}", meta.description, volume.geometry().describe());
    return volume;
}

Volume loadDicomFolder(const fs::path& folder, const std::string& seriesKey,
                       const ProgressReporter& progress) {
    const auto all = scanDicomFolder(folder, progress.subRange(0.0, 0.2));
    std::vector<const DicomSeriesInfo*> images;
    for (const auto& s : all)
        if (!s.isSegmentation) images.push_back(&s);
    if (!seriesKey.empty()) {
        for (const auto* s : images)
            if (s->key == seriesKey) return loadDicomSeries(*s, progress.subRange(0.2, 1.0));
        throw InputError("No image series with key '" + seriesKey + "' in " + folder.string() + ".");
    }
    if (images.size() == 1) return loadDicomSeries(*images.front(), progress.subRange(0.2, 1.0));
    std::string list;
    for (const auto* s : images) list += "\n  " + s->key + ": " + s->summary();
    throw InputError(images.empty()
                         ? "The folder " + folder.string() + " holds only DICOM segmentations, no images."
                         : "The folder " + folder.string() + " holds " + std::to_string(images.size()) +
                               " image series; choose one:" + list);
}

}  // namespace engram
