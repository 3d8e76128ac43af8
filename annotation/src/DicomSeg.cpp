#include <engram/annotation/AtomicFile.h>
#include <engram/annotation/DicomSeg.h>
#include <engram/annotation/Errors.h>

#include "DicomSetup.h"

#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcfilefo.h>
#include <dcmtk/dcmdata/dcuid.h>
#include <dcmtk/dcmfg/fgderimg.h>
#include <dcmtk/dcmfg/fgfracon.h>
#include <dcmtk/dcmfg/fgpixmsr.h>
#include <dcmtk/dcmfg/fgplanor.h>
#include <dcmtk/dcmfg/fgplanpo.h>
#include <dcmtk/dcmiod/cielabutil.h>
#include <dcmtk/dcmiod/iodreferences.h>
#include <dcmtk/dcmseg/segdoc.h>
#include <dcmtk/dcmseg/segment.h>
#include <spdlog/spdlog.h>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <map>
#include <memory>
#include <set>
#include <vector>

namespace fs = std::filesystem;

namespace engram {
namespace {

constexpr const char* kSegmentationStorage = "1.2.840.10008.5.1.4.1.1.66.4";
constexpr const char* kLabelMapSegmentationStorage = "1.2.840.10008.5.1.4.1.1.66.7";

// A decimal string (VR DS) of at most 16 characters with as many digits as fit.
OFString ds(double v) {
    if (std::abs(v) < 1e-10) v = 0;
    char buf[32];
    for (int digits = 12; digits > 0; --digits) {
        std::snprintf(buf, sizeof(buf), "%.*g", digits, v);
        if (std::strlen(buf) <= 16) break;
    }
    return buf;
}

void check(const OFCondition& c, const std::string& what) {
    if (c.bad()) throw OutputError(what + ": " + c.text());
}

CodeSequenceMacro code(const CodedConcept& c) {
    return CodeSequenceMacro(c.value.c_str(), c.scheme.c_str(), c.meaning.c_str());
}

DcmSegTypes::E_SegmentAlgoType algoType(SegmentAlgorithm a) {
    switch (a) {
        case SegmentAlgorithm::Manual:
            return DcmSegTypes::SAT_MANUAL;
        case SegmentAlgorithm::Automatic:
            return DcmSegTypes::SAT_AUTOMATIC;
        default:
            return DcmSegTypes::SAT_SEMIAUTOMATIC;
    }
}

void requireReferenceable(const Volume& source) {
    const auto& dicom = source.metadata().dicom;
    if (!dicom || dicom->slices.empty())
        throw InputError("A DICOM-SEG can only be written for an image loaded from a DICOM series; '" +
                         source.metadata().description + "' was not.");
    if (static_cast<std::int64_t>(dicom->slices.size()) != source.geometry().size[2])
        throw InputError(
            "A DICOM-SEG needs one source image per slice; this volume came from a multi-frame image.");
    if (dicom->studyInstanceUid.empty() || dicom->seriesInstanceUid.empty())
        throw InputError(
            "The source series has no Study/Series Instance UID, so a DICOM-SEG cannot reference it.");
    for (const auto& s : dicom->slices)
        if (s.sopInstanceUid.empty() || s.sopClassUid.empty())
            throw InputError("The source image " + s.file +
                             " has no SOP Instance/Class UID, so a DICOM-SEG cannot "
                             "reference it.");
}

}  // namespace

SegExportReport writeDicomSeg(const Volume& source, const LabelMap& labels, const SegmentList& segments,
                              const fs::path& path, const SegExportOptions& options,
                              const ProgressReporter& progress) {
    detail::ensureDicomLibrariesInitialised();
    requireReferenceable(source);
    const ImageGeometry& g = source.geometry();
    if (!labels.geometry().sameGrid(g))
        throw InputError("The label map is not on the image's grid:\n  labels: " +
                         labels.geometry().describe() + "\n  image:  " + g.describe());
    if (g.size[0] > 65535 || g.size[1] > 65535)
        throw InputError("The image is too large for a DICOM-SEG frame.");
    const DicomIdentity& id = *source.metadata().dicom;
    const auto histogram = labels.histogram();

    SegExportReport report;
    writeFileAtomically(path, [&](const fs::path& tmp) {
        DcmSegmentation* rawSeg = nullptr;
        IODGeneralEquipmentModule::EquipmentInfo equipment("Engram", "Engram", "0", "Engram 0.1");
        ContentIdentificationMacro content("1", "SEGMENTATION", options.seriesDescription.c_str(),
                                           options.contentCreator.c_str());
        check(DcmSegmentation::createBinarySegmentation(rawSeg, static_cast<Uint16>(g.size[1]),
                                                        static_cast<Uint16>(g.size[0]), equipment, content),
              "creating the segmentation");
        std::unique_ptr<DcmSegmentation> seg(rawSeg);
        check(seg->importFromSourceImage(id.slices.front().file.c_str()),
              "reading patient and study from " + id.slices.front().file);

        char uid[100];
        check(seg->getSeries().setSeriesInstanceUID(dcmGenerateUniqueIdentifier(uid, SITE_SERIES_UID_ROOT)),
              "series UID");
        check(seg->getSeries().setSeriesDescription(options.seriesDescription.c_str()), "series description");
        check(seg->getSeries().setSeriesNumber(options.seriesNumber.c_str()), "series number");
        check(seg->getSOPCommon().setSOPInstanceUID(dcmGenerateUniqueIdentifier(uid, SITE_INSTANCE_UID_ROOT)),
              "SOP UID");

        FGPixelMeasures measures;
        check(measures.setPixelSpacing(ds(g.spacing[1]) + "\\" + ds(g.spacing[0])), "pixel spacing");
        check(measures.setSliceThickness(ds(g.spacing[2])), "slice thickness");
        check(measures.setSpacingBetweenSlices(ds(g.spacing[2])), "slice spacing");
        check(seg->addForAllFrames(measures), "pixel measures");
        std::unique_ptr<FGPlaneOrientationPatient> orientation(FGPlaneOrientationPatient::createMinimal(
            ds(g.direction[0][0]), ds(g.direction[1][0]), ds(g.direction[2][0]), ds(g.direction[0][1]),
            ds(g.direction[1][1]), ds(g.direction[2][1])));
        check(seg->addForAllFrames(*orientation), "plane orientation");

        IODReferences references;
        for (const auto& s : id.slices)
            references.add(new IODImageReference(id.patientId.c_str(), id.studyInstanceUid.c_str(),
                                                 id.seriesInstanceUid.c_str(), s.sopInstanceUid.c_str(),
                                                 s.sopClassUid.c_str()));
        seg->getCommonInstanceReference().addReferences(references);

        // Frames are indexed by (segment number, slice position), as readers such as dcmqi and highdicom
        // expect.
        const OFString dimensionUid = dcmGenerateUniqueIdentifier(uid, SITE_INSTANCE_UID_ROOT);
        check(seg->getDimensions().addDimensionIndex(DCM_ReferencedSegmentNumber, dimensionUid,
                                                     DCM_SegmentIdentificationSequence,
                                                     "ReferencedSegmentNumber"),
              "dimension index");
        check(seg->getDimensions().addDimensionIndex(DCM_ImagePositionPatient, dimensionUid,
                                                     DCM_PlanePositionSequence, "ImagePositionPatient"),
              "dimension index");

        const std::int64_t nx = g.size[0], ny = g.size[1], nz = g.size[2];
        std::vector<Uint8> frame(static_cast<std::size_t>(nx * ny));
        const auto& lab = labels.labels();
        std::size_t done = 0;
        for (const Segment& s : segments.segments()) {
            progress.report(double(done++) / double(segments.segments().size()), "Writing segment " + s.name);
            if (histogram[s.label] == 0) {
                report.skippedEmptySegments.push_back(s.name);
                continue;
            }
            DcmSegment* rawSegment = nullptr;
            check(DcmSegment::create(rawSegment, s.name.c_str(), code(s.category), code(s.type),
                                     algoType(s.algorithm),
                                     s.algorithm == SegmentAlgorithm::Manual ? "" : s.algorithmName.c_str()),
                  "segment " + s.name);
            double L, a, b;
            IODCIELabUtil::rgb2DicomLab(L, a, b, s.color.r / 255.0, s.color.g / 255.0, s.color.b / 255.0);
            check(rawSegment->setRecommendedDisplayCIELabValue(static_cast<Uint16>(std::lround(L)),
                                                               static_cast<Uint16>(std::lround(a)),
                                                               static_cast<Uint16>(std::lround(b))),
                  "segment colour");
            Uint16 segmentNumber = 0;
            if (seg->addSegment(rawSegment, segmentNumber).bad()) {
                delete rawSegment;
                throw OutputError("Cannot add segment " + s.name);
            }
            for (std::int64_t k = 0; k < nz; ++k) {
                const std::uint8_t* slice = lab.data() + k * nx * ny;
                bool any = false;
                for (std::int64_t p = 0; p < nx * ny; ++p) {
                    frame[p] = slice[p] == s.label;
                    any |= frame[p] != 0;
                }
                if (!any) continue;
                const Vec3 pos = g.indexToWorld({0, 0, double(k)});
                std::unique_ptr<FGPlanePosPatient> position(
                    FGPlanePosPatient::createMinimal(ds(pos[0]), ds(pos[1]), ds(pos[2])));
                ImageSOPInstanceReferenceMacro ref;
                check(ref.setReferencedSOPClassUID(id.slices[k].sopClassUid.c_str()), "source reference");
                check(ref.setReferencedSOPInstanceUID(id.slices[k].sopInstanceUid.c_str()),
                      "source reference");
                std::unique_ptr<FGDerivationImage> derivation(FGDerivationImage::createMinimal(
                    {ref}, "", CodeSequenceMacro("113076", "DCM", "Segmentation"),
                    CodeSequenceMacro("121322", "DCM", "Source image for image processing operation")));
                FGFrameContent frameContent;
                check(frameContent.setDimensionIndexValues(segmentNumber, 0), "frame content");
                check(frameContent.setDimensionIndexValues(static_cast<Uint32>(k + 1), 1), "frame content");
                check(seg->addFrame(frame.data(), segmentNumber,
                                    {position.get(), derivation.get(), &frameContent}),
                      "frame " + std::to_string(k) + " of segment " + s.name);
                ++report.frames;
            }
            ++report.segments;
        }
        if (report.frames == 0)
            throw OutputError("the label map holds no voxel of any segment; nothing to export");
        progress.report(1.0, "Saving " + path.filename().string());
        check(seg->saveFile(tmp.c_str()), "saving");
    });
    spdlog::info("wrote DICOM-SEG {}: {} segments, {} frames", path.string(), report.segments, report.frames);
    return report;
}

namespace {

CodedConcept readCode(DcmItem& parent, const DcmTagKey& sequence) {
    DcmItem* item = nullptr;
    if (parent.findAndGetSequenceItem(sequence, item, 0).bad() || !item) return {};
    return {detail::dicomString(*item, DCM_CodeValue), detail::dicomString(*item, DCM_CodingSchemeDesignator),
            detail::dicomString(*item, DCM_CodeMeaning)};
}

// Looks up `tag` inside functional group `group` of a frame's per-frame item, falling back to the shared
// item.
bool frameDoubles(DcmItem* perFrame, DcmItem* shared, const DcmTagKey& group, const DcmTagKey& tag,
                  double* out, int n) {
    for (DcmItem* fg : {perFrame, shared}) {
        DcmItem* inner = nullptr;
        if (!fg || fg->findAndGetSequenceItem(group, inner, 0).bad() || !inner) continue;
        bool ok = true;
        for (int i = 0; i < n && ok; ++i) {
            Float64 v;
            ok = inner->findAndGetFloat64(tag, v, static_cast<unsigned long>(i)).good() && std::isfinite(v);
            out[i] = v;
        }
        if (ok) return true;
    }
    return false;
}

}  // namespace

DicomSegImport readDicomSeg(const fs::path& path, const ImageGeometry& grid) {
    detail::ensureDicomLibrariesInitialised();
    const std::string name = path.string();
    DcmFileFormat ff;
    if (OFCondition c = ff.loadFile(path.c_str()); c.bad())
        throw InputError("Cannot read " + name + ": " + c.text());
    DcmDataset& ds = *ff.getDataset();
    std::error_code ec;
    if (const auto tag = detail::elementLongerThanFile(ds, fs::file_size(path, ec)); !tag.empty() || ec)
        throw InputError("Cannot import " + name + ": its element " + tag +
                         " claims more bytes than the file holds (truncated or damaged).");
    const std::string sopClass = detail::dicomString(ds, DCM_SOPClassUID);
    if (sopClass != kSegmentationStorage && sopClass != kLabelMapSegmentationStorage)
        throw InputError("Cannot import " + name + ": it is not a DICOM segmentation (SOP class " + sopClass +
                         ").");
    const std::string type = detail::dicomString(ds, DCM_SegmentationType);
    Uint16 rows = 0, cols = 0, bits = 0;
    ds.findAndGetUint16(DCM_Rows, rows);
    ds.findAndGetUint16(DCM_Columns, cols);
    ds.findAndGetUint16(DCM_BitsAllocated, bits);
    Sint32 frames = 1;
    ds.findAndGetSint32(DCM_NumberOfFrames, frames);
    if (rows == 0 || cols == 0 || frames <= 0)
        throw InputError("Cannot import " + name + ": it declares no frames.");
    // Decompressing (RLE) makes the pixel data the size claimed: checked before.
    requireVoxelCount({cols, rows, frames}, "Cannot import " + name + ": its frames");
    if (ds.chooseRepresentation(EXS_LittleEndianExplicit, nullptr).bad())
        throw InputError("Cannot import " + name +
                         ": its pixel data uses a compression Engram cannot decode.");
    if (!((type == "BINARY" && bits == 1) || (type == "FRACTIONAL" && bits == 8) ||
          (type == "LABELMAP" && (bits == 8 || bits == 16))))
        throw InputError("Cannot import " + name + ": unsupported segmentation type " + type + " with " +
                         std::to_string(bits) + " bits per pixel.");
    Uint16 maxFraction = 255;
    ds.findAndGetUint16(DCM_MaximumFractionalValue, maxFraction);

    DicomSegImport out;
    out.seriesDescription = detail::dicomString(ds, DCM_SeriesDescription);
    if (DcmItem* ref = nullptr; ds.findAndGetSequenceItem(DCM_ReferencedSeriesSequence, ref, 0).good() && ref)
        out.referencedSeriesUid = detail::dicomString(*ref, DCM_SeriesInstanceUID);

    // Segments, by number.
    std::map<Uint16, std::size_t> indexOf;
    DcmSequenceOfItems* segSeq = nullptr;
    if (ds.findAndGetSequence(DCM_SegmentSequence, segSeq).good() && segSeq) {
        for (unsigned long i = 0; i < segSeq->card(); ++i) {
            DcmItem* it = segSeq->getItem(i);
            Uint16 number = 0;
            it->findAndGetUint16(DCM_SegmentNumber, number);
            if (number == 0) continue;  // label map background
            if (indexOf.count(number))
                throw InputError("Cannot import " + name + ": segment number " + std::to_string(number) +
                                 " is defined twice.");
            if (indexOf.size() == 255)
                throw InputError("Cannot import " + name +
                                 ": it has more than 255 segments; Engram holds at "
                                 "most 255.");
            ImportedSegment s;
            s.segmentNumber = number;
            s.segment.name = detail::dicomString(*it, DCM_SegmentLabel);
            s.segment.category = readCode(*it, DCM_SegmentedPropertyCategoryCodeSequence);
            s.segment.type = readCode(*it, DCM_SegmentedPropertyTypeCodeSequence);
            const std::string algo = detail::dicomString(*it, DCM_SegmentAlgorithmType);
            s.segment.algorithm = algo == "MANUAL"      ? SegmentAlgorithm::Manual
                                  : algo == "AUTOMATIC" ? SegmentAlgorithm::Automatic
                                                        : SegmentAlgorithm::SemiAutomatic;
            s.segment.algorithmName = detail::dicomString(*it, DCM_SegmentAlgorithmName);
            Uint16 lab[3];
            if (it->findAndGetUint16(DCM_RecommendedDisplayCIELabValue, lab[0], 0).good() &&
                it->findAndGetUint16(DCM_RecommendedDisplayCIELabValue, lab[1], 1).good() &&
                it->findAndGetUint16(DCM_RecommendedDisplayCIELabValue, lab[2], 2).good()) {
                double r, g, b;
                IODCIELabUtil::dicomLab2RGB(r, g, b, lab[0], lab[1], lab[2]);
                auto to8 = [](double x) {
                    return static_cast<std::uint8_t>(std::lround(std::clamp(x, 0.0, 1.0) * 255));
                };
                s.segment.color = {to8(r), to8(g), to8(b)};
            } else {
                s.segment.color =
                    SegmentList::defaultFor(static_cast<std::uint8_t>(std::min<int>(number, 255))).color;
            }
            indexOf[number] = out.segments.size();
            out.segments.push_back(std::move(s));
        }
    }
    if (out.segments.empty()) throw InputError("Cannot import " + name + ": it defines no segments.");
    for (std::size_t i = 0; i < out.segments.size(); ++i) {
        out.segments[i].segment.label = static_cast<std::uint8_t>(i + 1);
        out.segments[i].mask.assign(static_cast<std::size_t>(grid.voxelCount()), 0);
    }

    // Pixel data.
    const std::size_t framePixels = std::size_t(rows) * cols;
    const Uint8* bytes = nullptr;
    const Uint16* words = nullptr;
    unsigned long length = 0;
    DcmElement* pixelElement = nullptr;
    if (ds.findAndGetElement(DCM_PixelData, pixelElement).bad() || !pixelElement)
        throw InputError("Cannot import " + name + ": it has no pixel data.");
    length = pixelElement->getLength();
    const std::size_t needed = bits == 1 ? (framePixels * std::size_t(frames) + 7) / 8
                                         : framePixels * std::size_t(frames) * (bits / 8);
    if (length < needed) throw InputError("Cannot import " + name + ": the pixel data is truncated.");
    if (bits == 16) {
        Uint16* w = nullptr;
        pixelElement->getUint16Array(w);
        words = w;
    } else {
        Uint8* b = nullptr;
        pixelElement->getUint8Array(b);
        bytes = b;
    }
    if (!bytes && !words) throw InputError("Cannot import " + name + ": its pixel data cannot be read.");

    DcmItem* shared = nullptr;
    ds.findAndGetSequenceItem(DCM_SharedFunctionalGroupsSequence, shared, 0);
    DcmSequenceOfItems* perFrameSeq = nullptr;
    ds.findAndGetSequence(DCM_PerFrameFunctionalGroupsSequence, perFrameSeq);
    if (!perFrameSeq || perFrameSeq->card() < static_cast<unsigned long>(frames))
        throw InputError("Cannot import " + name + ": the per-frame functional groups are missing.");

    for (Sint32 f = 0; f < frames; ++f) {
        DcmItem* perFrame = perFrameSeq->getItem(static_cast<unsigned long>(f));
        double ipp[3], iop[6], ps[2];
        if (!frameDoubles(perFrame, shared, DCM_PlanePositionSequence, DCM_ImagePositionPatient, ipp, 3) ||
            !frameDoubles(perFrame, shared, DCM_PlaneOrientationSequence, DCM_ImageOrientationPatient, iop,
                          6) ||
            !frameDoubles(perFrame, shared, DCM_PixelMeasuresSequence, DCM_PixelSpacing, ps, 2))
            throw InputError("Cannot import " + name + ": frame " + std::to_string(f + 1) +
                             " lacks its position, "
                             "orientation or pixel spacing.");
        std::size_t segIndex = 0;
        if (type != "LABELMAP") {
            DcmItem* ident = nullptr;
            Uint16 number = 0;
            if (perFrame->findAndGetSequenceItem(DCM_SegmentIdentificationSequence, ident, 0).bad() ||
                !ident || ident->findAndGetUint16(DCM_ReferencedSegmentNumber, number).bad() ||
                !indexOf.count(number))
                throw InputError("Cannot import " + name + ": frame " + std::to_string(f + 1) +
                                 " does not name a defined segment.");
            segIndex = indexOf[number];
        }
        // Continuous target index of pixel (r, c) = i0 + c * dc + r * dr: on a matching grid i0 is a voxel
        // and dc, dr are unit steps along two index axes.
        const Vec3 p0{ipp[0], ipp[1], ipp[2]};
        const Vec3 i0 = grid.worldToIndex(p0);
        Vec3 pc, pr;
        for (int a = 0; a < 3; ++a) {
            pc[a] = p0[a] + ps[1] * iop[a];
            pr[a] = p0[a] + ps[0] * iop[3 + a];
        }
        const Vec3 ic = grid.worldToIndex(pc), ir = grid.worldToIndex(pr);
        std::int64_t base[3], dc[3], dr[3];
        bool aligned = true;
        for (int a = 0; a < 3; ++a) {
            base[a] = std::llround(i0[a]);
            dc[a] = std::llround(ic[a] - i0[a]);
            dr[a] = std::llround(ir[a] - i0[a]);
            aligned &= std::abs(i0[a] - double(base[a])) < 0.05 &&
                       std::abs(ic[a] - i0[a] - double(dc[a])) < 0.01 &&
                       std::abs(ir[a] - i0[a] - double(dr[a])) < 0.01;
        }
        const auto l1 = [](const std::int64_t* v) {
            return std::abs(v[0]) + std::abs(v[1]) + std::abs(v[2]);
        };
        // One index axis along the rows, another along the columns: then the frame's two opposite corners
        // inside the grid put every pixel inside it.
        const auto axisOf = [](const std::int64_t* v) { return v[0] != 0 ? 0 : v[1] != 0 ? 1 : 2; };
        if (!aligned || l1(dc) != 1 || l1(dr) != 1 || axisOf(dc) == axisOf(dr))
            throw InputError(
                "Cannot import " + name + " onto this image: frame " + std::to_string(f + 1) +
                " is not sampled on the image's grid (its pixel spacing, orientation or position "
                "differs from the image's voxels).");
        auto inside = [&](std::int64_t r, std::int64_t c) {
            return grid.contains({base[0] + c * dc[0] + r * dr[0], base[1] + c * dc[1] + r * dr[1],
                                  base[2] + c * dc[2] + r * dr[2]});
        };
        if (!inside(0, 0) || !inside(rows - 1, cols - 1))
            throw InputError("Cannot import " + name + " onto this image: frame " + std::to_string(f + 1) +
                             " lies outside the image.");
        const std::size_t frameStart = std::size_t(f) * framePixels;
        for (std::int64_t r = 0; r < rows; ++r)
            for (std::int64_t c = 0; c < cols; ++c) {
                const std::size_t px = frameStart + std::size_t(r) * cols + std::size_t(c);
                std::size_t target = segIndex;
                bool on;
                if (bits == 1) {
                    on = (bytes[px / 8] >> (px % 8)) & 1;
                } else if (type == "FRACTIONAL") {
                    on = bytes[px] * 2 > maxFraction;
                } else {
                    const unsigned v = bits == 8 ? bytes[px] : words[px];
                    on = v != 0 && indexOf.count(static_cast<Uint16>(v));
                    if (on) target = indexOf[static_cast<Uint16>(v)];
                }
                if (!on) continue;
                const std::int64_t i = base[0] + c * dc[0] + r * dr[0], j = base[1] + c * dc[1] + r * dr[1],
                                   k = base[2] + c * dc[2] + r * dr[2];
                out.segments[target].mask[static_cast<std::size_t>(grid.offset(i, j, k))] = 1;
            }
    }
    for (auto& s : out.segments)
        for (std::uint8_t v : s.mask) s.voxelCount += v;
    spdlog::info("read DICOM-SEG {}: {} segments", name, out.segments.size());
    return out;
}

LabelMap DicomSegImport::toLabelMap(const ImageGeometry& grid, std::int64_t* overlapping) const {
    LabelMap map(grid);
    auto& l = map.labels();
    for (const auto& s : segments)
        for (std::size_t v = 0; v < s.mask.size(); ++v)
            if (s.mask[v] && l[v] == 0) l[v] = s.segment.label;
    if (overlapping) *overlapping = overlappingVoxels();
    return map;
}

SegmentList DicomSegImport::segmentList() const {
    SegmentList list;
    for (const auto& s : segments) list.put(s.segment);
    return list;
}

std::int64_t DicomSegImport::overlappingVoxels() const {
    if (segments.empty()) return 0;
    // Segment by segment through memory (not voxel by voxel across the masks): how many segments hold each
    // voxel, up to 2.
    std::vector<std::uint8_t> holders(segments.front().mask.size(), 0);
    for (const auto& s : segments)
        for (std::size_t v = 0; v < holders.size(); ++v) holders[v] += s.mask[v] & (holders[v] < 2);
    return std::count(holders.begin(), holders.end(), std::uint8_t(2));
}

void DicomSegImport::separateOverlaps() {
    if (segments.empty()) return;
    const std::size_t fileSegments = segments.size();
    std::map<std::vector<std::size_t>, std::size_t> combination;  // segments sharing voxels -> new segment
    std::vector<std::size_t> in;
    for (std::size_t v = 0; v < segments.front().mask.size(); ++v) {
        in.clear();
        for (std::size_t i = 0; i < fileSegments; ++i)
            if (segments[i].mask[v]) in.push_back(i);
        if (in.size() < 2) continue;
        auto it = combination.find(in);
        if (it == combination.end()) {
            if (segments.size() == 255)
                throw InputError("The segments overlap in more than " + std::to_string(255 - fileSegments) +
                                 " different combinations: that needs more than 255 segments.");
            ImportedSegment shared;
            shared.segment = segments[in.front()].segment;
            shared.segment.label = static_cast<std::uint8_t>(segments.size() + 1);
            shared.segment.name.clear();
            int r = 0, g = 0, b = 0;
            for (std::size_t i : in) {
                const Segment& s = segments[i].segment;
                shared.segment.name += (shared.segment.name.empty() ? "" : " + ") + s.name;
                r += s.color.r;
                g += s.color.g;
                b += s.color.b;
            }
            const int n = static_cast<int>(in.size());
            shared.segment.color = {static_cast<std::uint8_t>(r / n), static_cast<std::uint8_t>(g / n),
                                    static_cast<std::uint8_t>(b / n)};
            const AnatomyEntry generic = AnatomyCatalog::generic();
            shared.segment.category = generic.category;
            shared.segment.type = generic.type;
            shared.mask.assign(segments.front().mask.size(), 0);
            it = combination.emplace(in, segments.size()).first;
            segments.push_back(std::move(shared));
        }
        segments[it->second].mask[v] = 1;
        ++segments[it->second].voxelCount;
        for (std::size_t i : in) {
            segments[i].mask[v] = 0;
            --segments[i].voxelCount;
        }
    }
    if (!combination.empty())
        spdlog::info("overlapping DICOM-SEG segments: {} combinations made segments of their own",
                     combination.size());
}

bool isDicomSegFile(const std::filesystem::path& path) {
    if (!isDicomFile(path)) return false;
    const auto meta = detail::readMetaHeader(path);
    return meta && (meta->sopClass == kSegmentationStorage || meta->sopClass == kLabelMapSegmentationStorage);
}

bool isDicomFile(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    char head[132] = {};
    return std::filesystem::is_regular_file(path) && in.read(head, sizeof head) &&
           std::string(head + 128, 4) == "DICM";
}

}  // namespace engram
