#pragma once
// Progress reporting and cooperative cancellation for long operations (loading, export). The reporter is a
// cheap value; copies share one cancel flag. Callbacks run on the worker's thread: a GUI forwards them
// through a queued connection (see AsyncVolumeLoader).

#include <atomic>
#include <functional>
#include <memory>
#include <string>

namespace engram {

class ProgressReporter {
  public:
    using Callback = std::function<void(double fraction, const std::string& stage)>;

    ProgressReporter() : cancel_(std::make_shared<std::atomic<bool>>(false)) {}
    explicit ProgressReporter(Callback cb) : ProgressReporter() { callback_ = std::move(cb); }

    // fraction in [0, 1]. Throws Cancelled when cancel() has been called.
    void report(double fraction, const std::string& stage) const;
    void cancel() const { cancel_->store(true); }
    bool isCancelled() const { return cancel_->load(); }
    void throwIfCancelled() const;

    // A reporter for a sub-range [from, to] of this one's progress, sharing the cancel flag.
    ProgressReporter subRange(double from, double to) const;

  private:
    Callback callback_;
    std::shared_ptr<std::atomic<bool>> cancel_;
};

}  // namespace engram
