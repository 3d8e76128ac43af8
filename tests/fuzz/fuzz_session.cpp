// A session file (.engram; recovery files are sessions too): File > Open Session and crash recovery.
#include "FuzzSupport.h"

#include <engram/annotation/Errors.h>
#include <engram/annotation/Session.h>

using namespace engram;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    fuzz::quietLogs();
    const auto path = fuzz::writeInput("input.engram", data, size);
    try {
        readSession(path);
    } catch (const InputError&) {
    }
    return 0;
}
