#include "../support/TestSupport.h"

#include <engram/annotation/AtomicFile.h>
#include <engram/annotation/DicomSeries.h>
#include <engram/annotation/Errors.h>
#include <engram/annotation/TrainingData.h>
#include <engram/annotation/VolumeIO.h>

#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>
#include <cmath>
#include <cstring>
#include <fstream>

namespace fs = std::filesystem;
using namespace engram;
using engram::test::expectError;
using engram::test::freshDir;
using engram::test::shared;

namespace {

struct Case {
    const char* file;
    bool labels;
};

// Every volume and label file in the shared data.
const Case kCases[] = {
    {"ct-abdomen/example_ct_sm.nii.gz", false},
    {"ct-abdomen/example_seg.nii.gz", true},
    {"ct-abdomen/example_ct.nii.gz", false},
    {"ct-abdomen/example_ct_totalseg_vertebrae.nii.gz", true},
    {"ct-aorta-1.5mm/ct_cropped.nii.gz", false},
    {"ct-aorta-1.5mm/aorta.nii.gz", true},
    {"mr-abdomen/example_mr_sm.nii.gz", false},
    {"mr-abdomen/example_seg_mr.nii.gz", true},
    {"brain-mr/FLAIR.nii.gz", false},
    {"brain-mr/lesion.nii.gz", true},
    {"brain-mr/BraTS2021_01646_flair.nii.gz", false},
    {"brain-mr/BraTS2021_01646_label.nii.gz", true},
    {"brain-mr/norm.mgz", false},
    {"brain-mr/aparc.a2009s+aseg.mgz", true},
    {"ct-unlabelled/ct-lesion-13slice.nii.gz", false},
    {"dicom/dcmqi/liver_seg.nrrd", true},
    {"dicom/dcmqi/24x38x3/nrrd/label.nrrd", true},
};

std::string stem(const std::string& rel) {
    std::string s = rel;
    for (char& c : s)
        if (c == '/' || c == '.' || c == '+') c = '_';
    return s;
}

std::string gunzip(const fs::path& p) {
    gzFile f = gzopen(p.c_str(), "rb");
    std::string out;
    char buf[1 << 16];
    int n;
    while ((n = gzread(f, buf, sizeof buf)) > 0) out.append(buf, static_cast<std::size_t>(n));
    gzclose(f);
    return out;
}

fs::path writeFile(const fs::path& p, const std::string& bytes) {
    std::ofstream(p, std::ios::binary) << bytes;
    return p;
}

std::string slurp(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
}

}  // namespace

// Reads each shared file, writes it as NIfTI, re-reads it with ITK: same grid and voxels. The written files
// are listed for the nibabel check (tests/scripts/check_nifti_with_nibabel.py), which compares their affines
// and voxels with the source files read by nibabel.
TEST(VolumeIO, EverySharedFileRoundTripsThroughNifti) {
    const fs::path out = freshDir("roundtrip");
    std::ofstream manifest(out / "manifest.txt");
    // The geometry as Engram sees it, for the comparison with the source's own header.
    auto recordAffine = [&](const std::string& name, const ImageGeometry& grid) {
        std::ofstream affine(out / (stem(name) + ".affine.txt"));
        affine.precision(10);
        for (double v : grid.rasAffine()) affine << v << " ";
    };
    for (const Case& c : kCases) {
        SCOPED_TRACE(c.file);
        const fs::path src = shared(c.file);
        const fs::path dst = out / (stem(c.file) + ".nii.gz");
        ImageGeometry grid;
        if (c.labels) {
            const LabelFileImport in = readLabelFile(src);
            writeLabelFile(in.labels, dst);
            const LabelFileImport back = readLabelFile(dst, in.labels.geometry());
            EXPECT_TRUE(back.labels.geometry().sameGrid(in.labels.geometry(), 1e-4));
            EXPECT_EQ(back.labels.labels(), in.labels.labels());
            grid = in.labels.geometry();
            manifest << c.file << " " << dst.string() << " "
                     << (in.renumbered.empty() ? "labels" : "renumbered") << "\n";
        } else {
            const Volume in = readVolumeFile(src);
            writeVolumeFile(in, dst);
            const Volume back = readVolumeFile(dst);
            EXPECT_TRUE(back.geometry().sameGrid(in.geometry(), 1e-4));
            EXPECT_EQ(back.voxels(), in.voxels());
            grid = in.geometry();
            manifest << c.file << " " << dst.string() << " volume\n";
        }
        recordAffine(c.file, grid);
    }
    // DICOM series, exported to NIfTI; the nibabel check compares them with the DICOM headers read by
    // pydicom.
    for (const char* folder :
         {"dicom/ct-abdomen-20slice", "dicom/mr-brain-120slice", "dicom/dcmqi/ct-3slice"}) {
        SCOPED_TRACE(folder);
        const Volume in = loadDicomFolder(shared(folder));
        const fs::path dst = out / (stem(folder) + ".nii.gz");
        writeVolumeFile(in, dst);
        const Volume back = readVolumeFile(dst);
        EXPECT_TRUE(back.geometry().sameGrid(in.geometry(), 1e-4));
        EXPECT_EQ(back.voxels(), in.voxels());
        manifest << folder << " " << dst.string() << " dicom\n";
        recordAffine(folder, in.geometry());
    }
}

