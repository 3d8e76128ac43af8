#include <engram/annotation/AtomicFile.h>
#include <engram/annotation/Errors.h>

#include <spdlog/spdlog.h>

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <string>
#include <system_error>

namespace fs = std::filesystem;

namespace engram {

namespace {

constexpr const char* kPrefix = ".engram-";

// Flushes a file's (or a folder's) data to the disk; false with errno set when the disk refused.
bool syncToDisk(const fs::path& path, int flags) {
    const int fd = ::open(path.c_str(), flags | O_CLOEXEC);
    if (fd < 0) return false;
    const bool ok = ::fsync(fd) == 0;
    const int saved = errno;
    ::close(fd);
    errno = saved;
    return ok;
}

// The process id in a temporary's name (".engram-<pid>-<n>-<name>"), or 0.
pid_t ownerOf(const fs::path& temporary) {
    const std::string name = temporary.filename().string();
    if (name.rfind(kPrefix, 0) != 0) return 0;
    const std::string rest = name.substr(std::strlen(kPrefix));
    const auto dash = rest.find('-');
    if (dash == std::string::npos || dash == 0 || dash > 9 || rest.find_first_not_of("0123456789") < dash)
        return 0;
    return static_cast<pid_t>(std::stol(rest.substr(0, dash)));
}

}  // namespace

bool isTemporaryFile(const fs::path& path) { return ownerOf(path) != 0; }

std::size_t removeStaleTemporaries(const fs::path& folder) {
    std::size_t removed = 0;
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(folder, ec)) {
        const pid_t owner = ownerOf(entry.path());
        // A temporary whose writer is gone was cut off before its rename: never a complete file.
        if (owner == 0 || (::kill(owner, 0) == 0 || errno != ESRCH)) continue;
        std::error_code ignored;
        if (fs::remove(entry.path(), ignored)) {
            spdlog::info("removed {}, left by a write that did not finish", entry.path().string());
            ++removed;
        }
    }
    return removed;
}

void writeFileAtomically(const fs::path& target, const std::function<void(const fs::path&)>& write) {
    const fs::path folder = target.has_parent_path() ? target.parent_path() : fs::path(".");
    std::error_code ec;
    if (!fs::is_directory(folder, ec))
        throw OutputError("Cannot write " + target.string() + ": the folder " + folder.string() +
                          " does not exist.");
    if (::access(folder.c_str(), W_OK) != 0)
        throw OutputError("Cannot write " + target.string() + ": the folder " + folder.string() +
                          " is not writable.");
    if (fs::is_directory(target, ec))
        throw OutputError("Cannot write " + target.string() + ": a folder of that name exists.");

    static std::atomic<unsigned> counter{0};
    const fs::path temporary = folder / (kPrefix + std::to_string(::getpid()) + "-" +
                                         std::to_string(counter++) + "-" + target.filename().string());
    auto discard = [&] {
        std::error_code ignored;
        fs::remove(temporary, ignored);
    };
    try {
        write(temporary);
    } catch (const Cancelled&) {
        discard();
        throw;
    } catch (const std::exception& e) {
        discard();
        throw OutputError("Cannot write " + target.string() + ": " + e.what());
    }
    if (!fs::exists(temporary, ec)) {
        throw OutputError("Cannot write " + target.string() + ": the writer produced no file.");
    }
    // On the disk before it takes the target's name, so that a power cut leaves the old file or the new.
    if (!syncToDisk(temporary, O_RDONLY)) {
        const std::string why = std::strerror(errno);
        discard();
        throw OutputError("Cannot write " + target.string() + ": the disk did not keep it (" + why + ").");
    }
    fs::rename(temporary, target, ec);
    if (ec) {
        discard();
        throw OutputError("Cannot write " + target.string() + ": " + ec.message());
    }
    if (!syncToDisk(folder, O_RDONLY | O_DIRECTORY))
        spdlog::warn("{}: the folder's entry may not be on the disk yet ({})", target.string(),
                     std::strerror(errno));
    spdlog::debug("wrote {}", target.string());
}

}  // namespace engram
