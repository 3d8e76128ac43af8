#pragma once
// Atomic file replacement: the writer fills a temporary file in the target's folder
// (".engram-<pid>-<n>-<name>"), which is flushed to the disk and renamed over the target only after the
// writer returned normally. A failed write leaves the target as it was and no temporary behind; a process
// killed half way leaves the target as it was and a temporary that readers of folders skip (isTemporaryFile)
// and removeStaleTemporaries deletes.

#include <cstddef>
#include <filesystem>
#include <functional>

namespace engram {

// Calls `write(temporaryPath)`; the temporary path ends with the target's file name, so writers that pick
// a format by extension (ITK) behave as for the target. Throws OutputError naming the target when its folder
// does not exist or is not writable, when `write` throws (its message is kept), or when the rename fails.
// Cancelled passes through unchanged.
void writeFileAtomically(const std::filesystem::path& target,
                         const std::function<void(const std::filesystem::path& temporary)>& write);

// True for a temporary of writeFileAtomically (complete or not, it is never the file itself).
bool isTemporaryFile(const std::filesystem::path& path);
// Deletes the temporaries in `folder` whose writing process no longer runs; returns how many.
std::size_t removeStaleTemporaries(const std::filesystem::path& folder);

}  // namespace engram