TEST(VolumeIO, FreeSurferLabelValuesAreRenumbered) {
    const LabelFileImport in = readLabelFile(shared("brain-mr/aparc.a2009s+aseg.mgz"));
    ASSERT_FALSE(in.renumbered.empty());
    EXPECT_GT(in.renumbered.rbegin()->first, 255);
    EXPECT_EQ(in.renumbered.size(), in.labels.labelsPresent().size());
    EXPECT_EQ(in.renumbered.begin()->second, 1);
}

TEST(VolumeIO, FreeSurferLabelsOpenOnTheirT1) {
    // The MGH pair FreeSurfer writes (LIA): the aseg labels lie on norm.mgz's grid as they are.
    const Volume t1 = readVolumeFile(shared("brain-mr/norm.mgz"));
    EXPECT_EQ(t1.geometry().orientationCode(), "LIA");
    const LabelFileImport in = readLabelFile(shared("brain-mr/aparc.a2009s+aseg.mgz"), t1.geometry());
    EXPECT_TRUE(in.mapping.empty());
    EXPECT_FALSE(in.resampled);
    EXPECT_TRUE(in.labels.geometry().sameGrid(t1.geometry()));
    // Value 17 (left hippocampus in FreeSurfer's table) is kept under its renumbered label.
    ASSERT_TRUE(in.renumbered.count(17));
    const auto h = in.labels.histogram();
    EXPECT_GT(h[in.renumbered.at(17)], 1000);
}

TEST(VolumeIO, LabelFileOnAnotherGridIsRejected) {
    const Volume full = readVolumeFile(shared("ct-abdomen/example_ct.nii.gz"));
    // example_seg belongs to example_ct_sm (30 slices), not to the 112-slice example_ct.
    expectError<InputError>([&] { readLabelFile(shared("ct-abdomen/example_seg.nii.gz"), full.geometry()); },
                            {"example_seg.nii.gz", "grids differ", "122x101x30", "122x101x112"});
    const Volume small = readVolumeFile(shared("ct-abdomen/example_ct_sm.nii.gz"));
    EXPECT_NO_THROW(readLabelFile(shared("ct-abdomen/example_seg.nii.gz"), small.geometry()));
}

