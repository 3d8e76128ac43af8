#pragma once
// Internal: one-time DCMTK and GDCM configuration (quiet loggers, decoders for compressed pixel data).
#include <filesystem>
#include <optional>
#include <string>

class DcmItem;
class DcmTagKey;

namespace engram::detail {

void ensureDicomLibrariesInitialised();

// All values of a string element (backslash-separated), without DICOM's trailing padding; empty if absent.
std::string dicomString(DcmItem& item, const DcmTagKey& tag);

// A Part 10 file's SOP class and transfer syntax from its meta header alone; nullopt when it has none.
struct MetaHeader {
    std::string sopClass, transferSyntax;
};
std::optional<MetaHeader> readMetaHeader(const std::filesystem::path& path);

}  // namespace engram::detail
