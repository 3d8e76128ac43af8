#include <engram/annotation/BackgroundJob.h>

#include "ThreadHandOff.h"

#include <QCoreApplication>
#include <QEvent>
#include <QRunnable>

namespace engram {
namespace {

// What the job's thread posts to the owner: run `f` if the job that posted it is still the current one.
class Delivery : public QEvent {
  public:
    static QEvent::Type type() {
        static const int t = QEvent::registerEventType();
        return static_cast<QEvent::Type>(t);
    }
    Delivery(quint64 generation, std::function<void()> f)
        : QEvent(type()), generation(generation), run(std::move(f)) {}
    const quint64 generation;
    const std::function<void()> run;
};

// The job on the pool's thread. run() acquires the hand-off first, on its own address, which its caller
// passes in a register: reading a captured pointer to find the token would itself come before the acquire
// (ThreadSanitizer reported that read once Qt's allocations were no longer suppressed as a whole).
class Task : public QRunnable {
  public:
    explicit Task(std::function<void()> body) : body_(std::move(body)) {}
    void run() override {
        detail::handOffAcquire(this);
        body_();
    }

  private:
    std::function<void()> body_;
};

}  // namespace

BackgroundJob::BackgroundJob(QObject* parent) : QObject(parent) { pool_.setMaxThreadCount(1); }

BackgroundJob::~BackgroundJob() {
    cancel();
    pool_.waitForDone();  // deliveries still queued for this object are dropped with it
}

void BackgroundJob::cancel() { reporter_.cancel(); }

// waitForDone, not a QFuture's waitForFinished: that one may take a job that has not started off the queue
// and run it on the calling (GUI) thread.
void BackgroundJob::waitForFinished() { pool_.waitForDone(); }

bool BackgroundJob::event(QEvent* e) {
    detail::handOffAcquire(&handOff_);  // first: even the event's type was written on the job's thread
    if (e->type() != Delivery::type()) return QObject::event(e);
    auto* d = static_cast<Delivery*>(e);
    if (d->generation == generation_) d->run();
    return true;
}

void BackgroundJob::begin(std::function<std::function<void()>(const ProgressReporter&, const Post&)> job) {
    cancel();
    const quint64 generation = ++generation_;
    busy_ = true;
    // The object outlives every post: its destructor waits for the job's thread before it goes.
    const Post post = [this, generation](std::function<void()> f) {
        auto* d = new Delivery(generation, std::move(f));  // built before the release, posted by pointer
        detail::handOffRelease(&handOff_);
        QCoreApplication::postEvent(this, d);
    };
    reporter_ = ProgressReporter([this, post](double f, const std::string& stage) {
        post([this, f, stage] { Q_EMIT progress(f, QString::fromStdString(stage)); });
    });
    auto* task = new Task([this, job = std::move(job), reporter = reporter_, post] {
        std::function<void()> deliver = job(reporter, post);
        post([this, deliver = std::move(deliver)] {
            busy_ = false;
            deliver();
        });
    });
    detail::handOffRelease(task);  // built before the release, started by pointer; the pool deletes it
    pool_.start(task);
}

}  // namespace engram