TEST(VolumeIO, ALabelFileOfTheSameVoxelsInAnotherAxisOrderIsMappedExactly) {
    // What dcm2niix and nibabel commonly write for a series: the same lattice, an axis reversed or the axes
    // in another order. Both copies are made from the real labels and read back onto the CT's grid.
    const Volume ct = readVolumeFile(shared("ct-abdomen/example_ct_sm.nii.gz"));
    const ImageGeometry& g = ct.geometry();
    const LabelMap labels = readLabelFile(shared("ct-abdomen/example_seg.nii.gz"), g).labels;
    const auto n = g.size;
    const fs::path dir = freshDir("lattice");

    ImageGeometry flipped = g;  // j reversed
    flipped.origin = g.indexToWorld({0, double(n[1] - 1), 0});
    for (int r = 0; r < 3; ++r) flipped.direction[r][1] = -g.direction[r][1];
    LabelMap flippedLabels(flipped);
    for (std::int64_t k = 0; k < n[2]; ++k)
        for (std::int64_t j = 0; j < n[1]; ++j)
            for (std::int64_t i = 0; i < n[0]; ++i) flippedLabels.set(i, j, k, labels.at(i, n[1] - 1 - j, k));
    writeLabelFile(flippedLabels, dir / "flipped.nii.gz");

    ImageGeometry permuted;  // file axes (k, j, i reversed)
    permuted.size = {n[2], n[1], n[0]};
    permuted.spacing = {g.spacing[2], g.spacing[1], g.spacing[0]};
    permuted.origin = g.indexToWorld({double(n[0] - 1), 0, 0});
    for (int r = 0; r < 3; ++r) {
        permuted.direction[r][0] = g.direction[r][2];
        permuted.direction[r][1] = g.direction[r][1];
        permuted.direction[r][2] = -g.direction[r][0];
    }
    LabelMap permutedLabels(permuted);
    for (std::int64_t c = 0; c < n[0]; ++c)
        for (std::int64_t b = 0; b < n[1]; ++b)
            for (std::int64_t a = 0; a < n[2]; ++a)
                permutedLabels.set(a, b, c, labels.at(n[0] - 1 - c, b, a));
    writeLabelFile(permutedLabels, dir / "permuted.nii.gz");

    for (const char* name : {"flipped.nii.gz", "permuted.nii.gz"}) {
        const LabelFileImport in = readLabelFile(dir / name, g);
        EXPECT_TRUE(in.labels.geometry().sameGrid(g)) << name;
        EXPECT_EQ(in.labels.labels(), labels.labels()) << name;
        EXPECT_NE(in.mapping.find("reversed"), std::string::npos) << name << ": " << in.mapping;
    }
    EXPECT_TRUE(readLabelFile(shared("ct-abdomen/example_seg.nii.gz"), g).mapping.empty());

    // Half a voxel off is another grid: refused, naming both.
    LabelMap shifted(flippedLabels);
    ImageGeometry off = flipped;
    off.origin[0] += g.spacing[0] / 2;
    writeLabelFile(LabelMap(off, shifted.labels()), dir / "shifted.nii.gz");
    expectError<InputError>([&] { readLabelFile(dir / "shifted.nii.gz", g); },
                            {"grids differ", "labels:", "image:"});
}

