#include <engram/annotation/SegmentationWorker.h>

#include "ThreadHandOff.h"

#include <spdlog/spdlog.h>
#include <QMetaObject>

namespace engram {

model::Grid toModelGrid(const ImageGeometry& g) {
    model::Grid m;
    for (int a = 0; a < 3; ++a) {
        m.size[a] = g.size[a];
        m.spacing[a] = g.spacing[a];
        m.origin[a] = g.origin[a];
        for (int b = 0; b < 3; ++b) m.direction[a * 3 + b] = g.direction[a][b];
    }
    return m;
}

void SegmentationWorker::loadEngine(const model::EngineOptions& options) {
    detail::handOffAcquire();
    sessions_.clear();
    engine_.reset();
    model::EngineOptions withFlag = options;
    withFlag.cancelFlag = cancelFlag_;
    try {
        engine_ = std::make_unique<model::SegmentationEngine>(withFlag);
    } catch (const model::WeightsError& e) {
        detail::handOffRelease();
        Q_EMIT engineFailed(QString::fromStdString(e.what()));
        return;
    } catch (
        const std::exception& e) {  // e.g. the device failed to initialise: reported, worker stays usable
        spdlog::error("loading the segmentation model failed: {}", e.what());
        detail::handOffRelease();
        Q_EMIT engineFailed(tr("The segmentation model could not be started: %1").arg(e.what()));
        return;
    }
    if (volume_) setVolume(volume_);
    detail::handOffRelease();
    Q_EMIT engineReady(QString::fromStdString(engine_->device()),
                       engine_->memoryMode() != model::MemoryMode::None,
                       QString::fromStdString(engine_->takeNotice()));
}

void SegmentationWorker::setVolume(std::shared_ptr<const Volume> volume) {
    detail::handOffAcquire();
    volume_ = std::move(volume);
    sessions_.clear();
    if (engine_ && volume_)
        engine_->setVolume(toModelGrid(volume_->geometry()), volume_->voxels().data(), volume_);
}

model::SegmentationSession& SegmentationWorker::session(int segment) {
    auto it = sessions_.find(segment);
    if (it == sessions_.end()) it = sessions_.emplace(segment, model::SegmentationSession(*engine_)).first;
    return it->second;
}

void SegmentationWorker::click(const AiClickRequest& request) {
    detail::handOffAcquire();
    if (!engine_) {
        detail::handOffRelease();
        Q_EMIT clickFailed(request.id, request.segment, tr("The segmentation model is not loaded."), false);
        return;
    }
    detail::handOffRelease();
    Q_EMIT busyChanged(true);
    *cancelFlag_ = false;  // a cancel only stops work in progress, not clicks made after it
    try {
        auto& s = session(request.segment);
        AiClickResult result;
        result.id = request.id;
        result.segment = request.segment;
        result.stepBefore = s.step();
        const auto outcome = s.addClick(request.world, request.positive);
        result.stepAfter = outcome.step;
        result.mask = outcome.mask;
        result.confidence = outcome.confidence;
        result.encoded = outcome.encoded;
        result.milliseconds = outcome.milliseconds;
        result.notice = QString::fromStdString(outcome.notice);
        detail::handOffRelease();
        Q_EMIT clickDone(result);
    } catch (const model::Cancelled&) {
        detail::handOffRelease();
        Q_EMIT clickFailed(request.id, request.segment, tr("Cancelled."), true);
    } catch (const std::invalid_argument& e) {
        detail::handOffRelease();
        Q_EMIT clickFailed(request.id, request.segment, QString::fromStdString(e.what()), false);
    } catch (const std::exception& e) {  // a device or runtime error: reported, the worker stays usable
        spdlog::error("AI click failed: {}", e.what());
        detail::handOffRelease();
        Q_EMIT clickFailed(request.id, request.segment, tr("The model failed: %1").arg(e.what()), false);
    }
    detail::handOffRelease();
    Q_EMIT busyChanged(false);
}

void SegmentationWorker::goToStep(int segment, int step) {
    detail::handOffAcquire();
    if (!engine_) return;
    try {
        session(segment).goToStep(step);
    } catch (const std::invalid_argument& e) {
        spdlog::error("segment {}: {}", segment, e.what());
    }
}

void SegmentationWorker::resetSegment(int segment) {
    detail::handOffAcquire();
    sessions_.erase(segment);
}

SegmentationService::SegmentationService(QObject* parent)
    : QObject(parent),
      cancelFlag_(std::make_shared<std::atomic<bool>>(false)),
      worker_(new SegmentationWorker(cancelFlag_)) {
    qRegisterMetaType<AiClickRequest>();
    qRegisterMetaType<AiClickResult>();
    qRegisterMetaType<model::EngineOptions>();
    qRegisterMetaType<std::shared_ptr<const Volume>>();
    thread_.setObjectName("engram-ai-worker");
    worker_->moveToThread(&thread_);
    connect(&thread_, &QThread::finished, worker_, &QObject::deleteLater);
    // Each result is relayed on the GUI thread, after telling ThreadSanitizer about the queued hand-off.
    connect(worker_, &SegmentationWorker::engineReady, this, [this](const QString& d, bool m, const QString& n) {
        detail::handOffAcquire();
        Q_EMIT engineReady(d, m, n);
    });
    connect(worker_, &SegmentationWorker::engineFailed, this, [this](const QString& message) {
        detail::handOffAcquire();
        Q_EMIT engineFailed(message);
    });
    connect(worker_, &SegmentationWorker::clickDone, this, [this](const AiClickResult& result) {
        detail::handOffAcquire();
        Q_EMIT clickDone(result);
    });
    connect(worker_, &SegmentationWorker::clickFailed, this,
            [this](quint64 id, int segment, const QString& message, bool cancelled) {
                detail::handOffAcquire();
                Q_EMIT clickFailed(id, segment, message, cancelled);
            });
    connect(worker_, &SegmentationWorker::busyChanged, this, [this](bool busy) {
        detail::handOffAcquire();
        Q_EMIT busyChanged(busy);
    });
    thread_.start();
}

SegmentationService::~SegmentationService() {
    cancel();
    thread_.quit();
    thread_.wait();
}

void SegmentationService::loadEngine(const model::EngineOptions& options) {
    detail::handOffRelease();
    QMetaObject::invokeMethod(worker_, "loadEngine", Qt::QueuedConnection,
                              Q_ARG(engram::model::EngineOptions, options));
}

void SegmentationService::setVolume(std::shared_ptr<const Volume> volume) {
    detail::handOffRelease();
    QMetaObject::invokeMethod(worker_, "setVolume", Qt::QueuedConnection,
                              Q_ARG(std::shared_ptr<const engram::Volume>, std::move(volume)));
}

quint64 SegmentationService::click(int segment, const Vec3& world, bool positive) {
    const AiClickRequest r{nextId_++, segment, world, positive};
    detail::handOffRelease();
    QMetaObject::invokeMethod(worker_, "click", Qt::QueuedConnection, Q_ARG(engram::AiClickRequest, r));
    return r.id;
}

void SegmentationService::goToStep(int segment, int step) {
    detail::handOffRelease();
    QMetaObject::invokeMethod(worker_, "goToStep", Qt::QueuedConnection, Q_ARG(int, segment),
                              Q_ARG(int, step));
}

void SegmentationService::resetSegment(int segment) {
    detail::handOffRelease();
    QMetaObject::invokeMethod(worker_, "resetSegment", Qt::QueuedConnection, Q_ARG(int, segment));
}

void SegmentationService::cancel() { *cancelFlag_ = true; }

}  // namespace engram
