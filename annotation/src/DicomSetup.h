#pragma once
// Internal: one-time DCMTK and GDCM configuration (quiet loggers, decoders for compressed pixel data).
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

class DcmItem;
class DcmTagKey;

namespace engram::detail {

void ensureDicomLibrariesInitialised();

// All values of a string element (backslash-separated), without DICOM's trailing padding; empty if absent.
std::string dicomString(DcmItem& item, const DcmTagKey& tag);

// The first top-level element of `ds` whose claimed length exceeds `fileBytes` (DCMTK would allocate the
// claim when the value is read: 4 GB for a few bytes, found by fuzz_dicom), as "(gggg,eeee)"; empty if none.
std::string elementLongerThanFile(DcmItem& ds, std::uintmax_t fileBytes);

// The first sequence or item of `ds` (at any depth) with an odd explicit length, as "(gggg,eeee) ..."; empty
// if none. DICOM lengths are even; on such a length DCMTK reads on while GDCM loses its place in the data set
// and took a later pair of bytes for a 2 GB length in a 500 KB file (found by fuzz_dicom).
std::string oddStructureLength(DcmItem& ds);

// A Part 10 file's SOP class and transfer syntax from its meta header alone; nullopt when it has none.
struct MetaHeader {
    std::string sopClass, transferSyntax;
};
std::optional<MetaHeader> readMetaHeader(const std::filesystem::path& path);

}  // namespace engram::detail
