#include "../support/TestSupport.h"

#include <engram/annotation/DicomSeries.h>
#include <engram/annotation/Errors.h>

#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcfilefo.h>

#include <algorithm>
#include <fstream>
#include <sstream>

namespace fs = std::filesystem;
using namespace engram;
using engram::test::expectError;
using engram::test::freshDir;
using engram::test::shared;

namespace {

std::vector<fs::path> filesOf(const fs::path& dir) {
    std::vector<fs::path> f;
    for (const auto& e : fs::directory_iterator(dir)) f.push_back(e.path());
    std::sort(f.begin(), f.end());
    return f;
}

// Overwrites `file`'s bytes `offset` past the first `pattern` at or after byte `from` with `with`; false
// when the pattern is not there.
bool patchBytes(const fs::path& file, const std::string& pattern, std::size_t offset, const std::string& with,
                std::size_t from = 0) {
    std::string bytes;
    {
        std::ifstream in(file, std::ios::binary);
        bytes.assign(std::istreambuf_iterator<char>(in), {});
    }
    const auto at = bytes.find(pattern, from);
    if (at == std::string::npos) return false;
    bytes.replace(at + offset, with.size(), with);
    std::ofstream(file, std::ios::binary | std::ios::trunc) << bytes;
    return true;
}

// Copies the uncompressed 20-slice CT into `dir` under scrambled names; `edit(k, dataset)` may change the
// k-th file (in file-name order of the source); returning false drops it.
fs::path copyCt(const std::string& name, const std::function<bool(std::size_t, DcmDataset&)>& edit = {}) {
    const fs::path dir = freshDir(name);
    const auto src = filesOf(shared("dicom/ct-abdomen-20slice"));
    for (std::size_t k = 0; k < src.size(); ++k) {
        DcmFileFormat ff;
        EXPECT_TRUE(ff.loadFile(src[k].c_str()).good());
        if (edit && !edit(k, *ff.getDataset())) continue;
        // Reverse and scramble the names so that file order says nothing about slice order.
        const fs::path dst =
            dir / ("img" + std::to_string((k * 7) % 20) + "_" + std::to_string(19 - k) + ".dcm");
        EXPECT_TRUE(ff.saveFile(dst.c_str()).good());
    }
    return dir;
}

std::array<double, 3> ippOf(DcmDataset& ds) {
    std::array<double, 3> p{};
    for (unsigned long i = 0; i < 3; ++i) ds.findAndGetFloat64(DCM_ImagePositionPatient, p[i], i);
    return p;
}

void setIpp(DcmDataset& ds, std::array<double, 3> p) {
    std::ostringstream s;
    s.precision(10);
    s << p[0] << "\\" << p[1] << "\\" << p[2];
    ds.putAndInsertString(DCM_ImagePositionPatient, s.str().c_str());
}

}  // namespace

TEST(DicomSeries, ListsEverySeriesOfAFolderTree) {
    const auto series = scanDicomFolder(shared("dicom"));
    auto find = [&](auto pred) { return std::find_if(series.begin(), series.end(), pred); };
    const auto mr = find([](const DicomSeriesInfo& s) { return s.imageCount() == 120; });
    ASSERT_NE(mr, series.end());
    EXPECT_EQ(mr->modality, "MR");
    EXPECT_FALSE(mr->patientId.empty() && mr->patientName.empty());
    // The J2K copy has empty UIDs: it is listed on its own, not merged with the uncompressed copy.
    const auto j2k =
        find([](const DicomSeriesInfo& s) { return s.seriesInstanceUid.empty() && s.imageCount() == 20; });
    ASSERT_NE(j2k, series.end());
    EXPECT_EQ(j2k->seriesDescription, "CT Body 3.0");
    EXPECT_NE(
        find([](const DicomSeriesInfo& s) { return !s.seriesInstanceUid.empty() && s.imageCount() == 20; }),
        series.end());
    const auto segs = std::count_if(series.begin(), series.end(),
                                    [](const DicomSeriesInfo& s) { return s.isSegmentation; });
    EXPECT_GE(segs, 5);
    EXPECT_NE(mr->summary().find("120 images"), std::string::npos);
}

