#pragma once
// Crash recovery. Each running Engram owns one recovery file (<dir>/session-<pid>.engram, a session file
// written by autosave) guarded by a QLockFile held for the process's life. A recovery file whose lock nobody
// holds belongs to a process that ended without closing cleanly: that is what the next start offers to
// restore. A clean close removes the process's own file.

#include <QLockFile>
#include <QString>

#include <filesystem>
#include <memory>
#include <vector>

namespace engram {

class RecoveryStore {
  public:
    // `dir` is created when missing. Throws OutputError when it cannot be.
    explicit RecoveryStore(std::filesystem::path dir);
    ~RecoveryStore();

    // Where this process autosaves.
    const std::filesystem::path& file() const { return file_; }
    // Removes this process's recovery file (on a clean close, or once the work is saved).
    void discard();
    // Recovery files left by processes that are gone, newest first.
    std::vector<std::filesystem::path> orphans() const;
    // Deletes an orphan (after restoring it, or when the user declines).
    static void remove(const std::filesystem::path& orphan);
    // The standard place: <AppLocalDataLocation>/recovery.
    static std::filesystem::path defaultDirectory();

  private:
    std::filesystem::path dir_, file_;
    std::unique_ptr<QLockFile> lock_;
};

}  // namespace engram
