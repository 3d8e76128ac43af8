#pragma once
// Internal: conversions between ITK images and Engram's grid types, and ITK error text for users.

#include <engram/annotation/Geometry.h>

#include <itkImage.h>
#include <itkImageIOBase.h>
#include <itkMacro.h>

#include <string>

namespace engram::detail {

template <typename TImage>
ImageGeometry geometryOf(const TImage* image) {
    ImageGeometry g;
    const auto size = image->GetLargestPossibleRegion().GetSize();
    for (unsigned a = 0; a < 3; ++a) {
        g.size[a] = static_cast<std::int64_t>(size[a]);
        g.spacing[a] = image->GetSpacing()[a];
        g.origin[a] = image->GetOrigin()[a];
        for (unsigned b = 0; b < 3; ++b) g.direction[a][b] = image->GetDirection()[a][b];
    }
    return g;
}

template <typename TImage>
typename TImage::Pointer allocateOn(const ImageGeometry& g) {
    auto image = TImage::New();
    typename TImage::SizeType size;
    typename TImage::SpacingType spacing;
    typename TImage::PointType origin;
    typename TImage::DirectionType direction;
    for (unsigned a = 0; a < 3; ++a) {
        size[a] = static_cast<itk::SizeValueType>(g.size[a]);
        spacing[a] = g.spacing[a];
        origin[a] = g.origin[a];
        for (unsigned b = 0; b < 3; ++b) direction[a][b] = g.direction[a][b];
    }
    image->SetRegions(typename TImage::RegionType(size));
    image->SetSpacing(spacing);
    image->SetOrigin(origin);
    image->SetDirection(direction);
    image->Allocate();
    return image;
}

// True when the file name ends with `suffix` (lower case, e.g. ".nii.gz"), ignoring case.
bool hasSuffix(const std::string& path, const std::string& suffix);

// The first line of an ITK exception's description, without ITK's file/line decoration.
std::string describe(const itk::ExceptionObject& e);

// "int16", "float32", ... for an ITK component type.
std::string componentTypeName(itk::ImageIOBase::IOComponentEnum type);

// Picks the ITK ImageIO for reading `path` (NIfTI, NRRD, MetaImage, GDCM), or nullptr.
itk::ImageIOBase::Pointer imageIOForReading(const std::string& path);
// Picks the ITK ImageIO for writing by extension, or nullptr for an unsupported extension.
itk::ImageIOBase::Pointer imageIOForWriting(const std::string& path);

}  // namespace engram::detail