TEST(VolumeIO, LabelsOnAnotherGridAreResampledByNearestNeighbourOnlyWhenAsked) {
    const Volume ct = readVolumeFile(shared("ct-abdomen/example_ct_sm.nii.gz"));
    const ImageGeometry& g = ct.geometry();
    const LabelMap labels = readLabelFile(shared("ct-abdomen/example_seg.nii.gz"), g).labels;
    const fs::path dir = freshDir("resample");

    // The same voxels moved 5 columns along i (whole voxels: nearest neighbour is then an exact shift); the
    // first 5 columns of the file fall outside the CT's grid.
    ImageGeometry moved = g;
    moved.origin = g.indexToWorld({-5, 0, 0});
    writeLabelFile(LabelMap(moved, labels.labels()), dir / "moved.nii.gz");
    expectError<GridMismatch>([&] { readLabelFile(dir / "moved.nii.gz", g); },
                              {"grids differ", "--resample nearest"});
    const LabelFileImport in = readLabelFile(dir / "moved.nii.gz", g, GridRule::ResampleNearest);
    EXPECT_TRUE(in.resampled);
    EXPECT_TRUE(in.labels.geometry().sameGrid(g));
    std::int64_t outside = 0;
    for (std::int64_t k = 0; k < g.size[2]; ++k)
        for (std::int64_t j = 0; j < g.size[1]; ++j)
            for (std::int64_t i = 0; i < g.size[0]; ++i) {
                const std::uint8_t expected = i + 5 < g.size[0] ? labels.at(i + 5, j, k) : 0;
                ASSERT_EQ(in.labels.at(i, j, k), expected) << i << " " << j << " " << k;
                outside += i < 5 && labels.at(i, j, k) != 0;
            }
    EXPECT_EQ(in.labelledOutside, outside);
    EXPECT_NE(in.summary().find("nearest neighbour"), std::string::npos);

    // A grid of half the resolution, 45 degrees rotated about k: each CT voxel takes the file's voxel
    // whose cell holds its centre.
    ImageGeometry coarse = g;
    coarse.size = {g.size[0] / 2, g.size[1] / 2, g.size[2]};
    coarse.spacing = {g.spacing[0] * 2, g.spacing[1] * 2, g.spacing[2]};
    const double c = std::sqrt(0.5);
    const Mat3 turn{{{c, -c, 0}, {c, c, 0}, {0, 0, 1}}};
    for (int r = 0; r < 3; ++r)
        for (int col = 0; col < 3; ++col) {
            coarse.direction[r][col] = 0;
            for (int m = 0; m < 3; ++m) coarse.direction[r][col] += g.direction[r][m] * turn[m][col];
        }
    LabelMap coarseLabels(coarse);
    for (std::int64_t k = 0; k < coarse.size[2]; ++k)
        for (std::int64_t j = 0; j < coarse.size[1]; ++j)
            for (std::int64_t i = 0; i < coarse.size[0]; ++i)
                coarseLabels.set(i, j, k, static_cast<std::uint8_t>(1 + (i + 3 * j + 7 * k) % 200));
    std::int64_t lost = -1;
    const LabelMap back = coarseLabels.resampledNearest(g, &lost);
    std::int64_t checked = 0;
    for (std::int64_t k = 0; k < g.size[2]; ++k)
        for (std::int64_t j = 0; j < g.size[1]; ++j)
            for (std::int64_t i = 0; i < g.size[0]; ++i) {
                const Vec3 x = coarse.worldToIndex(g.indexToWorld({double(i), double(j), double(k)}));
                const Index3 n{std::llround(x[0]), std::llround(x[1]), std::llround(x[2])};
                const std::uint8_t expected = coarse.contains(n) ? coarseLabels.at(n[0], n[1], n[2]) : 0;
                // Centres exactly on a cell boundary may round either way.
                const bool boundary = std::abs(std::abs(x[0] - std::floor(x[0])) - 0.5) < 1e-6 ||
                                      std::abs(std::abs(x[1] - std::floor(x[1])) - 0.5) < 1e-6;
                if (boundary) continue;
                ASSERT_EQ(back.at(i, j, k), expected) << i << " " << j << " " << k;
                ++checked;
            }
    EXPECT_GT(checked, g.voxelCount() / 2);
    EXPECT_GT(lost, 0);  // the rotated corners lie outside the CT's grid
    EXPECT_LT(lost, coarse.voxelCount());
}

TEST(VolumeIO, ValueTypesArePreservedOnConversion) {
    const Volume ct = readVolumeFile(shared("ct-abdomen/example_ct_sm.nii.gz"));
    EXPECT_EQ(ct.metadata().sourcePixelType, "int16");
    const fs::path out = freshDir("types") / "ct.nrrd";
    writeVolumeFile(ct, out);
    const Volume back = readVolumeFile(out);
    EXPECT_EQ(back.metadata().sourcePixelType, "int16");
    EXPECT_EQ(back.voxels(), ct.voxels());
    const Volume flair = readVolumeFile(shared("brain-mr/BraTS2021_01646_flair.nii.gz"));
    EXPECT_EQ(flair.metadata().sourcePixelType, "float32");
}

