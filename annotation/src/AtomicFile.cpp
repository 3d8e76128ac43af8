#include <engram/annotation/AtomicFile.h>
#include <engram/annotation/Errors.h>

#include <spdlog/spdlog.h>

#include <unistd.h>
#include <atomic>
#include <system_error>

namespace fs = std::filesystem;

namespace engram {

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
    const fs::path temporary = folder / (".engram-" + std::to_string(::getpid()) + "-" +
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
    fs::rename(temporary, target, ec);
    if (ec) {
        discard();
        throw OutputError("Cannot write " + target.string() + ": " + ec.message());
    }
    spdlog::debug("wrote {}", target.string());
}

}  // namespace engram
