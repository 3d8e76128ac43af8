#include <engram/annotation/SegmentationService.h>

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
    ClickMethod method;
    std::shared_ptr<const model::RegionMask> competitors;
};
struct GoToStep {
    int segment;
    ClickMethod method;
    int step;
};
struct ResetSegment {
    int segment;
};
struct LoadPropagator {
    std::string path, device;
};
struct Propagate {
    quint64 id;
    PropagationRequest request;
};
using Request = std::variant<LoadEngine, SetVolume, Click, GoToStep, ResetSegment, LoadPropagator, Propagate>;

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
struct PropagatorReady {
    QString device;
    bool shortTerm;
    QString notice;
};
struct PropagatorFailed {
    QString message;
};
struct PropagationProgress {
    quint64 id;
    int done, total;
};
struct PropagationFailed {
    quint64 id;
    int segment;
    QString message;
    bool cancelled;
};
using Event =
    std::variant<EngineReady, EngineFailed, AiClickResult, ClickFailed, BusyChanged, PropagatorReady,
                 PropagatorFailed, PropagationProgress, PropagationDone, PropagationFailed>;

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
                                  [this](GoToStep& r) { goToStep(r.segment, r.method, r.step); },
                                  [this](ResetSegment& r) {
                                      sessions_.erase(r.segment);
                                      seedSessions_.erase(r.segment);
                                  },
                                  [this](LoadPropagator& r) { loadPropagator(r.path, r.device); },
                                  [this](Propagate& r) { propagate(r.id, r.request); }},
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

    // One busy period of model work: the cancel flag cleared first (a cancel only stops work in progress, not
    // requests made after it); a cancel, a bad request, and a device or runtime error (logged; `failedText`
    // names it) each become `fail(message, cancelled)`. The worker stays usable.
    template <class Fail, class Work>
    void busy(const char* what, const QString& failedText, Fail fail, Work work) {
        post(BusyChanged{true});
        *cancelFlag_ = false;
        try {
            work();
        } catch (const model::Cancelled&) {
            fail(tr("Cancelled."), true);
        } catch (const std::invalid_argument& e) {
            fail(QString::fromStdString(e.what()), false);
        } catch (const std::exception& e) {
            spdlog::error("{} failed: {}", what, e.what());
            fail(failedText.arg(e.what()), false);
        }
        post(BusyChanged{false});
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
        seedSessions_.clear();
        if (engine_ && volume_)
            engine_->setVolume(toModelGrid(volume_->geometry()), volume_->voxels().data(), volume_);
    }

    model::SegmentationSession& session(int segment) {
        auto it = sessions_.find(segment);
        if (it == sessions_.end())
            it = sessions_.emplace(segment, model::SegmentationSession(*engine_)).first;
        return it->second;
    }

    model::SeedGrowingSession& seedSession(int segment) {
        auto it = seedSessions_.find(segment);
        if (it == seedSessions_.end())
            it = seedSessions_
                     .emplace(segment, model::SeedGrowingSession(volume_->voxels().data(),
                                                                 toModelGrid(volume_->geometry())))
                     .first;
        return it->second;
    }

    void click(const Click& request) {
        auto fail = [&](const QString& message, bool cancelled) {
            post(ClickFailed{request.id, request.segment, message, cancelled});
        };
        const bool seeds = request.method == ClickMethod::GrowFromSeeds;
        if (!seeds && !engine_) return fail(tr("The segmentation model is not loaded."), false);
        if (seeds && !volume_) return fail(tr("Open a volume before segmenting."), false);
        busy(seeds ? "grow from seeds" : "AI click",
             seeds ? tr("Grow from seeds failed: %1") : tr("The model failed: %1"), fail, [&] {
                 AiClickResult result;
                 result.id = request.id;
                 result.segment = request.segment;
                 result.method = request.method;
                 model::ClickOutcome outcome;
                 if (seeds) {
                     auto& s = seedSession(request.segment);
                     result.stepBefore = s.step();
                     outcome = s.addClick(request.world, request.positive, request.competitors.get());
                 } else {
                     auto& s = session(request.segment);
                     result.stepBefore = s.step();
                     outcome = s.addClick(request.world, request.positive);
                 }
                 result.stepAfter = outcome.step;
                 result.mask = std::move(outcome.mask);
                 result.confidence = outcome.confidence;
                 result.encoded = outcome.encoded;
                 result.milliseconds = outcome.milliseconds;
                 result.notice = QString::fromStdString(outcome.notice);
                 post(std::move(result));
             });
    }

    void loadPropagator(const std::string& path, const std::string& device) {
        propagator_.reset();
        try {
            propagator_ = std::make_unique<model::SlicePropagator>(path, device);
        } catch (const model::WeightsError& e) {
            post(PropagatorFailed{QString::fromStdString(e.what())});
            return;
        } catch (const std::exception& e) {  // the device failed to initialise: reported, worker stays usable
            spdlog::error("loading the propagation model failed: {}", e.what());
            post(PropagatorFailed{tr("The propagation model could not be started: %1").arg(e.what())});
            return;
        }
        post(PropagatorReady{
            QString::fromStdString(propagator_->device()), propagator_->hasShortTermMemory(), {}});
    }

    void propagate(quint64 id, const PropagationRequest& request) {
        auto fail = [&](const QString& message, bool cancelled) {
            post(PropagationFailed{id, request.segment, message, cancelled});
        };
        if (!propagator_) return fail(tr("No propagation model is loaded."), false);
        if (!volume_) return fail(tr("Open a volume before propagating."), false);
        busy("propagation", tr("The propagation model failed: %1"), fail, [&] {
            model::PropagationOptions o;
            o.axis = request.axis;
            o.forward = request.forward;
            o.backward = request.backward;
            o.cancelFlag = cancelFlag_;
            o.progress = [&](int done, int total) { post(PropagationProgress{id, done, total}); };
            const auto& g = volume_->geometry();
            const model::VolumeView view{{g.size[0], g.size[1], g.size[2]},
                                         volume_->voxels().data(),
                                         {g.spacing[0], g.spacing[1], g.spacing[2]}};
            post(slab(id, request, propagator_->propagate(view, request.prompts, o)));
        });
    }

    // The visited slices of a propagation result as a region of the volume.
    PropagationDone slab(quint64 id, const PropagationRequest& request, model::PropagationResult r) const {
        PropagationDone d;
        d.id = id;
        d.segment = request.segment;
        d.axis = request.axis;
        d.slicesSegmented = r.slicesSegmented;
        d.milliseconds = r.seconds * 1000;
        d.notice = QString::fromStdString(r.notice);
        const auto& g = volume_->geometry();
        const int a = request.axis;
        std::int64_t lo = -1, hi = -1;
        for (std::int64_t s = 0; s < std::int64_t(r.objectProbability.size()); ++s)
            if (r.objectProbability[std::size_t(s)] >= 0) {
                if (lo < 0) lo = s;
                hi = s;
            }
        auto& m = d.mask;
        m.begin = {0, 0, 0};
        m.size = {g.size[0], g.size[1], g.size[2]};
        m.begin[std::size_t(a)] = lo;
        m.size[std::size_t(a)] = hi - lo + 1;
        m.mask.assign(std::size_t(m.size[0] * m.size[1] * m.size[2]), 0);
        std::array<std::int64_t, 3> pLo{m.size}, pHi{-1, -1, -1};
        for (std::int64_t k = 0; k < m.size[2]; ++k)
            for (std::int64_t j = 0; j < m.size[1]; ++j)
                for (std::int64_t i = 0; i < m.size[0]; ++i) {
                    const auto v =
                        r.mask[std::size_t(g.offset(i + m.begin[0], j + m.begin[1], k + m.begin[2]))];
                    m.mask[std::size_t(i + m.size[0] * (j + m.size[1] * k))] = v;
                    if (v) {
                        pLo = {std::min(pLo[0], i), std::min(pLo[1], j), std::min(pLo[2], k)};
                        pHi = {std::max(pHi[0], i), std::max(pHi[1], j), std::max(pHi[2], k)};
                    }
                }
        if (pHi[0] >= 0) {
            m.positiveBegin = pLo;
            m.positiveSize = {pHi[0] - pLo[0] + 1, pHi[1] - pLo[1] + 1, pHi[2] - pLo[2] + 1};
        }
        return d;
    }

    void goToStep(int segment, ClickMethod method, int step) {
        try {
            if (method == ClickMethod::GrowFromSeeds) {
                if (volume_) seedSession(segment).goToStep(step);
            } else if (engine_) {
                session(segment).goToStep(step);
            }
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
    std::map<int, model::SeedGrowingSession> seedSessions_;
    std::unique_ptr<model::SlicePropagator> propagator_;

    std::thread thread_;  // last: started once everything above exists
};

SegmentationService::SegmentationService(QObject* parent) : QObject(parent) {
    qRegisterMetaType<AiClickResult>();
    qRegisterMetaType<PropagationDone>();
    worker_ = std::make_unique<Worker>(this);
}

SegmentationService::~SegmentationService() = default;  // the worker cancels, stops and joins

void SegmentationService::deliverEvents() {
    for (auto& event : worker_->takeEvents())
        std::visit(
            Overloaded{
                [this](EngineReady& e) { Q_EMIT engineReady(e.device, e.memory, e.notice); },
                [this](EngineFailed& e) { Q_EMIT engineFailed(e.message); },
                [this](AiClickResult& e) { Q_EMIT clickDone(e); },
                [this](ClickFailed& e) { Q_EMIT clickFailed(e.id, e.segment, e.message, e.cancelled); },
                [this](BusyChanged& e) { Q_EMIT busyChanged(e.busy); },
                [this](PropagatorReady& e) { Q_EMIT propagatorReady(e.device, e.shortTerm, e.notice); },
                [this](PropagatorFailed& e) { Q_EMIT propagatorFailed(e.message); },
                [this](PropagationProgress& e) { Q_EMIT propagationProgress(e.id, e.done, e.total); },
                [this](PropagationDone& e) { Q_EMIT propagationDone(e); },
                [this](PropagationFailed& e) {
                    Q_EMIT propagationFailed(e.id, e.segment, e.message, e.cancelled);
                }},
            event);
}

void SegmentationService::loadEngine(const model::EngineOptions& options) {
    worker_->request(LoadEngine{options});
}

void SegmentationService::setVolume(std::shared_ptr<const Volume> volume) {
    worker_->request(SetVolume{std::move(volume)});
}

quint64 SegmentationService::click(int segment, const Vec3& world, bool positive, ClickMethod method,
                                   std::shared_ptr<const model::RegionMask> competitors) {
    const quint64 id = nextId_++;
    worker_->request(Click{id, segment, world, positive, method, std::move(competitors)});
    return id;
}

void SegmentationService::goToStep(int segment, ClickMethod method, int step) {
    worker_->request(GoToStep{segment, method, step});
}

void SegmentationService::resetSegment(int segment) { worker_->request(ResetSegment{segment}); }

void SegmentationService::cancel() { worker_->cancel(); }

void SegmentationService::loadPropagator(const std::string& modelPath, const std::string& device) {
    worker_->request(LoadPropagator{modelPath, device});
}

quint64 SegmentationService::propagate(PropagationRequest request) {
    const quint64 id = nextId_++;
    worker_->request(Propagate{id, std::move(request)});
    return id;
}

}  // namespace engram