TEST(VolumeIO, BadNiftiFilesGetClearErrors) {
    const fs::path dir = freshDir("bad-nifti");
    const fs::path src = shared("ct-abdomen/example_ct_sm.nii.gz");
    const std::string raw = gunzip(src);
    const std::string gz = slurp(src);

    expectError<InputError>(
        [&] { readVolumeFile(writeFile(dir / "truncated.nii.gz", gz.substr(0, gz.size() / 2))); },
        {"truncated.nii.gz", "truncated"});
    expectError<InputError>(
        [&] { readVolumeFile(writeFile(dir / "cut.nii", raw.substr(0, raw.size() - 1000))); },
        {"cut.nii", "truncated"});
    auto patchFloat = [&](std::size_t offset, float v) {
        std::string b = raw;
        std::memcpy(b.data() + offset, &v, 4);
        return b;
    };
    expectError<InputError>([&] { readVolumeFile(writeFile(dir / "zero.nii", patchFloat(80, 0.0f))); },
                            {"zero.nii", "pixdim[1]", "positive"});
    expectError<InputError>([&] { readVolumeFile(writeFile(dir / "nan.nii", patchFloat(84, NAN))); },
                            {"nan.nii", "pixdim[2]"});
    // A sheared sform with no qform to fall back on.
    std::string shear = patchFloat(284, 1.5f);
    const std::int16_t zero = 0;
    std::memcpy(shear.data() + 252, &zero, 2);
    expectError<InputError>([&] { readVolumeFile(writeFile(dir / "shear.nii", shear)); },
                            {"shear.nii", "sheared"});
    // A non-number in the orientation in use made ITK abort (fuzz_nifti): the qform's quaternion, the
    // sform's rows (each set to be the one in use).
    const std::int16_t one = 1;
    std::string nanQuaternion = patchFloat(260, NAN);
    std::memcpy(nanQuaternion.data() + 252, &one, 2);
    expectError<InputError>([&] { readVolumeFile(writeFile(dir / "nanq.nii", nanQuaternion)); },
                            {"nanq.nii", "quatern", "not a number"});
    std::string nanAffine = patchFloat(324, INFINITY);
    std::memcpy(nanAffine.data() + 254, &one, 2);
    expectError<InputError>([&] { readVolumeFile(writeFile(dir / "nans.nii", nanAffine)); },
                            {"nans.nii", "srow", "not a number"});
    // The same with sizeof_hdr damaged (fuzz_nifti): niftilib still reads it, by its NIfTI-1 mark and the
    // byte order of dim[0], and so does the check.
    std::string damagedSize = nanAffine;
    const std::uint32_t notASize = 0xff00015cu;
    std::memcpy(damagedSize.data(), &notASize, 4);
    expectError<InputError>([&] { readVolumeFile(writeFile(dir / "nansize.nii", damagedSize)); },
                            {"nansize.nii", "srow", "not a number"});
    // Found by fuzz_nifti (CPU-hour campaign): a 1 KB .nii without the 'n+1' mark, read as an Analyze
    // header claiming 370 million voxels, made ITK allocate 3.7 GB before niftilib looked for its data.
    std::string analyze = raw.substr(0, 1174);
    std::memcpy(analyze.data() + 344, "\0\0\0\0", 4);
    for (const char* mark : {"\0\0\0\0", "ni1\0"}) {
        SCOPED_TRACE(mark);
        std::memcpy(analyze.data() + 344, mark, 4);
        expectError<InputError>([&] { readVolumeFile(writeFile(dir / "analyze.nii", analyze)); },
                                {"analyze.nii", "'n+1'", "Analyze"});
    }
    std::string nifti2(540, '\0');
    const std::int32_t nifti2Size = 540;
    std::memcpy(nifti2.data(), &nifti2Size, 4);
    std::memcpy(nifti2.data() + 4, "n+2\0\r\n\032\n", 8);
    expectError<InputError>([&] { readVolumeFile(writeFile(dir / "two.nii", nifti2)); },
                            {"two.nii", "NIfTI-2", "NIfTI-1"});
    expectError<InputError>([&] { readVolumeFile(writeFile(dir / "noise.nii", std::string(4000, 'x'))); },
                            {"noise.nii"});
    expectError<InputError>([&] { readVolumeFile(writeFile(dir / "empty.nii.gz", "")); },
                            {"empty.nii.gz", "empty"});
    expectError<InputError>([&] { readVolumeFile(dir / "absent.nii.gz"); },
                            {"absent.nii.gz", "does not exist"});
    std::string badMgh(300, '\0');
    expectError<InputError>([&] { readVolumeFile(writeFile(dir / "bad.mgh", badMgh)); }, {"bad.mgh", "MGH"});
}

TEST(AtomicWrite, FailuresLeaveTargetsIntactAndNoTemporaries) {
    const fs::path dir = freshDir("atomic");
    const fs::path target = dir / "labels.nii.gz";
    writeFile(target, "precious");
    expectError<OutputError>(
        [&] {
            writeFileAtomically(target, [](const fs::path& tmp) {
                writeFile(tmp, "half");
                throw std::runtime_error("disk full");
            });
        },
        {"labels.nii.gz", "disk full"});
    EXPECT_EQ(slurp(target), "precious");
    EXPECT_EQ(std::distance(fs::directory_iterator(dir), fs::directory_iterator()), 1);

    const LabelMap labels(readLabelFile(shared("dicom/dcmqi/24x38x3/nrrd/label.nrrd")).labels);
    expectError<OutputError>([&] { writeLabelFile(labels, dir / "no-such-folder" / "x.nii.gz"); },
                             {"no-such-folder", "does not exist"});
    expectError<OutputError>([&] { writeLabelFile(labels, dir / "x.png"); }, {"x.png", "unsupported"});
    writeLabelFile(labels, target);
    EXPECT_EQ(readLabelFile(target).labels.labels(), labels.labels());
}

