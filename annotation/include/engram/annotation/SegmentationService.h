#pragma once
// The AI worker: one long-lived thread that owns the segmentation engine (the model and its device) and, per
// segment and click method, one session: the model's (SegmentationSession, memory included) or grow from
// seeds' (SeedGrowingSession, which needs no model). Each keeps its own steps, so undo moves the one the
// click went to. The GUI thread talks to it only through SegmentationService, whose methods return at
// once: each request is put in a queue guarded by a mutex and the worker thread takes them in the order they
// were made, so a click made while the crop is being encoded is queued, not lost. Results go back the same
// way (a second queue) and are emitted as signals on the service's thread, after a notification that
// carries no data. Every piece of data therefore crosses threads under a std::mutex, which
// ThreadSanitizer sees (Qt's own queued-call locks it cannot). Every click carries an id; its result comes
// back with it. cancel() is thread-safe and stops an encoding in progress. The service's destructor
// cancels, stops the thread and joins it.

#include <engram/annotation/Volume.h>
#include <engram/model/classical/GrowFromSeeds.h>
#include <engram/model/inference/Propagation.h>
#include <engram/model/inference/SegmentationEngine.h>

#include <QObject>
#include <QString>

#include <memory>

namespace engram {

// What a click segments with: the loaded model, or the classical seed competition
// (model/classical/GrowFromSeeds.h).
enum class ClickMethod { Model, GrowFromSeeds };

struct AiClickResult {
    quint64 id = 0;
    int segment = 0;
    ClickMethod method = ClickMethod::Model;
    int stepBefore = 0, stepAfter = 0;  // the segment session's steps around this click
    model::RegionMask mask;             // on the volume's grid
    float confidence = 0;
    bool encoded = false;
    double milliseconds = 0;
    QString notice;  // e.g. fell back to the CPU
};

struct PropagationRequest {
    int segment = 0;
    int axis = 2;                             // 0: sagittal (i), 1: coronal (j), 2: axial (k)
    std::vector<model::SlicePrompt> prompts;  // the user's slice masks (model::SlicePlane layout)
    bool forward = true, backward = true;
};

struct PropagationDone {
    quint64 id = 0;
    int segment = 0;
    int axis = 2;
    model::RegionMask
        mask;  // the slab of slices propagation visited (prompts included), on the volume's grid
    int slicesSegmented = 0;
    double milliseconds = 0;
    QString notice;
};

// Owns the worker thread. All methods are called from the GUI thread and return at once.
class SegmentationService : public QObject {
    Q_OBJECT
  public:
    explicit SegmentationService(QObject* parent = nullptr);
    ~SegmentationService() override;

    void loadEngine(const model::EngineOptions& options);
    void setVolume(std::shared_ptr<const Volume> volume);
    // Returns the request id. `competitors` (grow from seeds only; may be null) marks other segments' voxels,
    // which are background seeds.
    quint64 click(int segment, const Vec3& world, bool positive, ClickMethod method = ClickMethod::Model,
                  std::shared_ptr<const model::RegionMask> competitors = {});
    void goToStep(int segment, ClickMethod method, int step);
    void resetSegment(int segment);  // every method's session
    void cancel();  // stops an encoding or a propagation in progress (it fails with cancelled = true)

    // Slice propagation (model/inference/Propagation.h) with a SAM 2 model file, on the same worker thread.
    void loadPropagator(const std::string& modelPath, const std::string& device = "cpu");
    quint64 propagate(PropagationRequest request);  // returns the request id

  Q_SIGNALS:
    void engineReady(const QString& device, bool memory, const QString& notice);
    void engineFailed(const QString& message);
    void clickDone(const engram::AiClickResult& result);
    void clickFailed(quint64 id, int segment, const QString& message, bool cancelled);
    void busyChanged(bool busy);
    void propagatorReady(const QString& device, bool shortTermMemory, const QString& notice);
    void propagatorFailed(const QString& message);
    void propagationProgress(quint64 id, int done, int total);
    void propagationDone(const engram::PropagationDone& result);
    void propagationFailed(quint64 id, int segment, const QString& message, bool cancelled);

  private Q_SLOTS:
    void deliverEvents();  // on this object's thread: emits what the worker has queued

  private:
    class Worker;
    std::unique_ptr<Worker> worker_;
    quint64 nextId_ = 1;
};

}  // namespace engram

Q_DECLARE_METATYPE(engram::AiClickResult)
Q_DECLARE_METATYPE(engram::PropagationDone)
