#include <engram/annotation/SegmentationWorker.h>

#include <spdlog/spdlog.h>
#include <QMetaObject>

#include <pthread.h>

#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <thread>
#include <variant>

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

namespace {

// Requests, in the order the GUI thread made them.
struct LoadEngine {
    model::EngineOptions options;
};
struct SetVolume {
    std::shared_ptr<const Volume> volume;
};
struct Click {
    quint64 id;
    int segment;
    Vec3 world;
    bool positive;
};
struct GoToStep {
    int segment, step;
};
struct ResetSegment {
    int segment;
};
using Request = std::variant<LoadEngine, SetVolume, Click, GoToStep, ResetSegment>;

// Results, emitted as the service's signals of the same names.
struct EngineReady {
    QString device;
    bool memory;
    QString notice;
};
struct EngineFailed {
    QString message;
};
struct ClickFailed {
    quint64 id;
    int segment;
    QString message;
    bool cancelled;
};
struct BusyChanged {
    bool busy;
};
using Event = std::variant<EngineReady, EngineFailed, AiClickResult, ClickFailed, BusyChanged>;

template <class... F>
struct Overloaded : F... {
    using F::operator()...;
};
template <class... F>
Overloaded(F...) -> Overloaded<F...>;

}  // namespace

class SegmentationService::Worker {
  public:
    explicit Worker(SegmentationService* service) : service_(service), thread_([this] { run(); }) {
        pthread_setname_np(thread_.native_handle(), "engram-ai");  // shown by debuggers and top
    }

    ~Worker() {
        cancel();
        {
            std::lock_guard lock(mutex_);
            stopping_ = true;
        }
        wake_.notify_one();
        thread_.join();
    }

    void request(Request r) {
        {
            std::lock_guard lock(mutex_);
            requests_.push_back(std::move(r));
        }
        wake_.notify_one();
    }

    std::deque<Event> takeEvents() {
        std::lock_guard lock(mutex_);
        return std::exchange(events_, {});
    }

    void cancel() { *cancelFlag_ = true; }

  private:
    void run() {
        for (;;) {
            Request next;
            {
                std::unique_lock lock(mutex_);
                wake_.wait(lock, [this] { return stopping_ || !requests_.empty(); });
                if (stopping_) return;  // requests still queued are dropped: nobody waits for them
                next = std::move(requests_.front());
                requests_.pop_front();
            }
            std::visit(Overloaded{[this](LoadEngine& r) { loadEngine(r.options); },
                                  [this](SetVolume& r) { setVolume(std::move(r.volume)); },
                                  [this](Click& r) { click(r); },
                                  [this](GoToStep& r) { goToStep(r.segment, r.step); },
                                  [this](ResetSegment& r) { sessions_.erase(r.segment); }},
                       next);
        }
    }

    void post(Event e) {
        {
            std::lock_guard lock(mutex_);
            events_.push_back(std::move(e));
        }
        // The notification carries no data; the service takes the events under the mutex.
        QMetaObject::invokeMethod(service_, "deliverEvents", Qt::QueuedConnection);
    }

    void loadEngine(const model::EngineOptions& options) {
        sessions_.clear();
        engine_.reset();
        model::EngineOptions withFlag = options;
        withFlag.cancelFlag = cancelFlag_;
        try {
            engine_ = std::make_unique<model::SegmentationEngine>(withFlag);
        } catch (const model::WeightsError& e) {
            post(EngineFailed{QString::fromStdString(e.what())});
            return;
        } catch (
            const std::exception& e) {  // e.g. the device failed to initialise: reported, worker stays usable
            spdlog::error("loading the segmentation model failed: {}", e.what());
            post(EngineFailed{tr("The segmentation model could not be started: %1").arg(e.what())});
            return;
        }
        if (volume_) setVolume(volume_);
        post(EngineReady{QString::fromStdString(engine_->device()),
                         engine_->memoryMode() != model::MemoryMode::None,
                         QString::fromStdString(engine_->takeNotice())});
    }

    void setVolume(std::shared_ptr<const Volume> volume) {
        volume_ = std::move(volume);
        sessions_.clear();
        if (engine_ && volume_)
            engine_->setVolume(toModelGrid(volume_->geometry()), volume_->voxels().data(), volume_);
    }

