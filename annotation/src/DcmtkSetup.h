#pragma once
// Internal: one-time DCMTK configuration (quiet logger, decoders for compressed pixel data).
namespace engram::detail {
void ensureDcmtkInitialised();
}
