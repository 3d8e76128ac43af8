#include "../support/TestSupport.h"

#include <engram/annotation/VolumeIO.h>
#include <engram/viewers/VtkImageBridge.h>

using namespace engram;

// VTK's index -> physical transform must agree with ImageGeometry's on oblique data, or clicks land on the
// wrong voxel.
TEST(VtkImageBridge, VtkAndEngramAgreeOnWorldCoordinates) {
    for (const char* f : {"ct-unlabelled/ct-lesion-13slice.nii.gz", "brain-mr/norm.mgz"}) {
        SCOPED_TRACE(f);
        const Volume v = readVolumeFile(test::shared(f));
        const auto image = viewers::toVtkImage(v);
        for (const Vec3 idx : {Vec3{0, 0, 0}, Vec3{10, 20, 5}, Vec3{100.5, 3, 7}}) {
            double p[3];
            image->TransformContinuousIndexToPhysicalPoint(idx.data(), p);
            const Vec3 w = v.geometry().indexToWorld(idx);
            for (int a = 0; a < 3; ++a) EXPECT_NEAR(p[a], w[a], 1e-6);
        }
        EXPECT_EQ(image->GetScalarComponentAsFloat(10, 20, 5, 0), v.at(10, 20, 5));
    }
}