    model::SegmentationSession& session(int segment) {
        auto it = sessions_.find(segment);
        if (it == sessions_.end())
            it = sessions_.emplace(segment, model::SegmentationSession(*engine_)).first;
        return it->second;
    }

    void click(const Click& request) {
        if (!engine_) {
            post(
                ClickFailed{request.id, request.segment, tr("The segmentation model is not loaded."), false});
            return;
        }
        post(BusyChanged{true});
        *cancelFlag_ = false;  // a cancel only stops work in progress, not clicks made after it
        try {
            auto& s = session(request.segment);
            AiClickResult result;
            result.id = request.id;
            result.segment = request.segment;
            result.stepBefore = s.step();
            auto outcome = s.addClick(request.world, request.positive);
            result.stepAfter = outcome.step;
            result.mask = std::move(outcome.mask);
            result.confidence = outcome.confidence;
            result.encoded = outcome.encoded;
            result.milliseconds = outcome.milliseconds;
            result.notice = QString::fromStdString(outcome.notice);
            post(std::move(result));
        } catch (const model::Cancelled&) {
            post(ClickFailed{request.id, request.segment, tr("Cancelled."), true});
        } catch (const std::invalid_argument& e) {
            post(ClickFailed{request.id, request.segment, QString::fromStdString(e.what()), false});
        } catch (const std::exception& e) {  // a device or runtime error: reported, the worker stays usable
            spdlog::error("AI click failed: {}", e.what());
            post(ClickFailed{request.id, request.segment, tr("The model failed: %1").arg(e.what()), false});
        }
        post(BusyChanged{false});
    }

    void goToStep(int segment, int step) {
        if (!engine_) return;
        try {
            session(segment).goToStep(step);
        } catch (const std::invalid_argument& e) {
            spdlog::error("segment {}: {}", segment, e.what());
        }
    }

    SegmentationService* service_;
    const std::shared_ptr<std::atomic<bool>> cancelFlag_ = std::make_shared<std::atomic<bool>>(false);

    std::mutex mutex_;  // guards the three members below
    std::condition_variable wake_;
    std::deque<Request> requests_;
    std::deque<Event> events_;
    bool stopping_ = false;

    // Used on the worker thread only.
    std::unique_ptr<model::SegmentationEngine> engine_;
    std::shared_ptr<const Volume> volume_;
    std::map<int, model::SegmentationSession> sessions_;

    std::thread thread_;  // last: started once everything above exists
};

SegmentationService::SegmentationService(QObject* parent) : QObject(parent) {
    qRegisterMetaType<AiClickResult>();
    worker_ = std::make_unique<Worker>(this);
}

SegmentationService::~SegmentationService() = default;  // the worker cancels, stops and joins

void SegmentationService::deliverEvents() {
    for (auto& event : worker_->takeEvents())
        std::visit(Overloaded{[this](EngineReady& e) { Q_EMIT engineReady(e.device, e.memory, e.notice); },
                              [this](EngineFailed& e) { Q_EMIT engineFailed(e.message); },
                              [this](AiClickResult& e) { Q_EMIT clickDone(e); },
                              [this](ClickFailed& e) {
                                  Q_EMIT clickFailed(e.id, e.segment, e.message, e.cancelled);
                              },
                              [this](BusyChanged& e) { Q_EMIT busyChanged(e.busy); }},
                   event);
}

void SegmentationService::loadEngine(const model::EngineOptions& options) {
    worker_->request(LoadEngine{options});
}

void SegmentationService::setVolume(std::shared_ptr<const Volume> volume) {
    worker_->request(SetVolume{std::move(volume)});
}

quint64 SegmentationService::click(int segment, const Vec3& world, bool positive) {
    const quint64 id = nextId_++;
    worker_->request(Click{id, segment, world, positive});
    return id;
}

void SegmentationService::goToStep(int segment, int step) { worker_->request(GoToStep{segment, step}); }

void SegmentationService::resetSegment(int segment) { worker_->request(ResetSegment{segment}); }

void SegmentationService::cancel() { worker_->cancel(); }

}  // namespace engram
