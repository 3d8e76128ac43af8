#include "../support/TestSupport.h"

#include <engram/annotation/DicomSeg.h>
#include <engram/annotation/DicomSeries.h>
#include <engram/annotation/Errors.h>
#include <engram/annotation/VolumeIO.h>

#include <cmath>

namespace fs = std::filesystem;
using namespace engram;
using engram::test::expectError;
using engram::test::freshDir;
using engram::test::shared;

namespace {

const fs::path kOut = fs::path(ENGRAM_TEST_OUT) / "seg";

SegmentList namedSegments(const LabelMap& labels, const std::vector<std::string>& names) {
    std::map<int, std::string> byValue;
    for (std::size_t i = 0; i < names.size(); ++i) byValue[int(i) + 1] = names[i];
    return SegmentList::forLabels(labels.labelsPresent(), byValue);
}

// Two overlapping-free spheres on the 120-slice MR grid.
LabelMap spheres(const ImageGeometry& g) {
    LabelMap m(g);
    const Vec3 c1 = g.indexToWorld({256, 256, 60}), c2 = g.indexToWorld({180, 300, 40});
    for (std::int64_t k = 0; k < g.size[2]; ++k)
        for (std::int64_t j = 0; j < g.size[1]; ++j)
            for (std::int64_t i = 0; i < g.size[0]; ++i) {
                const Vec3 w = g.indexToWorld({double(i), double(j), double(k)});
                auto d = [&](const Vec3& c) { return std::hypot(w[0] - c[0], w[1] - c[1], w[2] - c[2]); };
                if (d(c1) < 30)
                    m.set(i, j, k, 1);
                else if (d(c2) < 15)
                    m.set(i, j, k, 2);
            }
    return m;
}

void expectMaskEquals(const ImportedSegment& s, const LabelMap& reference, std::uint8_t value) {
    ASSERT_EQ(s.mask.size(), reference.labels().size());
    std::int64_t differ = 0, expected = 0;
    for (std::size_t v = 0; v < s.mask.size(); ++v) {
        const bool ref = reference.labels()[v] == value;
        expected += ref;
        differ += (s.mask[v] != 0) != ref;
    }
    EXPECT_GT(expected, 0) << s.segment.name;
    EXPECT_EQ(differ, 0) << s.segment.name << ": " << differ << " of " << expected << " voxels differ";
}

}  // namespace

TEST(DicomSeg, ExportAndReimportGivesTheSameVoxels_CT) {
    fs::create_directories(kOut);
    const Volume ct = loadDicomFolder(shared("dicom/dcmqi/ct-3slice"));
    const LabelMap labels = readLabelFile(shared("dicom/dcmqi/liver_seg.nrrd"), ct.geometry()).labels;
    const SegmentList segments = namedSegments(labels, {"Liver"});
    const fs::path out = kOut / "ct_liver.dcm";
    const auto report = writeDicomSeg(ct, labels, segments, out);
    EXPECT_EQ(report.segments, 1u);

    const DicomSegImport back = readDicomSeg(out, ct.geometry());
    ASSERT_EQ(back.segments.size(), 1u);
    EXPECT_EQ(back.segments[0].segment.name, "Liver");
    EXPECT_EQ(back.segments[0].segment.type.value, "10200004");
    EXPECT_EQ(back.referencedSeriesUid, ct.metadata().dicom->seriesInstanceUid);
    const Rgb c = back.segments[0].segment.color, e = segments.segments()[0].color;
    EXPECT_LE(std::abs(c.r - e.r) + std::abs(c.g - e.g) + std::abs(c.b - e.b), 3);  // through CIELab and back
    expectMaskEquals(back.segments[0], labels, labels.labelsPresent()[0]);
}

TEST(DicomSeg, ExportAndReimportGivesTheSameVoxels_MR120) {
    fs::create_directories(kOut);
    const Volume mr = loadDicomFolder(shared("dicom/mr-brain-120slice"));
    const LabelMap labels = spheres(mr.geometry());
    SegmentList segments = namedSegments(labels, {"Neoplasm", "Edema"});
    segments.add("Empty one");  // no voxels: skipped and reported
    const auto report = writeDicomSeg(mr, labels, segments, kOut / "mr_spheres.dcm");
    EXPECT_EQ(report.segments, 2u);
    EXPECT_EQ(report.skippedEmptySegments, std::vector<std::string>{"Empty one"});
    EXPECT_LT(report.frames, 120u);  // empty frames omitted
    const DicomSegImport back = readDicomSeg(kOut / "mr_spheres.dcm", mr.geometry());
    ASSERT_EQ(back.segments.size(), 2u);
    expectMaskEquals(back.segments[0], labels, 1);
    expectMaskEquals(back.segments[1], labels, 2);
    std::int64_t overlaps = -1;
    EXPECT_EQ(back.toLabelMap(mr.geometry(), &overlaps).labels(), labels.labels());
    EXPECT_EQ(overlaps, 0);
}