// A dataset list's slices= option keeps exactly those slices with their true position: slices 82..111 of
// example_ct are example_ct_sm's voxels (the shared data's manifest), placed where those slices lie.
TEST(AtomicWrite, TemporariesOfDeadWritersAreRecognisedAndRemoved) {
    const fs::path dir = freshDir("atomic-stale");
    // A process that has ended: its pid no longer runs.
    const pid_t child = fork();
    if (child == 0) _exit(0);
    waitpid(child, nullptr, 0);
    const fs::path dead = dir / (".engram-" + std::to_string(child) + "-0-session-1.engram");
    const fs::path alive = dir / (".engram-" + std::to_string(getpid()) + "-3-labels.nii.gz");
    writeFile(dead, "half");
    writeFile(alive, "being written");
    writeFile(dir / "session-2.engram", "{}");
    EXPECT_TRUE(isTemporaryFile(dead));
    EXPECT_TRUE(isTemporaryFile(alive));
    EXPECT_FALSE(isTemporaryFile(dir / "session-2.engram"));
    EXPECT_FALSE(isTemporaryFile(dir / ".engram-x-0-a.nii"));
    EXPECT_EQ(removeStaleTemporaries(dir), 1u);
    EXPECT_FALSE(fs::exists(dead));
    EXPECT_TRUE(fs::exists(alive));
    EXPECT_TRUE(fs::exists(dir / "session-2.engram"));
}

// Found by fuzz_mha (CPU-hour campaign): MetaIO divided by a file-name pattern's numbers unchecked (a crash).
// Data in this file or in one named file is read; data spread over several files is refused plainly.
TEST(VolumeIO, MetaImageDataInOneFileIsReadAndSplitDataRefused) {
    const fs::path dir = freshDir("mhd-data-files");
    const std::string header =
        "ObjectType = Image\nNDims = 3\nDimSize = 4 3 2\nElementSpacing = 1 1 2\n"
        "ElementType = MET_SHORT\nElementByteOrderMSB = False\n";
    std::string raw;
    for (std::int16_t v = 0; v < 24; ++v) raw.append(reinterpret_cast<const char*>(&v), 2);
    writeFile(dir / "vol.raw", raw);
    writeFile(dir / "vol.mhd", header + "ElementDataFile = vol.raw\n");
    const Volume v = readVolumeFile(dir / "vol.mhd");
    EXPECT_EQ(v.geometry().size, (std::array<std::int64_t, 3>{4, 3, 2}));
    EXPECT_FLOAT_EQ(v.voxels()[23], 23.0f);
    // A value longer than MetaIO's 255-byte buffers (Name, Comment, ...) is refused before MetaIO copies it.
    writeFile(dir / "long.mhd", "ObjectType = Image\nName = " + std::string(300, 'n') + "\n" +
                                    header.substr(std::string("ObjectType = Image\n").size()) +
                                    "ElementDataFile = vol.raw\n");
    expectError<InputError>([&] { readVolumeFile(dir / "long.mhd"); }, {"long.mhd", "Name", "254"});
    // Text data made MetaIO free ITK's buffer (fuzz_mha): refused; "BinaryData = True" is read.
    writeFile(dir / "text.mhd", header + "BinaryData = False\nElementDataFile = vol.raw\n");
    expectError<InputError>([&] { readVolumeFile(dir / "text.mhd"); }, {"text.mhd", "as text", "BinaryData"});
    writeFile(dir / "binary.mhd", header + "BinaryData = True\nElementDataFile = vol.raw\n");
    EXPECT_FLOAT_EQ(readVolumeFile(dir / "binary.mhd").voxels()[5], 5.0f);
    // A repeated key: MetaIO sized DimSize by the first, huge NDims and read it forever (fuzz_mha).
    writeFile(dir / "twice.mhd", "NDims = 366666666666\n" + header + "ElementDataFile = vol.raw\n");
    expectError<InputError>([&] { readVolumeFile(dir / "twice.mhd"); }, {"twice.mhd", "NDims twice"});
    // An unnamed or missing data file is named as missing (MetaIO allocated 2^63 bytes for an unnamed one).
    for (const char* missing : {"", "gone.raw", "."}) {
        SCOPED_TRACE(missing);
        writeFile(dir / "missing.mhd", header + "ElementDataFile = " + missing + "\n");
        expectError<InputError>([&] { readVolumeFile(dir / "missing.mhd"); },
                                {"missing.mhd", "data file", "missing"});
    }
    for (const char* split : {"LIST", "list 2D", "slice%02d.raw 1 2 1", "LOC%///Dims = 3"}) {
        SCOPED_TRACE(split);
        writeFile(dir / "split.mhd", header + "ElementDataFile = " + split + "\n");
        expectError<InputError>([&] { readVolumeFile(dir / "split.mhd"); },
                                {"split.mhd", "split over several files", ".mha"});
    }
}

