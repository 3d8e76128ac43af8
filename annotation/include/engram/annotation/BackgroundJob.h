#pragma once
// One job at a time on a thread of its own, its outcome delivered on the owner's thread: what the volume
// loader, the exports, the PACS transfers and fine-tuning run on (the AI worker, a queue that holds the
// model, is SegmentationWorker.h). Starting a job cancels the one before it, whose outcome is then dropped;
// cancel() asks the running job to stop (ProgressReporter throws Cancelled at its next report); the
// destructor cancels and waits, so a job never outlives what it reports to. Each BackgroundJob has its own
// thread, so an hour of fine-tuning never holds up a load.
//
// Values cross threads only through start()'s closures and the `post` it hands the job; both tell
// ThreadSanitizer about the ordering that Qt's queued calls guarantee (src/ThreadHandOff.h), so that rule is
// written once, here. Call from the owner's thread (the GUI thread in the app).

#include <engram/annotation/Errors.h>
#include <engram/annotation/Progress.h>

#include <QObject>
#include <QString>
#include <QThreadPool>

#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <type_traits>
#include <utility>

namespace engram {

template <typename Result>
struct JobOutcome {
    std::optional<Result> result;  // the job's value; empty when it failed or was cancelled
    QString error;                 // why it failed: the exception's message
    bool cancelled = false;
};

class BackgroundJob : public QObject {
    Q_OBJECT
  public:
    // Runs `f` on the owner's thread, unless a newer job has started by then (callable from the job).
    using Post = std::function<void(std::function<void()>)>;

    explicit BackgroundJob(QObject* parent = nullptr);
    ~BackgroundJob() override;

    // Runs `work(progress, post)` on the job's thread, then `done(JobOutcome<its result>)` on the owner's
    // thread. An exception from `work` is the outcome's error (Cancelled: `cancelled`); `done` always runs
    // unless another job was started meanwhile.
    template <typename Work, typename Done>
    void start(Work work, Done done);

    void cancel();
    // From start() until its `done` has run (or a newer job replaced it).
    bool isBusy() const { return busy_; }
    // Blocks until every job started has returned (their `done` runs later, from the event loop). For
    // shutdown and tests; never from a slot that the job's outcome waits on.
    void waitForFinished();

  Q_SIGNALS:
    // The job's progress reports, on the owner's thread.
    void progress(double fraction, const QString& stage);

  protected:
    bool event(QEvent* e) override;  // a delivery from the job's thread

  private:
    // The job returns what to run on the owner's thread.
    void begin(std::function<std::function<void()>(const ProgressReporter&, const Post&)> job);

    QThreadPool pool_;  // one thread, started on demand
    ProgressReporter reporter_;
    quint64 generation_ = 0;
    bool busy_ = false;
    char handOff_ = 0;  // this job's ThreadSanitizer hand-off token (its address)
};

template <typename Work, typename Done>
void BackgroundJob::start(Work work, Done done) {
    using Result = std::invoke_result_t<Work&, const ProgressReporter&, const Post&>;
    begin([work = std::move(work), done = std::move(done)](
              const ProgressReporter& progress, const Post& post) mutable -> std::function<void()> {
        auto outcome = std::make_shared<JobOutcome<Result>>();
        try {
            outcome->result.emplace(work(progress, post));
        } catch (const Cancelled&) {
            outcome->cancelled = true;
        } catch (const std::exception& e) {  // delivered to `done`, which reports it
            outcome->error = QString::fromStdString(e.what());
        } catch (...) {  // not a std::exception: still reported (and the job no longer counts as busy)
            outcome->error = QStringLiteral("an unexpected error (not a standard exception)");
        }
        return [done, outcome]() mutable { done(std::move(*outcome)); };
    });
}

}  // namespace engram
