#pragma once
// Internal: one-time DCMTK and GDCM configuration (quiet loggers, decoders for compressed pixel data).
namespace engram::detail {
void ensureDicomLibrariesInitialised();
}