// MetaIO allocates a compressed file's CompressedDataSize before reading: a claim of 100 GB (or a negative
// one) in a small file was allocated as claimed. A claim beyond the data's file is refused; a true one read.
TEST(Limits, MetaImageCompressedSizeMustFitTheFile) {
    const fs::path dir = freshDir("mha-compressed");
    std::vector<std::int16_t> raw(24);
    for (std::int16_t v = 0; v < 24; ++v) raw[std::size_t(v)] = v;
    std::string packed(compressBound(sizeof(std::int16_t) * raw.size()), '\0');
    uLongf packedSize = packed.size();
    ASSERT_EQ(compress(reinterpret_cast<Bytef*>(packed.data()), &packedSize,
                       reinterpret_cast<const Bytef*>(raw.data()), sizeof(std::int16_t) * raw.size()),
              Z_OK);
    packed.resize(packedSize);
    auto file = [&](const std::string& claim, const std::string& extra = "") {
        return extra + "ObjectType = Image\nNDims = 3\nBinaryData = True\nCompressedData = True\n" +
               "CompressedDataSize = " + claim + "\nDimSize = 4 3 2\nElementType = MET_SHORT\n" +
               "ElementDataFile = LOCAL\n" + packed;
    };
    writeFile(dir / "c.mha", file(std::to_string(packed.size())));
    EXPECT_FLOAT_EQ(readVolumeFile(dir / "c.mha").voxels()[23], 23.0f);
    for (const char* claim : {"100000000000", "-5", "12.5"}) {
        SCOPED_TRACE(claim);
        writeFile(dir / "claim.mha", file(claim));
        expectError<InputError>([&] { readVolumeFile(dir / "claim.mha"); },
                                {"claim.mha", "CompressedDataSize"});
    }
    // MetaIO's inflate loop never ended on a stream asking for a preset dictionary (fuzz_mha) or cut short:
    // such voxels, and a stream of fewer voxels than declared, are refused as damaged.
    std::string needsDictionary = packed;
    needsDictionary[1] = char(0x20);  // FDICT set, header check (0x7820 % 31 == 0) still valid
    const std::string size = std::to_string(packed.size());
    for (const auto& [name, content] : std::vector<std::pair<std::string, std::string>>{
             {"dictionary.mha", file(size).substr(0, file(size).size() - packed.size()) + needsDictionary},
             {"cut.mha", file(size).substr(0, file(size).size() - 6)},
             {"short.mha", [&] {
                  std::string f = file(size);
                  f.replace(f.find("DimSize = 4 3 2"), 15, "DimSize = 4 3 3");
                  return f;
              }()}}) {
        SCOPED_TRACE(name);
        writeFile(dir / name, content);
        expectError<InputError>([&] { readVolumeFile(dir / name); }, {name, "compressed voxels are damaged"});
        // MetaIO takes any value starting with T, t or 1 as true (fuzz_mha: "Tru%"), and so does the check.
        std::string truish = content;
        truish.replace(truish.find("CompressedData = True"), 21, "CompressedData = T%");
        writeFile(dir / ("truish-" + name), truish);
        expectError<InputError>([&] { readVolumeFile(dir / ("truish-" + name)); },
                                {"compressed voxels are damaged"});
    }
    writeFile(dir / "header.mha", file(std::to_string(packed.size()), "HeaderSize = -7\n"));
    expectError<InputError>([&] { readVolumeFile(dir / "header.mha"); }, {"header.mha", "HeaderSize"});
}

