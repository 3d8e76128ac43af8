#include <engram/annotation/AtomicFile.h>
#include <engram/annotation/Errors.h>
#include <engram/annotation/Recovery.h>

#include <QCoreApplication>
#include <QStandardPaths>

#include <spdlog/spdlog.h>

#include <algorithm>

namespace engram {
namespace {

std::filesystem::path lockOf(const std::filesystem::path& session) {
    auto p = session;
    p.replace_extension(".lock");
    return p;
}

}  // namespace

RecoveryStore::RecoveryStore(std::filesystem::path dir) : dir_(std::move(dir)) {
    std::error_code ec;
    std::filesystem::create_directories(dir_, ec);
    if (ec) throw OutputError("Cannot create the recovery folder " + dir_.string() + ": " + ec.message());
    removeStaleTemporaries(dir_);  // autosaves cut off by a crash: never recovery files
    file_ = dir_ / ("session-" + std::to_string(QCoreApplication::applicationPid()) + ".engram");
    lock_ = std::make_unique<QLockFile>(QString::fromStdString(lockOf(file_).string()));
    lock_->setStaleLockTime(0);
    if (!lock_->tryLock(100)) spdlog::warn("could not lock {}", lockOf(file_).string());
}

RecoveryStore::~RecoveryStore() = default;

void RecoveryStore::discard() {
    std::error_code ec;
    std::filesystem::remove(file_, ec);
}

std::vector<std::filesystem::path> RecoveryStore::orphans() const {
    std::vector<std::filesystem::path> out;
    std::error_code ec;
    for (const auto& entry : std::filesystem::directory_iterator(dir_, ec)) {
        const auto& p = entry.path();
        if (p.extension() != ".engram" || p == file_ || isTemporaryFile(p)) continue;
        // A lock we can take is a lock nobody holds: its process is gone (QLockFile checks the PID).
        QLockFile probe(QString::fromStdString(lockOf(p).string()));
        probe.setStaleLockTime(0);
        if (probe.tryLock(0)) {
            probe.unlock();
            out.push_back(p);
        }
    }
    std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) {
        std::error_code e1, e2;
        return std::filesystem::last_write_time(a, e1) > std::filesystem::last_write_time(b, e2);
    });
    return out;
}

void RecoveryStore::remove(const std::filesystem::path& orphan) {
    std::error_code ec;
    std::filesystem::remove(orphan, ec);
    std::filesystem::remove(lockOf(orphan), ec);
}

std::filesystem::path RecoveryStore::defaultDirectory() {
    return std::filesystem::path(
               QStandardPaths::writableLocation(QStandardPaths::AppLocalDataLocation).toStdString()) /
           "recovery";
}

}  // namespace engram