TEST(DicomSeries, SortsByPositionAlongTheNormalNotByFileOrInstanceNumber) {
    // Scramble the instance numbers as well as the file names.
    const fs::path dir = copyCt("dicom-sorted", [](std::size_t k, DcmDataset& ds) {
        ds.putAndInsertString(DCM_InstanceNumber, std::to_string((k * 13) % 20 + 1).c_str());
        return true;
    });
    const Volume v = loadDicomFolder(dir);
    const ImageGeometry& g = v.geometry();
    ASSERT_EQ(g.size, (Index3{512, 512, 20}));
    EXPECT_NEAR(g.spacing[2], 2.0, 1e-6);
    ASSERT_TRUE(v.metadata().dicom);
    // Slice k of the volume is the file whose ImagePositionPatient is the world point of voxel (0,0,k).
    for (std::int64_t k = 0; k < 20; ++k) {
        DcmFileFormat ff;
        ASSERT_TRUE(ff.loadFile(v.metadata().dicom->slices[k].file.c_str()).good());
        const auto ipp = ippOf(*ff.getDataset());
        const Vec3 w = g.indexToWorld({0, 0, double(k)});
        for (int a = 0; a < 3; ++a) EXPECT_NEAR(w[a], ipp[a], 1e-4) << "slice " << k;
    }
    EXPECT_TRUE(v.metadata().warnings.empty());
    EXPECT_EQ(v.metadata().modality, "CT");
}

TEST(DicomSeries, Jpeg2000DecodesToTheSameVoxelsWithRescaleApplied) {
    const Volume raw = loadDicomFolder(shared("dicom/ct-abdomen-20slice"));
    const Volume j2k = loadDicomFolder(shared("dicom/ct-abdomen-20slice-j2k"));
    EXPECT_TRUE(j2k.geometry().sameGrid(raw.geometry(), 1e-6));
    EXPECT_EQ(j2k.voxels(), raw.voxels());
    const auto [lo, hi] = raw.valueRange();
    EXPECT_EQ(lo, -1024.0f);  // RescaleIntercept -1024 applied
    EXPECT_GT(hi, 1000.0f);
}

TEST(DicomSeries, MultiFrameMatchesItsSingleFrameTwin) {
    const Volume single = loadDicomFolder(shared("dicom/dcmqi/24x38x3/image"));
    const Volume multi = loadDicomFolder(shared("dicom/dcmqi/24x38x3/multiframe"));
    EXPECT_TRUE(multi.geometry().sameGrid(single.geometry(), 1e-4)) << multi.geometry().describe() << "\n"
                                                                    << single.geometry().describe();
    EXPECT_EQ(multi.voxels(), single.voxels());
}

TEST(DicomSeries, MrSeriesLoads) {
    const Volume v = loadDicomFolder(shared("dicom/mr-brain-120slice"));
    EXPECT_EQ(v.geometry().size, (Index3{512, 512, 120}));
    EXPECT_EQ(v.metadata().modality, "MR");
    EXPECT_TRUE(v.geometry().hasOrthonormalDirection());
}

TEST(DicomSeries, MissingSliceIsAnError) {
    const fs::path dir = copyCt("dicom-missing", [](std::size_t k, DcmDataset&) { return k != 9; });
    expectError<InputError>([&] { loadDicomFolder(dir); }, {"slice is missing", "gap of 4 mm", "steps 2 mm"});
}

TEST(DicomSeries, MixedOrientationsInOneSeriesAreAnError) {
    const fs::path dir = copyCt("dicom-mixed", [](std::size_t k, DcmDataset& ds) {
        if (k == 5) ds.putAndInsertString(DCM_ImageOrientationPatient, "1\\0\\0\\0\\0\\-1");
        return true;
    });
    expectError<InputError>([&] { loadDicomFolder(dir); }, {"mixes image orientations"});
}

TEST(DicomSeries, DuplicatePositionsAreAnError) {
    const fs::path dir = copyCt("dicom-duplicate", [](std::size_t k, DcmDataset& ds) {
        if (k == 3) {
            auto p = ippOf(ds);
            p[2] += 2.0;  // onto its neighbour
            setIpp(ds, p);
        }
        return true;
    });
    expectError<InputError>([&] { loadDicomFolder(dir); }, {"same position"});
}