TEST(DicomSeg, DcmqiSegmentationsImport) {
    const Volume ct = loadDicomFolder(shared("dicom/dcmqi/ct-3slice"));
    const DicomSegImport liver = readDicomSeg(shared("dicom/dcmqi/liver.dcm"), ct.geometry());
    ASSERT_EQ(liver.segments.size(), 1u);
    const LabelMap liverRef = readLabelFile(shared("dicom/dcmqi/liver_seg.nrrd")).labels;
    expectMaskEquals(liver.segments[0], liverRef, liverRef.labelsPresent()[0]);

    // Five overlapping segments; dcmqi's reference label maps hold them in three files (seg-example json).
    const DicomSegImport overlap = readDicomSeg(shared("dicom/dcmqi/partial_overlaps.dcm"), ct.geometry());
    ASSERT_EQ(overlap.segments.size(), 5u);
    const std::map<std::string, std::pair<int, std::uint8_t>> where = {{"GREEN", {1, 1}},
                                                                       {"LIGHT_BLUE", {1, 4}},
                                                                       {"DARK_BLUE", {1, 5}},
                                                                       {"ORANGE", {2, 2}},
                                                                       {"PURPLE", {3, 3}}};
    for (const auto& s : overlap.segments) {
        SCOPED_TRACE(s.segment.name);
        ASSERT_TRUE(where.count(s.segment.name));
        const auto [file, value] = where.at(s.segment.name);
        const LabelMap ref =
            readLabelFile(shared("dicom/dcmqi/partial_overlaps-" + std::to_string(file) + ".nrrd")).labels;
        expectMaskEquals(s, ref, value);
    }
    std::int64_t overlapping = 0;
    const LabelMap first = overlap.toLabelMap(ct.geometry(), &overlapping);
    EXPECT_EQ(overlapping, overlap.overlappingVoxels());
    EXPECT_GT(overlapping, 1000);
    EXPECT_FALSE(isDicomSegFile(shared("dicom/dcmqi/ct-3slice/01.dcm")));  // an image, not a SEG
    EXPECT_TRUE(isDicomSegFile(shared("dicom/dcmqi/partial_overlaps.dcm")));

    // Overlaps as segments of their own: every voxel in exactly the segments it was in, none shared.
    DicomSegImport separate = overlap;
    separate.separateOverlaps();
    EXPECT_EQ(separate.overlappingVoxels(), 0);
    ASSERT_GT(separate.segments.size(), 5u);
    const LabelMap parts = separate.toLabelMap(ct.geometry());
    for (std::size_t v = 0; v < parts.labels().size(); ++v) {
        std::string was;  // the names of the segments voxel v was in
        for (const auto& s : overlap.segments)
            if (s.mask[v]) was += (was.empty() ? "" : " + ") + s.segment.name;
        const std::uint8_t now = parts.labels()[v];
        ASSERT_EQ(now == 0, was.empty()) << v;
        if (now == 0) continue;
        ASSERT_EQ(separate.segments[now - 1u].segment.name, was) << v;
        if (now <= 5) {
            ASSERT_EQ(first.labels()[v], now) << v;  // voxels in one segment stay in it
        }
    }
    for (const auto& s : separate.segments) {
        std::int64_t n = 0;
        for (auto m : s.mask) n += m;
        EXPECT_EQ(n, s.voxelCount) << s.segment.name;
    }
}

TEST(DicomSeg, TinySegAndLabelMapSegmentationStorage) {
    const Volume img = loadDicomFolder(shared("dicom/dcmqi/24x38x3/image"));
    const LabelMap ref = readLabelFile(shared("dicom/dcmqi/24x38x3/nrrd/label.nrrd"), img.geometry()).labels;
    const DicomSegImport seg = readDicomSeg(shared("dicom/dcmqi/24x38x3/seg/label.seg"), img.geometry());
    ASSERT_EQ(seg.segments.size(), ref.labelsPresent().size());
    for (std::size_t i = 0; i < seg.segments.size(); ++i)
        expectMaskEquals(seg.segments[i], ref, ref.labelsPresent()[i]);
    for (const char* f : {"dicom/dcmqi/sparse-labelmap-noppv.dcm", "dicom/dcmqi/sparse-labelmap-ppv5.dcm"}) {
        SCOPED_TRACE(f);
        const DicomSegImport lm = readDicomSeg(shared(f), img.geometry());
        ASSERT_FALSE(lm.segments.empty());
        for (const auto& s : lm.segments) EXPECT_GT(s.voxelCount, 0) << s.segment.name;
    }
}

