#include <engram/viewers/VtkImageBridge.h>

#include <vtkFloatArray.h>
#include <vtkPointData.h>
#include <vtkUnsignedCharArray.h>

#include <algorithm>

namespace engram::viewers {
namespace {

vtkSmartPointer<vtkImageData> emptyImageOn(const ImageGeometry& g, int vtkType) {
    auto image = vtkSmartPointer<vtkImageData>::New();
    image->SetDimensions(static_cast<int>(g.size[0]), static_cast<int>(g.size[1]),
                         static_cast<int>(g.size[2]));
    image->SetSpacing(g.spacing.data());
    image->SetOrigin(g.origin.data());
    double d[9];
    for (int r = 0; r < 3; ++r)
        for (int c = 0; c < 3; ++c) d[r * 3 + c] = g.direction[r][c];
    image->SetDirectionMatrix(d);
    image->AllocateScalars(vtkType, 1);
    return image;
}

}  // namespace

vtkSmartPointer<vtkImageData> toVtkImage(const Volume& volume) {
    auto image = emptyImageOn(volume.geometry(), VTK_FLOAT);
    std::copy(volume.voxels().begin(), volume.voxels().end(), static_cast<float*>(image->GetScalarPointer()));
    return image;
}

vtkSmartPointer<vtkImageData> toVtkImage(const LabelMap& labels) {
    auto image = emptyImageOn(labels.geometry(), VTK_UNSIGNED_CHAR);
    std::copy(labels.labels().begin(), labels.labels().end(),
              static_cast<unsigned char*>(image->GetScalarPointer()));
    return image;
}

}  // namespace engram::viewers
