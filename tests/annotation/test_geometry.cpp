#include <engram/annotation/Geometry.h>
#include <engram/annotation/Segment.h>

#include <gtest/gtest.h>

#include <cmath>

using namespace engram;

namespace {

ImageGeometry oblique() {
    ImageGeometry g;
    g.size = {40, 30, 20};
    g.spacing = {0.8, 1.2, 2.5};
    g.origin = {-100.5, 40.25, 12.0};
    const double a = 0.3, b = -0.2;  // rotation about z then x
    const Mat3 rz{{{std::cos(a), -std::sin(a), 0}, {std::sin(a), std::cos(a), 0}, {0, 0, 1}}};
    const Mat3 rx{{{1, 0, 0}, {0, std::cos(b), -std::sin(b)}, {0, std::sin(b), std::cos(b)}}};
    for (int r = 0; r < 3; ++r)
        for (int c = 0; c < 3; ++c) {
            g.direction[r][c] = 0;
            for (int k = 0; k < 3; ++k) g.direction[r][c] += rz[r][k] * rx[k][c];
        }
    return g;
}

}  // namespace

TEST(Geometry, IndexWorldRoundTripOnAnObliqueGrid) {
    const ImageGeometry g = oblique();
    ASSERT_TRUE(g.hasOrthonormalDirection());
    for (const Vec3 idx : {Vec3{0, 0, 0}, Vec3{39, 29, 19}, Vec3{12.5, 3.25, 7.75}}) {
        const Vec3 back = g.worldToIndex(g.indexToWorld(idx));
        for (int a = 0; a < 3; ++a) EXPECT_NEAR(back[a], idx[a], 1e-9);
    }
    // One step along index axis j moves spacing[1] mm along direction column 1.
    const Vec3 p0 = g.indexToWorld({0, 0, 0}), p1 = g.indexToWorld({0, 1, 0});
    for (int r = 0; r < 3; ++r) EXPECT_NEAR(p1[r] - p0[r], g.spacing[1] * g.direction[r][1], 1e-12);
    EXPECT_EQ(g.worldToNearestVoxel(g.indexToWorld({5.4, 6.6, 7.0})), (Index3{5, 7, 7}));
}

TEST(Geometry, RasAffineAndOrientationCodes) {
    ImageGeometry g;  // identity direction in LPS
    g.spacing = {2, 3, 4};
    g.origin = {10, 20, 30};
    EXPECT_EQ(g.orientationCode(), "LPS");
    const auto a = g.rasAffine();
    EXPECT_DOUBLE_EQ(a[0], -2);
    EXPECT_DOUBLE_EQ(a[5], -3);
    EXPECT_DOUBLE_EQ(a[10], 4);
    EXPECT_DOUBLE_EQ(a[3], -10);
    EXPECT_DOUBLE_EQ(a[7], -20);
    EXPECT_DOUBLE_EQ(a[11], 30);
    g.direction = {{{1, 0, 0}, {0, 0, -1}, {0, -1, 0}}};  // FreeSurfer conformed (LPS columns)
    EXPECT_EQ(g.orientationCode(), "LIA");
}

TEST(Geometry, SameGridAndOrthonormality) {
    ImageGeometry a = oblique(), b = oblique();
    EXPECT_TRUE(a.sameGrid(b));
    b.origin[2] += 0.01;
    EXPECT_FALSE(a.sameGrid(b));
    b = a;
    b.size[0] += 1;
    EXPECT_FALSE(a.sameGrid(b));
    b = a;
    b.direction[0][1] += 0.2;
    EXPECT_FALSE(b.hasOrthonormalDirection());
}

TEST(Segments, CatalogCodesAndLabels) {
    SegmentList list;
    Segment& liver = list.add("liver");
    EXPECT_EQ(liver.label, 1);
    EXPECT_EQ(liver.type.value, "10200004");
    EXPECT_EQ(liver.type.scheme, "SCT");
    EXPECT_EQ(liver.category.meaning, "Anatomical Structure");
    Segment& other = list.add("my lesion");
    EXPECT_EQ(other.label, 2);
    EXPECT_EQ(other.type, AnatomyCatalog::generic().type);
    list.remove(1);
    EXPECT_EQ(list.add("Spleen").label, 1);
    EXPECT_EQ(list.segments().front().name, "Spleen");
    for (int i = 0; i < 253; ++i) list.add("s");
    EXPECT_THROW(list.add("one too many"), std::length_error);
}
