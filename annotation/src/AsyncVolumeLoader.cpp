#include <engram/annotation/AsyncVolumeLoader.h>

#include <engram/annotation/VolumeIO.h>

#include <spdlog/spdlog.h>

#include <filesystem>

namespace engram {

AsyncVolumeLoader::AsyncVolumeLoader(QObject* parent) : QObject(parent) {
    connect(&job_, &BackgroundJob::progress, this, &AsyncVolumeLoader::progress);
}

AsyncVolumeLoader::~AsyncVolumeLoader() = default;  // the job cancels and waits

void AsyncVolumeLoader::cancel() { job_.cancel(); }

bool AsyncVolumeLoader::isBusy() const { return job_.isBusy(); }

void AsyncVolumeLoader::waitForFinished() { job_.waitForFinished(); }

template <typename Result>
bool AsyncVolumeLoader::succeeded(const JobOutcome<Result>& outcome) {
    if (outcome.cancelled) {
        Q_EMIT cancelled();
    } else if (!outcome.result) {
        spdlog::error("loading failed: {}", outcome.error.toStdString());
        Q_EMIT failed(outcome.error);
    }
    return outcome.result.has_value();
}

void AsyncVolumeLoader::loadPath(const QString& path) {
    const std::filesystem::path p = path.toStdString();
    job_.start(
        [p](const ProgressReporter& progress, const BackgroundJob::Post&) {
            return std::make_shared<Volume>(readVolume(p, {}, progress));
        },
        [this](JobOutcome<std::shared_ptr<Volume>> o) {
            if (succeeded(o)) Q_EMIT volumeLoaded(*o.result);
        });
}

void AsyncVolumeLoader::loadDicomSeries(const DicomSeriesInfo& series) {
    job_.start(
        [series](const ProgressReporter& progress, const BackgroundJob::Post&) {
            return std::make_shared<Volume>(engram::loadDicomSeries(series, progress));
        },
        [this](JobOutcome<std::shared_ptr<Volume>> o) {
            if (succeeded(o)) Q_EMIT volumeLoaded(*o.result);
        });
}

void AsyncVolumeLoader::scanFolder(const QString& folder) {
    const std::filesystem::path p = folder.toStdString();
    job_.start([p](const ProgressReporter& progress,
                   const BackgroundJob::Post&) { return scanDicomFolder(p, progress); },
               [this](JobOutcome<std::vector<DicomSeriesInfo>> o) {
                   if (succeeded(o)) Q_EMIT seriesFound(*o.result);
               });
}

}  // namespace engram
