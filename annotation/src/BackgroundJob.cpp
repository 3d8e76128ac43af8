#include <engram/annotation/BackgroundJob.h>

#include "ThreadHandOff.h"

#include <QMetaObject>
#include <QPointer>
#include <QtConcurrent/QtConcurrentRun>

namespace engram {

BackgroundJob::BackgroundJob(QObject* parent) : QObject(parent) { pool_.setMaxThreadCount(1); }

BackgroundJob::~BackgroundJob() {
    cancel();
    future_.waitForFinished();
}

void BackgroundJob::cancel() { reporter_.cancel(); }

void BackgroundJob::waitForFinished() { future_.waitForFinished(); }

void BackgroundJob::begin(std::function<std::function<void()>(const ProgressReporter&, const Post&)> job) {
    cancel();
    const quint64 generation = ++generation_;
    busy_ = true;
    QPointer<BackgroundJob> self(this);
    const Post post = [self, generation](std::function<void()> f) {
        detail::handOffRelease();
        QMetaObject::invokeMethod(
            self.data(),
            [self, generation, f = std::move(f)] {
                detail::handOffAcquire();
                if (self && self->generation_ == generation) f();
            },
            Qt::QueuedConnection);
    };
    reporter_ = ProgressReporter([post, self](double f, const std::string& stage) {
        post([self, f, stage] { Q_EMIT self->progress(f, QString::fromStdString(stage)); });
    });
    detail::handOffRelease();
    future_ = QtConcurrent::run(&pool_, [job = std::move(job), reporter = reporter_, post, self] {
        detail::handOffAcquire();
        post([self, deliver = job(reporter, post)] {
            self->busy_ = false;
            deliver();
        });
    });
}

}  // namespace engram
