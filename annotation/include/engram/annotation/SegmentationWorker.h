#pragma once
// The AI worker: one long-lived thread that owns the segmentation engine (the model and its device) and one
// session per segment. The GUI thread talks to it only through SegmentationService's queued calls and
// signals, and never waits on it. Requests are processed in the order they were made, so a click made while
// the crop is being encoded is queued, not lost. Every request carries an id; results come back with it.
// cancel() is thread-safe and stops an encoding in progress. The service's destructor cancels, stops the
// thread and joins it.

#include <engram/annotation/Volume.h>
#include <engram/model/SegmentationEngine.h>

#include <QObject>
#include <QString>
#include <QThread>

#include <map>
#include <memory>

namespace engram {

// The volume's grid as the model layer describes it.
model::Grid toModelGrid(const ImageGeometry& geometry);

struct AiClickRequest {
    quint64 id = 0;
    int segment = 0;  // label value
    Vec3 world{0, 0, 0};
    bool positive = true;
};

struct AiClickResult {
    quint64 id = 0;
    int segment = 0;
    int stepBefore = 0, stepAfter = 0;  // the segment session's steps around this click
    model::RegionMask mask;             // on the volume's grid
    float confidence = 0;
    bool encoded = false;
    double milliseconds = 0;
    QString notice;  // e.g. fell back to the CPU
};

// Lives on the worker thread; use it through SegmentationService.
class SegmentationWorker : public QObject {
    Q_OBJECT
  public:
    // `cancelFlag` is shared with the service, which sets it from the GUI thread.
    explicit SegmentationWorker(std::shared_ptr<std::atomic<bool>> cancelFlag)
        : cancelFlag_(std::move(cancelFlag)) {}

  public Q_SLOTS:
    void loadEngine(const engram::model::EngineOptions& options);
    void setVolume(std::shared_ptr<const engram::Volume> volume);
    void click(const engram::AiClickRequest& request);
    void goToStep(int segment, int step);
    void resetSegment(int segment);

  Q_SIGNALS:
    void engineReady(const QString& device, bool memory, const QString& notice);
    void engineFailed(const QString& message);
    void clickDone(const engram::AiClickResult& result);
    void clickFailed(quint64 id, int segment, const QString& message, bool cancelled);
    void busyChanged(bool busy);

  private:
    model::SegmentationSession& session(int segment);

    std::shared_ptr<std::atomic<bool>> cancelFlag_;
    std::unique_ptr<model::SegmentationEngine> engine_;
    std::shared_ptr<const Volume> volume_;
    std::map<int, model::SegmentationSession> sessions_;
};

// Owns the worker thread. All methods are called from the GUI thread and return at once.
class SegmentationService : public QObject {
    Q_OBJECT
  public:
    explicit SegmentationService(QObject* parent = nullptr);
    ~SegmentationService() override;

    void loadEngine(const model::EngineOptions& options);
    void setVolume(std::shared_ptr<const Volume> volume);
    // Returns the request id.
    quint64 click(int segment, const Vec3& world, bool positive);
    void goToStep(int segment, int step);
    void resetSegment(int segment);
    void cancel();  // stops an encoding in progress (its click fails with cancelled = true)

  Q_SIGNALS:
    void engineReady(const QString& device, bool memory, const QString& notice);
    void engineFailed(const QString& message);
    void clickDone(const engram::AiClickResult& result);
    void clickFailed(quint64 id, int segment, const QString& message, bool cancelled);
    void busyChanged(bool busy);

  private:
    std::shared_ptr<std::atomic<bool>> cancelFlag_;
    QThread thread_;
    SegmentationWorker* worker_;
    quint64 nextId_ = 1;
};

}  // namespace engram

Q_DECLARE_METATYPE(engram::AiClickRequest)
Q_DECLARE_METATYPE(engram::AiClickResult)
Q_DECLARE_METATYPE(engram::model::EngineOptions)
Q_DECLARE_METATYPE(std::shared_ptr<const engram::Volume>)