TEST(DicomSeg, RefusesWhatItCannotWriteOrPlace) {
    const Volume nifti = readVolumeFile(shared("ct-abdomen/example_ct_sm.nii.gz"));
    const LabelMap niftiLabels(nifti.geometry());
    expectError<InputError>([&] { writeDicomSeg(nifti, niftiLabels, {}, kOut / "x.dcm"); },
                            {"loaded from a DICOM series"});
    const Volume j2k = loadDicomFolder(shared("dicom/ct-abdomen-20slice-j2k"));
    LabelMap j2kLabels(j2k.geometry());
    j2kLabels.set(1, 1, 1, 1);
    expectError<InputError>(
        [&] { writeDicomSeg(j2k, j2kLabels, namedSegments(j2kLabels, {}), kOut / "x.dcm"); },
        {"no Study/Series Instance UID"});
    EXPECT_FALSE(fs::exists(kOut / "x.dcm"));

    const Volume ct = loadDicomFolder(shared("dicom/dcmqi/ct-3slice"));
    LabelMap labels(ct.geometry());
    labels.set(10, 10, 1, 1);
    expectError<OutputError>(
        [&] { writeDicomSeg(ct, labels, namedSegments(labels, {}), kOut / "missing-dir" / "x.dcm"); },
        {"does not exist"});
    expectError<InputError>([&] { writeDicomSeg(ct, LabelMap(nifti.geometry()), {}, kOut / "x.dcm"); },
                            {"not on the image's grid"});

    const Volume mr = loadDicomFolder(shared("dicom/mr-brain-120slice"));
    expectError<InputError>([&] { readDicomSeg(shared("dicom/dcmqi/liver.dcm"), mr.geometry()); },
                            {"liver.dcm", "grid"});
    expectError<InputError>([&] { readDicomSeg(shared("dicom/dcmqi/ct-3slice/01.dcm"), ct.geometry()); },
                            {"not a DICOM segmentation"});
}

// highdicom's edge cases on pydicom's small CT series. That series is itself incomplete (instances 18 and
// 180-182: a 200 mm gap), which Engram refuses to stack; its three contiguous slices load. Fractional
// storage of a binary mask must give the same voxels as BINARY storage; a SEG with frames on the missing
// slice is refused with a reason; a single-frame SEG places its one frame.
TEST(DicomSeg, HighdicomEdgeCases) {
    expectError<InputError>([] { loadDicomFolder(shared("dicom/highdicom/pydicom_ref_CT2")); },
                            {"slice is missing"});
    const fs::path contiguous = freshDir("highdicom-ct2");
    for (const char* f : {"17136", "17166", "17196"})
        fs::copy_file(shared("dicom/highdicom/pydicom_ref_CT2") / f, contiguous / f);
    const Volume ct = loadDicomFolder(contiguous);
    ASSERT_EQ(ct.geometry().size[2], 3);
    const DicomSegImport binary =
        readDicomSeg(shared("dicom/highdicom/seg_image_ct_binary.dcm"), ct.geometry());
    const DicomSegImport fractional =
        readDicomSeg(shared("dicom/highdicom/seg_image_ct_binary_fractional.dcm"), ct.geometry());
    ASSERT_EQ(binary.segments.size(), fractional.segments.size());
    for (std::size_t i = 0; i < binary.segments.size(); ++i) {
        EXPECT_GT(binary.segments[i].voxelCount, 0);
        EXPECT_EQ(binary.segments[i].mask, fractional.segments[i].mask);
    }
    const DicomSegImport soft =
        readDicomSeg(shared("dicom/highdicom/seg_image_ct_true_fractional.dcm"), ct.geometry());
    ASSERT_FALSE(soft.segments.empty());
    EXPECT_GT(soft.segments[0].voxelCount, 0);
    expectError<InputError>(
        [&] { readDicomSeg(shared("dicom/highdicom/seg_image_ct_binary_overlap.dcm"), ct.geometry()); },
        {"seg_image_ct_binary_overlap.dcm", "outside the image"});

    const fs::path single = freshDir("highdicom-ct-small");
    fs::copy_file(shared("dicom/highdicom/pydicom_ref_CT_small.dcm"), single / "ct.dcm");
    const Volume small = loadDicomFolder(single);
    const DicomSegImport one =
        readDicomSeg(shared("dicom/highdicom/seg_image_ct_binary_single_frame.dcm"), small.geometry());
    ASSERT_EQ(one.segments.size(), 1u);
    EXPECT_GT(one.segments[0].voxelCount, 0);
}
