#include <engram/annotation/AsyncVolumeLoader.h>

#include <engram/annotation/Errors.h>
#include <engram/annotation/VolumeIO.h>
#include "ThreadHandOff.h"

#include <spdlog/spdlog.h>
#include <QMetaObject>
#include <QPointer>
#include <QtConcurrent/QtConcurrentRun>

#include <filesystem>

namespace engram {

AsyncVolumeLoader::AsyncVolumeLoader(QObject* parent) : QObject(parent) {}

AsyncVolumeLoader::~AsyncVolumeLoader() {
    cancel();
    future_.waitForFinished();
}

void AsyncVolumeLoader::cancel() { reporter_.cancel(); }

bool AsyncVolumeLoader::isBusy() const { return future_.isRunning(); }

void AsyncVolumeLoader::waitForFinished() { future_.waitForFinished(); }

template <typename Job>
void AsyncVolumeLoader::start(Job job) {
    cancel();
    const quint64 generation = ++generation_;
    QPointer<AsyncVolumeLoader> self(this);
    // Delivers `emitter` on the loader's thread, unless a newer job has started since.
    auto post = [self, generation](auto emitter) {
        detail::handOffRelease();
        QMetaObject::invokeMethod(
            self.data(),
            [self, generation, emitter] {
                detail::handOffAcquire();
                if (self && self->generation_ == generation) emitter(self.data());
            },
            Qt::QueuedConnection);
    };
    reporter_ = ProgressReporter([post](double f, const std::string& stage) {
        post([f, stage](AsyncVolumeLoader* l) { Q_EMIT l->progress(f, QString::fromStdString(stage)); });
    });
    const ProgressReporter reporter = reporter_;
    detail::handOffRelease();
    future_ = QtConcurrent::run([job, reporter, post] {
        detail::handOffAcquire();
        try {
            job(reporter, post);
        } catch (const Cancelled&) {
            post([](AsyncVolumeLoader* l) { Q_EMIT l->cancelled(); });
        } catch (const std::exception& e) {
            const QString message = QString::fromStdString(e.what());
            spdlog::error("loading failed: {}", e.what());
            post([message](AsyncVolumeLoader* l) { Q_EMIT l->failed(message); });
        }
    });
}

void AsyncVolumeLoader::loadPath(const QString& path) {
    const std::filesystem::path p = path.toStdString();
    start([p](const ProgressReporter& reporter, auto post) {
        auto volume = std::make_shared<Volume>(readVolume(p, {}, reporter));
        post([volume](AsyncVolumeLoader* l) { Q_EMIT l->volumeLoaded(volume); });
    });
}

void AsyncVolumeLoader::loadDicomSeries(const DicomSeriesInfo& series) {
    start([series](const ProgressReporter& reporter, auto post) {
        auto volume = std::make_shared<Volume>(engram::loadDicomSeries(series, reporter));
        post([volume](AsyncVolumeLoader* l) { Q_EMIT l->volumeLoaded(volume); });
    });
}

void AsyncVolumeLoader::scanFolder(const QString& folder) {
    const std::filesystem::path p = folder.toStdString();
    start([p](const ProgressReporter& reporter, auto post) {
        auto series = scanDicomFolder(p, reporter);
        post([series](AsyncVolumeLoader* l) { Q_EMIT l->seriesFound(series); });
    });
}

}  // namespace engram
