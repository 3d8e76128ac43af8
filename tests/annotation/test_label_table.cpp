#include "../support/TestSupport.h"

#include <engram/annotation/Errors.h>
#include <engram/annotation/LabelTable.h>

#include <fstream>

namespace fs = std::filesystem;
using namespace engram;
using engram::test::expectError;
using engram::test::freshDir;

namespace {

void write(const fs::path& p, const std::string& text) { std::ofstream(p) << text; }

SegmentList threeSegments() {
    SegmentList list;
    list.add("Liver");
    Segment& lesion = list.add("Lesion, \"segment\" 2");
    lesion.color = {10, 20, 30};
    lesion.visible = false;
    Segment kidney = list.add("Left kidney");
    kidney.label = 7;
    list.put(kidney);
    list.remove(3);
    return list;
}

}  // namespace

TEST(LabelTable, BesideTheLabelFile) {
    const auto p = labelTablePaths("/data/case 1/liver.nii.gz");
    EXPECT_EQ(p.itkSnap, fs::path("/data/case 1/liver_labels.txt"));
    EXPECT_EQ(p.slicer, fs::path("/data/case 1/liver_ColorTable.csv"));
    EXPECT_EQ(labelTablePaths("x.nrrd").slicer, fs::path("x_ColorTable.csv"));
}

TEST(LabelTable, BothFormatsRoundTripNamesColoursAndCodes) {
    const fs::path dir = freshDir("label-table");
    const SegmentList segments = threeSegments();
    ASSERT_EQ(segments.segments().size(), 3u);
    LabelMap labels(ImageGeometry{{4, 4, 4}});
    for (const auto& s : segments.segments()) labels.labels()[s.label] = s.label;
    labels.labels()[40] = 9;  // a label with no segment: written with its default name
    writeLabelTables(segments, labels, dir / "seg.nii.gz");
    const auto paths = labelTablePaths(dir / "seg.nii.gz");
    for (const fs::path& file : {paths.itkSnap, paths.slicer}) {
        SCOPED_TRACE(file.string());
        const SegmentList back = readLabelTable(file);
        ASSERT_EQ(back.segments().size(), 4u);
        for (const auto& s : segments.segments()) {
            const Segment* b = back.find(s.label);
            ASSERT_NE(b, nullptr);
            EXPECT_EQ(b->name, s.label == 2 ? "Lesion, 'segment' 2" : s.name);  // no double quotes in either
            EXPECT_EQ(b->color, s.color);
        }
        EXPECT_EQ(back.find(9)->name, SegmentList::defaultFor(9).name);
        EXPECT_EQ(findLabelTable(dir / "seg.nii.gz"), paths.itkSnap);
    }
    EXPECT_FALSE(readLabelTable(paths.itkSnap).find(2)->visible);
    // Slicer's table carries the coded concepts (category and type), as DICOM-SEG does.
    const Segment* kidney = readLabelTable(paths.slicer).find(7);
    EXPECT_EQ(kidney->type, segments.find(7)->type);
    EXPECT_EQ(kidney->category, segments.find(7)->category);
    EXPECT_FALSE(kidney->type.value.empty());
}

TEST(LabelTable, SlicerColourTableFileAndBadLines) {
    const fs::path dir = freshDir("label-table-ctbl");
    write(dir / "a.ctbl",
          "# Color table file a.ctbl\n# 3 values\n0 Background 0 0 0 0\n1 right_kidney 185 102 83 255\n"
          "12 aorta 224 97 76 255\n");
    const SegmentList a = readLabelTable(dir / "a.ctbl");
    ASSERT_EQ(a.segments().size(), 2u);
    EXPECT_EQ(a.find(1)->name, "right kidney");
    EXPECT_EQ(a.find(12)->color, (Rgb{224, 97, 76}));
    EXPECT_EQ(findLabelTable(dir / "a.nii"), dir / "a.ctbl");
    EXPECT_EQ(findLabelTable(dir / "b.nii.gz"), std::nullopt);

    write(dir / "bad.txt", "# ITK-SNAP\n  1 255 0 0 1 1 1 \"ok\"\n  2 300 0 0 1 1 1 \"too red\"\n");
    expectError<InputError>([&] { readLabelTable(dir / "bad.txt"); }, {"bad.txt", "line 3", "300"});
    write(dir / "bad.csv", "LabelValue,Name,Color_R,Color_G\n1,x,1,2\n");
    expectError<InputError>([&] { readLabelTable(dir / "bad.csv"); }, {"bad.csv", "Color_B"});
    write(dir / "short.csv", "LabelValue,Name,Color_R,Color_G,Color_B\n1,x,1\n");
    expectError<InputError>([&] { readLabelTable(dir / "short.csv"); }, {"line 2", "fewer fields"});
    expectError<InputError>([&] { readLabelTable(dir / "none.txt"); }, {"none.txt"});
}
