#pragma once
// Hands Engram volumes and label maps to VTK with their full geometry (origin, spacing and the direction
// matrix, which VTK 9 image data carries), so VTK's index <-> physical transforms agree with
// ImageGeometry's and every renderer works in LPS world millimetres.

#include <engram/annotation/LabelMap.h>
#include <engram/annotation/Volume.h>

#include <vtkImageData.h>
#include <vtkSmartPointer.h>

namespace engram::viewers {

// Copies the voxels into a new float image.
vtkSmartPointer<vtkImageData> toVtkImage(const Volume& volume);
// Copies the labels into a new unsigned-char image.
vtkSmartPointer<vtkImageData> toVtkImage(const LabelMap& labels);

}  // namespace engram::viewers
