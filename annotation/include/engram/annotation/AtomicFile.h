#pragma once
// Atomic file replacement: the writer fills a temporary file in the target's folder, which is renamed over
// the target only after the writer returned normally. A failed or interrupted write leaves the target as it
// was and no temporary behind.

#include <filesystem>
#include <functional>

namespace engram {

// Calls `write(temporaryPath)`; the temporary path ends with the target's file name, so writers that pick
// a format by extension (ITK) behave as for the target. Throws OutputError naming the target when its folder
// does not exist or is not writable, when `write` throws (its message is kept), or when the rename fails.
// Cancelled passes through unchanged.
void writeFileAtomically(const std::filesystem::path& target,
                         const std::function<void(const std::filesystem::path& temporary)>& write);

}  // namespace engram