TEST(DicomSeries, UnevenSpacingAndGantryTiltAreReported) {
    const fs::path uneven = copyCt("dicom-uneven", [](std::size_t k, DcmDataset& ds) {
        if (k == 7) {
            auto p = ippOf(ds);
            p[2] += 0.4;
            setIpp(ds, p);
        }
        return true;
    });
    const Volume u = loadDicomFolder(uneven);
    ASSERT_EQ(u.metadata().warnings.size(), 1u);
    EXPECT_NE(u.metadata().warnings[0].find("Uneven slice spacing"), std::string::npos);

    const fs::path tilted = copyCt("dicom-tilt", [](std::size_t, DcmDataset& ds) {
        auto p = ippOf(ds);
        p[1] += 0.2 * p[2];  // y shifts with z: a tilted stack
        setIpp(ds, p);
        ds.putAndInsertString(DCM_GantryDetectorTilt, "11.3");
        return true;
    });
    const Volume t = loadDicomFolder(tilted);
    ASSERT_FALSE(t.metadata().warnings.empty());
    EXPECT_NE(t.metadata().warnings.back().find("Gantry tilt"), std::string::npos);
}

TEST(DicomSeries, FoldersWithoutImagesOrWithSeveralSeries) {
    const fs::path empty = freshDir("dicom-none");
    std::ofstream(empty / "notes.txt") << "not dicom";
    expectError<InputError>([&] { scanDicomFolder(empty); }, {"No DICOM images", "dicom-none"});
    expectError<InputError>([&] { scanDicomFolder(empty / "absent"); }, {"not a folder"});
    expectError<InputError>([&] { loadDicomFolder(shared("dicom/dcmqi")); }, {"image series; choose one"});
    const auto series = scanDicomFolder(shared("dicom/dcmqi/ct-3slice"));
    ASSERT_EQ(series.size(), 1u);
    EXPECT_EQ(loadDicomFolder(shared("dicom/dcmqi"), series[0].key).geometry().size[2], 3);
}

TEST(DicomSeries, CorruptPixelDataIsReportedByFile) {
    const fs::path dir = freshDir("dicom-corrupt");
    for (const auto& f : filesOf(shared("dicom/ct-abdomen-20slice"))) fs::copy_file(f, dir / f.filename());
    const auto victim = filesOf(dir)[4];
    fs::resize_file(victim, fs::file_size(victim) / 2);  // header intact, pixels cut
    try {
        loadDicomFolder(dir);
        FAIL() << "truncated pixel data accepted";
    } catch (const InputError& e) {
        EXPECT_NE(std::string(e.what()).find(victim.filename().string()), std::string::npos) << e.what();
    }
}

// Found by fuzz_dicom: GDCM aborted the process (an assert) on a slice claiming two samples per pixel, on
// 8- and 32-bit pixels with fewer bits stored, and on signed 12-bit MONOCHROME1 (which it cannot invert),
// also when named otherwise.
// Such pixel formats are refused from the header, by file, before GDCM decodes.
TEST(DicomSeries, PixelFormatsGdcmCannotDecodeAreRefusedBeforeDecoding) {
    struct Case {
        const char* what;
        std::vector<std::pair<DcmTagKey, Uint16>> numbers;
        const char* photometric = nullptr;
        const char* says = "Cannot load";
    };
    const Case cases[] = {
        {"two samples", {{DCM_SamplesPerPixel, 2}}},
        {"three samples", {{DCM_SamplesPerPixel, 3}}},
        {"12 bits allocated", {{DCM_BitsAllocated, 12}}},
        {"high bit 40", {{DCM_HighBit, 40}}},
        {"representation 7", {{DCM_PixelRepresentation, 7}}},
        {"7 of 8 bits",
         {{DCM_BitsAllocated, 8}, {DCM_BitsStored, 7}, {DCM_HighBit, 6}},
         nullptr,
         "7 bits in each 8"},
        {"24 of 32 bits",
         {{DCM_BitsAllocated, 32}, {DCM_BitsStored, 24}, {DCM_HighBit, 23}},
         nullptr,
         "24 bits in each 32"},
        {"signed 12-bit MONOCHROME1",
         {{DCM_PixelRepresentation, 1}, {DCM_BitsStored, 12}, {DCM_HighBit, 11}},
         "MONOCHROME1",
         "cannot invert"},
        // GDCM took this for MONOCHROME1 and asserted in the same inversion (found by fuzz_dicom, round 6)
        {"signed 12-bit MONOC ROME2",
         {{DCM_PixelRepresentation, 1}, {DCM_BitsStored, 12}, {DCM_HighBit, 11}},
         "MONOC ROME2",
         "photometric interpretation is \"MONOC ROME2\", where a greyscale image has MONOCHROME1 or "
         "MONOCHROME2"},
    };
    for (const auto& c : cases) {
        SCOPED_TRACE(c.what);
        const fs::path dir = copyCt("dicom-pixel-format", [&](std::size_t k, DcmDataset& ds) {
            if (k != 7) return true;
            for (const auto& [tag, value] : c.numbers) ds.putAndInsertUint16(tag, value);
            if (c.photometric) ds.putAndInsertString(DCM_PhotometricInterpretation, c.photometric);
            return true;
        });
        expectError<InputError>([&] { loadDicomFolder(dir); }, {"Cannot load", ".dcm", c.says});
    }
    // Signed 12-bit MONOCHROME2 (most CT) and unsigned 12-bit MONOCHROME1 still load.
    for (const char* photometric : {"MONOCHROME2", "MONOCHROME1"}) {
        SCOPED_TRACE(photometric);
        const fs::path dir = copyCt("dicom-pixel-format", [&](std::size_t, DcmDataset& ds) {
            ds.putAndInsertUint16(DCM_PixelRepresentation, std::string(photometric) == "MONOCHROME2" ? 1 : 0);
            ds.putAndInsertUint16(DCM_BitsStored, 12);
            ds.putAndInsertUint16(DCM_HighBit, 11);
            ds.putAndInsertString(DCM_PhotometricInterpretation, photometric);
            return true;
        });
        EXPECT_NO_THROW(loadDicomFolder(dir));
    }
}

