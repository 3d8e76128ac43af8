#include <engram/annotation/Errors.h>
#include <engram/annotation/Progress.h>

#include <algorithm>

namespace engram {

void ProgressReporter::report(double fraction, const std::string& stage) const {
    throwIfCancelled();
    if (callback_) callback_(std::clamp(fraction, 0.0, 1.0), stage);
}

void ProgressReporter::throwIfCancelled() const {
    if (isCancelled()) throw Cancelled();
}

ProgressReporter ProgressReporter::subRange(double from, double to) const {
    ProgressReporter sub;
    sub.cancel_ = cancel_;
    if (callback_) {
        auto parent = callback_;
        sub.callback_ = [parent, from, to](double f, const std::string& stage) {
            parent(from + (to - from) * f, stage);
        };
    }
    return sub;
}

}  // namespace engram