TEST(Limits, ClaimedSizesAreCheckedBeforeAnythingIsAllocated) {
    const fs::path dir = freshDir("limits");
    // Tiny headers claiming huge grids: refused with the claim, before any buffer of that size exists.
    writeFile(dir / "huge.mha",
              "ObjectType = Image\nNDims = 3\nDimSize = 100000 100000 100000\nElementType = MET_SHORT\n"
              "ElementDataFile = LOCAL\n");
    expectError<InputError>([&] { readVolumeFile(dir / "huge.mha"); },
                            {"huge.mha", "100000 x 100000 x 100000"});
    std::string mgh(284, '\0');
    auto be32 = [&](std::size_t at, std::uint32_t v) {
        for (int b = 0; b < 4; ++b) mgh[at + std::size_t(b)] = char((v >> (24 - 8 * b)) & 0xff);
    };
    be32(0, 1);  // version
    for (std::size_t a = 0; a < 3; ++a) be32(4 + 4 * a, 60000);
    be32(16, 1);  // frames
    writeFile(dir / "huge.mgh", mgh);
    expectError<InputError>([&] { readVolumeFile(dir / "huge.mgh"); }, {"huge.mgh", "60000 x 60000 x 60000"});
    be32(4, 1024);
    be32(8, 1024);
    be32(12, 512);  // 2^29 voxels: allowed, but the data is not there
    writeFile(dir / "short.mgh", mgh + std::string(1000, '\0'));
    expectError<InputError>([&] { readVolumeFile(dir / "short.mgh"); }, {"short.mgh", "truncated"});
    expectError<InputError>([] { requireVoxelCount({2048, 2048, 512}, "x"); }, {"2048 x 2048 x 512"});
    EXPECT_NO_THROW(requireVoxelCount({512, 512, 4096}, "x"));
    expectError<InputError>([] { requireVoxelCount({0, 5, 5}, "x"); }, {"0 x 5 x 5"});
}

TEST(TrainingData, SliceRangeKeepsTheVoxelsAndTheirPosition) {
    const fs::path dir = fs::path(ENGRAM_TEST_OUT) / "training-data";
    fs::create_directories(dir);
    const auto list = dir / "list.txt";
    std::ofstream(list) << "# comment\n"
                        << shared("ct-abdomen/example_ct.nii.gz").string() << " "
                        << shared("ct-abdomen/example_ct_totalseg_vertebrae.nii.gz").string()
                        << " slices=82:111 targets=26,27   # trailing comment\n";
    // Absolute paths stay absolute when joined to the list's folder.
    const auto specs = readDatasetList(list);
    ASSERT_EQ(specs.size(), 1u);
    EXPECT_EQ(specs[0].targets, (std::vector<int>{26, 27}));
    const auto part = loadLabelledVolume(specs[0]);
    const Volume full = readVolume(shared("ct-abdomen/example_ct.nii.gz"));
    const Volume small = readVolume(shared("ct-abdomen/example_ct_sm.nii.gz"));
    EXPECT_EQ(part.grid.size[2], 30);
    ASSERT_EQ(part.image.size(), small.voxels().size());
    EXPECT_TRUE(std::equal(part.image.begin(), part.image.end(), small.voxels().begin()));
    const Vec3 slice82 = full.geometry().indexToWorld({0, 0, 82});
    for (int a = 0; a < 3; ++a) EXPECT_NEAR(part.grid.origin[a], slice82[a], 1e-9);

    std::ofstream(list) << "a.nii.gz b.nii.gz targets=1,x\n";
    EXPECT_THROW(
        {
            try {
                readDatasetList(list);
            } catch (const InputError& e) {
                EXPECT_NE(std::string(e.what()).find("line 1"), std::string::npos) << e.what();
                throw;
            }
        },
        InputError);
    EXPECT_THROW(readDatasetList(dir / "missing.txt"), InputError);
}