// Found by fuzz_dicom (CPU-hour campaign, from the tiny seed): a slice whose Rows claim more pixels than its
// uncompressed pixel data holds made GDCM copy the full size out of the short buffer (a heap overflow). The
// header's claim is checked against the element's length at the scan; the file is refused by name.
TEST(DicomSeries, PixelDataShorterThanItsRowsAndColumnsIsRefused) {
    const fs::path dir = copyCt("dicom-short-pixels", [](std::size_t k, DcmDataset& ds) {
        if (k == 7) ds.putAndInsertUint16(DCM_Rows, 1024);
        return true;
    });
    expectError<InputError>([&] { loadDicomFolder(dir); }, {"Cannot load", ".dcm", "truncated or damaged",
                                                            "pixel data holds", "pixels need"});
}

// Found by fuzz_dicom (CPU-hour campaign): the MR's De-identification Method Code Sequence, stored with
// undefined length, given the odd explicit length 61165: DCMTK reads on, GDCM loses its place in the data set
// and allocated 2.2 GB for an "element" of a 528 KB file. Such a file is refused by name before GDCM reads
// it.
TEST(DicomSeries, ASequenceWithAnOddLengthIsRefusedBeforeGdcmReadsIt) {
    const fs::path dir = freshDir("dicom-odd-sequence");
    const auto files = filesOf(shared("dicom/mr-brain-120slice"));
    for (std::size_t i = 0; i < 4; ++i) fs::copy_file(files[i], dir / files[i].filename());
    const fs::path victim = dir / files[2].filename();
    const std::uint32_t odd = 61165;
    ASSERT_TRUE(patchBytes(victim, std::string("\x12\x00\x64\x00\xff\xff\xff\xff", 8), 4,
                           std::string(reinterpret_cast<const char*>(&odd), 4)));
    expectError<InputError>([&] { loadDicomFolder(dir); },
                            {"Cannot load", victim.filename().string(), "(0012,0064)", "odd length 61165"});
}

