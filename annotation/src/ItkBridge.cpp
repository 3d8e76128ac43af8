#include "ItkBridge.h"

#include <itkGDCMImageIO.h>
#include <itkMetaImageIO.h>
#include <itkNiftiImageIO.h>
#include <itkNrrdImageIO.h>

#include <algorithm>
#include <cctype>
#include <sstream>

namespace engram::detail {

bool hasSuffix(const std::string& path, const std::string& suffix) {
    if (path.size() < suffix.size()) return false;
    return std::equal(suffix.begin(), suffix.end(), path.end() - static_cast<std::ptrdiff_t>(suffix.size()),
                      [](char a, char b) { return a == std::tolower(static_cast<unsigned char>(b)); });
}

std::string describe(const itk::ExceptionObject& e) {
    std::string d = e.GetDescription();
    std::istringstream lines(d);
    std::string first;
    std::getline(lines, first);
    return first.empty() ? d : first;
}

std::string componentTypeName(itk::ImageIOBase::IOComponentEnum t) {
    switch (t) {
        case itk::ImageIOBase::IOComponentEnum::UCHAR:
            return "uint8";
        case itk::ImageIOBase::IOComponentEnum::CHAR:
            return "int8";
        case itk::ImageIOBase::IOComponentEnum::USHORT:
            return "uint16";
        case itk::ImageIOBase::IOComponentEnum::SHORT:
            return "int16";
        case itk::ImageIOBase::IOComponentEnum::UINT:
            return "uint32";
        case itk::ImageIOBase::IOComponentEnum::INT:
            return "int32";
        case itk::ImageIOBase::IOComponentEnum::FLOAT:
            return "float32";
        case itk::ImageIOBase::IOComponentEnum::DOUBLE:
            return "float64";
        default:
            return itk::ImageIOBase::GetComponentTypeAsString(t);
    }
}

namespace {

// The ITK reader/writer for a file's extension; null for an extension Engram does not read.
itk::ImageIOBase::Pointer imageIOForExtension(const std::string& path) {
    if (hasSuffix(path, ".nii") || hasSuffix(path, ".nii.gz")) return itk::NiftiImageIO::New().GetPointer();
    if (hasSuffix(path, ".nrrd") || hasSuffix(path, ".nhdr")) return itk::NrrdImageIO::New().GetPointer();
    if (hasSuffix(path, ".mha") || hasSuffix(path, ".mhd")) return itk::MetaImageIO::New().GetPointer();
    return nullptr;
}

}  // namespace

itk::ImageIOBase::Pointer imageIOForReading(const std::string& path) {
    // By extension, as for writing: the reader that parses the file is the one the pre-checks
    // (checkNifti, checkMetaImage) were chosen for, never another that claims the content.
    const auto io = imageIOForExtension(path);
    return io && io->CanReadFile(path.c_str()) ? io : nullptr;
}

itk::ImageIOBase::Pointer imageIOForWriting(const std::string& path) {
    const std::string& p = path;
    const auto io = imageIOForExtension(p);
    if (io) io->SetUseCompression(hasSuffix(p, ".gz") || hasSuffix(p, ".nrrd") || hasSuffix(p, ".mha"));
    return io;
}

}  // namespace engram::detail
