#pragma once
// Internal: one-time DCMTK and GDCM configuration (quiet loggers, decoders for compressed pixel data).
#include <string>

class DcmItem;
class DcmTagKey;

namespace engram::detail {

void ensureDicomLibrariesInitialised();

// All values of a string element (backslash-separated), without DICOM's trailing padding; empty if absent.
std::string dicomString(DcmItem& item, const DcmTagKey& tag);

}  // namespace engram::detail