// Found by fuzz_dicom (from the tiny seed, twice): PhotometricInterpretation's tag turned into
// PlanarConfiguration's, so that a US element held 12 bytes of CS, and RescaleIntercept stored as AE; GDCM
// asserted (an abort) on each. The attributes GDCM reads as one fixed kind must be stored as that kind. And
// (round 6, from pydicom's CT): an element whose VR is no DICOM one, which DCMTK reads with a 2-byte length
// and GDCM with a 4-byte one (it allocated 3 GB); a file meta element repeated with such a VR, which DCMTK
// dropped and GDCM asserted on. Each file is refused by name before GDCM reads it.
TEST(DicomSeries, AnElementOfTheWrongKindOrNoneIsRefusedBeforeGdcmReadsIt) {
    struct Case {
        std::string element;  // tag and VR as stored (explicit VR little endian)
        std::size_t at;       // the byte changed
        std::string to;
        std::string attribute, says;
    };
    const Case cases[] = {
        {std::string("\x28\x00\x04\x00"
                     "CS",
                     6),
         2, "\x06", "PlanarConfiguration (0028,0006)", "is stored as CS, where DICOM has US"},
        {std::string("\x28\x00\x52\x10"
                     "DS",
                     6),
         4, "AE", "RescaleIntercept (0028,1052)", "is stored as AE, where DICOM has DS"},
        {std::string("\x08\x00\x60\x00"
                     "CS",
                     6),
         4, "'L", "element (0008,0060)", "has no valid value representation"},
        // the file meta group, walked as GDCM walks it: DCMTK drops a repeated element, GDCM read it
        {std::string("\x02\x00\x13\x00"
                     "SH",
                     6),
         2, "\x12", "file meta element (0002,0012)", "is out of order or repeated"},
        {std::string("\x02\x00\x13\x00"
                     "SH",
                     6),
         4, "?H", "file meta element (0002,0013)", "has no valid value representation"},
    };
    for (const auto& c : cases) {
        SCOPED_TRACE(c.attribute);
        const fs::path dir = copyCt("dicom-wrong-vr");
        const fs::path victim = filesOf(dir)[5];
        ASSERT_TRUE(patchBytes(victim, c.element, c.at, c.to));
        expectError<InputError>([&] { loadDicomFolder(dir); },
                                {"Cannot load", victim.filename().string(), c.attribute, c.says});
    }
}

// Found by fuzz_dicom (round 6, from the tiny seed): SOPInstanceUID's tag turned into the Recognition Code's
// (0008,0010), a retired ACR-NEMA element; GDCM asserts (an abort) when it holds anything but an ACR-NEMA or
// MIPS 2.0 mark. Such a file is refused by name before GDCM reads it; an ACR-NEMA mark still loads.
TEST(DicomSeries, ARecognitionCodeThatIsNoAcrNemaMarkIsRefusedBeforeGdcmReadsIt) {
    const fs::path junk = copyCt("dicom-recognition-code", [](std::size_t k, DcmDataset& ds) {
        if (k == 4) ds.putAndInsertString(DCM_RETIRED_RecognitionCode, "1.2.826.0.1.3680043.8.498.1");
        return true;
    });
    expectError<InputError>([&] { loadDicomFolder(junk); },
                            {"Cannot load", ".dcm", "truncated or damaged", "Recognition Code (0008,0010)"});
    const fs::path acrNema = copyCt("dicom-recognition-code-acr-nema", [](std::size_t, DcmDataset& ds) {
        ds.putAndInsertString(DCM_RETIRED_RecognitionCode, "ACR-NEMA 2.0");
        return true;
    });
    EXPECT_NO_THROW(loadDicomFolder(acrNema));
}

// Found by fuzz_dicom (hour campaign): a text element claiming 4 GB made the very check for such claims
// allocate it (DCMTK measures a string by loading it); only the declared length is read now. The 4 GB
// allocation itself is what the fuzzer's malloc limit reported (its input, a mutated shared file, is not
// kept); this checks what the user gets: the scan passes over the file and finds the rest of the series.
TEST(DicomSeries, ATextElementClaimingGigabytesIsNotLoaded) {
    const fs::path dir = copyCt("dicom-huge-text");
    const auto files = filesOf(dir);
    const fs::path victim = files[3];
    {
        // Implicit VR: every element has a 4-byte length, which StudyDescription (0008,1030) then claims.
        DcmFileFormat ff;
        ASSERT_TRUE(ff.loadFile(victim.c_str()).good());
        ff.getDataset()->putAndInsertString(DCM_StudyDescription, "ABDOMEN");
        ASSERT_TRUE(ff.saveFile(victim.c_str(), EXS_LittleEndianImplicit).good());
    }
    const std::uint32_t claim = 0xFFFFFFF0u;
    ASSERT_TRUE(patchBytes(victim, std::string("\x08\x00\x30\x10\x08\x00\x00\x00", 8), 4,
                           std::string(reinterpret_cast<const char*>(&claim), 4), 132));

    const auto series = scanDicomFolder(dir);
    ASSERT_EQ(series.size(), 1u);
    EXPECT_EQ(series[0].imageCount(), 19u);
    for (const auto& image : series[0].images) EXPECT_NE(image.file, victim.string());
}
