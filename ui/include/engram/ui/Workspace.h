#pragma once
// The open document and the services around it, without widgets (Qt Core only, so that the app's flows are
// tested without an X server): the document (AnnotationController) and the AI thread it talks to, loading
// volumes, DICOM folders and sessions in the background, saving sessions, autosave and crash recovery,
// exports, PACS transfers, fine-tuning, and which AI and propagation models are loaded. MainWindow lays
// out views, menus and tools on top of it and answers its questions (which series; the window's cursor and
// window/level for a session); scripted runs use the same flows.
//
// Errors are reported by `failed` (title and plain message, also kept in lastError()), short news by
// `notice`; nothing here shows a dialog. GUI thread only; the background work holds copies of the document.

#include <engram/annotation/AnnotationController.h>
#include <engram/annotation/AsyncVolumeLoader.h>
#include <engram/annotation/BackgroundJob.h>
#include <engram/annotation/FineTuner.h>
#include <engram/annotation/Pacs.h>
#include <engram/annotation/Recovery.h>
#include <engram/annotation/SegmentationService.h>
#include <engram/annotation/Session.h>
#include <engram/ui/EditorState.h>
#include <engram/ui/SegmentTools.h>

#include <QObject>
#include <QString>
#include <QTimer>

#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <vector>

namespace engram::ui {

struct AppSettings;

struct WorkspaceOptions {
    QString modelPath;             // empty: from the settings, else the bundled default model
    QString propagationModelPath;  // slice propagation model; empty: from the settings, else the bundled one
    QString device;                // empty: from the settings ("cpu" by default)
    std::filesystem::path recoveryDirectory;  // empty: RecoveryStore::defaultDirectory()
    bool rememberModels =
        true;  // a fine-tuned model taken into use is written to the settings (not in scripts)
};

// What Open Segmentation does with a file that needs a decision, unless a question below is answered.
struct SegmentationChoices {
    bool resample =
        false;  // labels on a genuinely different grid: resample by nearest neighbour (else refuse)
    enum class Overlaps {
        First,     // a voxel in several segments keeps the first (as voxels already labelled do)
        Separate,  // each overlap becomes a segment of its own ("A + B")
        Refuse,
    } overlaps = Overlaps::First;
};

// The questions Open Segmentation may ask the user (unset: the choices decide). An answer of none, or
// false, cancels the opening.
struct SegmentationQuestions {
    std::function<std::optional<SegmentationChoices::Overlaps>(std::int64_t overlappingVoxels)> overlaps;
    std::function<bool(const std::string& grids)> resample;  // the labels lie on another grid
};

// What a session keeps of the views: the cursor and window/level (window, level).
struct ViewSnapshot {
    std::optional<Index3> cursor;
    std::optional<std::array<double, 2>> windowLevel;
};

class Workspace : public QObject {
    Q_OBJECT
  public:
    explicit Workspace(WorkspaceOptions options = {}, QObject* parent = nullptr);
    ~Workspace() override;

    AnnotationController& controller() { return controller_; }
    const AnnotationController& controller() const { return controller_; }
    SegmentationService& service() { return service_; }
    // The active segment, tool and tool options the panels show and the tools use.
    EditorState& editor() { return editor_; }
    const Volume* volume() const { return controller_.volume(); }
    RecoveryStore* recovery() { return recovery_.get(); }
    const QString& volumePath() const { return volumePath_; }
    const QString& sessionPath() const { return sessionPath_; }  // empty unless opened or saved as one

    // Picks the series to open among a folder's image series (an index), or none to cancel. Unset (or for a
    // folder opened with a series key): the series with that key, else the first, with a warning.
    using SeriesChooser = std::function<std::optional<std::size_t>(const std::vector<DicomSeriesInfo>&)>;
    void setSeriesChooser(SeriesChooser chooser) { chooseSeries_ = std::move(chooser); }
    // What sessions and autosave keep of the views; unset: nothing.
    void setViewProvider(std::function<ViewSnapshot()> provider) { viewOf_ = std::move(provider); }

    // Starts loading a volume file or a DICOM folder (the series with `seriesKey`, or one the chooser picks)
    // in the background: volumeOpened, then volumeChanged, or loadFailed / loadCancelled.
    void open(const QString& path, const QString& seriesKey = {});
    // Opens a session file: its volume, then its labels, segments and history (sessionRestored).
    void openSession(const QString& path);
    // Writes the document as a session (atomic), its preview accepted first. False: the reason in
    // lastError().
    bool saveSession(const QString& path);
    // Writes the recovery file now (what autosave does). False when there was nothing to write.
    bool autosave();
    // Recovery files left by a process that did not close normally, newest first.
    std::vector<std::filesystem::path> recoveryOrphans() const;
    // Opens a recovery file as a session; once restored, the work lives in this process's recovery file.
    void restoreRecovery(const std::filesystem::path& orphan);
    void discardRecoveries();

    // Runs a segment tool on the active segment as one undoable interaction: `value` is its parameter (mm;
    // mL for small islands; unused by the others); `slice` limits it to that slice normal to `axis`
    // (0 sagittal, 1 coronal, 2 axial), along which fill between slices always runs (as a preview).
    // False, with the reason in lastError(), on bad input or when nothing changes.
    bool runSegmentTool(SegmentTool tool, double value, int axis, std::optional<std::int64_t> slice = {});
    // Propagates the active segment's mask on `slice` normal to `axis` (0 sagittal, 1 coronal, 2 axial)
    // up, down or both with the propagation model, as one undoable step. False, with the reason in
    // lastError(), when no model is loaded, no segment is active or it cannot start.
    bool propagate(int axis, std::int64_t slice, bool up, bool down);

    // Opens a segmentation made elsewhere onto the open volume: a DICOM-SEG (its segments' names, colours and
    // codes; one whose referenced series is not the open one is refused) or a label file (each label value a
    // segment, named and coloured from an ITK-SNAP or Slicer label table beside it) on the volume's grid in
    // any axis order, or on another grid resampled by nearest neighbour when the choices (or the user) say
    // so. Each loaded segment is a new segment and one undoable interaction; voxels already labelled keep
    // their segment; overlapping segments of the file are handled as the choices say. False, with the
    // reason in lastError() ("cancelled" when the user declined), when nothing was loaded.
    bool openSegmentation(const QString& path, const SegmentationChoices& choices,
                          const SegmentationQuestions& ask = {});
    // Combines `segment` with label value `fileLabel` of a label file on the volume's grid (an
    // auto-segmentation, a colleague's mask): union, intersect or subtract, one undoable interaction.
    // False, with the reason in lastError(), for an unreadable file, another grid, or no change.
    bool combineWithLabelFile(const QString& path, std::uint8_t segment, int fileLabel,
                              LogicalOperation operation);

    // Starts writing the labels in the background (NIfTI/NRRD/MHA by suffix, with label tables beside them,
    // or DICOM-SEG for .dcm) from a copy of the document taken now; exportFinished tells the outcome. False,
    // with the reason in lastError(), when it cannot start (no volume, an export still running).
    bool exportLabels(const QString& path);
    bool exportRunning() const { return exportJob_.isBusy(); }

    // Retrieves one series (C-GET) into the app's cache folder in the background; pacsFinished gives the
    // folder to open (a series that did not arrive whole is not kept). False when it cannot start.
    bool retrieveFromPacs(const DicomNode& node, const QString& studyUid, const QString& seriesUid);
    // Writes the labels as a DICOM-SEG of the open DICOM series and stores it on the node (C-STORE) in the
    // background. False, with the reason in lastError(), when it cannot start.
    bool sendToPacs(const DicomNode& node);
    bool pacsRunning() const { return pacsJob_.isBusy(); }

    // Fine-tunes the model in use in the background on the open document (when `document`; its preview
    // accepted first) and saved `sessions`; see MainWindow::fineTune. fineTuneFinished gives the model file;
    // useModel takes it into use.
    bool fineTune(bool document, std::vector<std::filesystem::path> sessions, model::TrainOptions options);
    bool fineTuneRunning() const { return fineTuner_.running(); }
    void stopFineTune() { fineTuner_.stop(); }
    // Loads `path` as the AI model (remembered in the settings when the options say so).
    void useModel(const QString& path);

    // (Re)loads the AI model and the propagation model named by the options, the settings or the defaults.
    void loadEngine();
    void loadPropagator();
    // After File > Settings: restarts autosave's timer and reloads the models that changed.
    void applySettings(const AppSettings& before, const AppSettings& after);
    bool engineReady() const { return engineReady_; }
    bool engineLoading() const { return engineLoading_; }
    bool propagatorReady() const { return propagatorReady_; }

    // Cancels the loading, AI work or PACS transfer under way.
    void cancel();
    // No loading, AI work, export, transfer or fine-tuning under way.
    bool isIdle() const;
    // On closing: a started export is completed, a transfer cancelled, fine-tuning stopped, and the
    // recovery file removed (the user saved or discarded the work).
    void shutDown();
    const QString& lastError() const { return lastError_; }

  Q_SIGNALS:
    // The document holds a new volume (its labels still empty): views attach to it now.
    void volumeOpened(std::shared_ptr<Volume> volume);
    // A session's labels, segments and history are in; `view` is what it kept of the views.
    void sessionRestored(const ViewSnapshot& view);
    void volumeChanged();  // after volumeOpened (and sessionRestored)
    void loadFailed(const QString& message);
    void loadCancelled();
    // A volume file or folder opened by itself (not as a session): for the recent files.
    void opened(const QString& path);
    // Something cancellable (or not) runs, or nothing does any more; `what` for the status bar.
    void busyChanged(bool busy, const QString& what, bool cancellable);
    void progress(int value, int maximum, const QString& stage);
    void failed(const QString& title, const QString& message);
    void notice(const QString& message, int milliseconds);
    void aiStatusChanged(const QString& text, const QString& detail);
    void titleChanged();  // the volume, the session file or the modified state changed
    void exportFinished(bool ok, const QString& message);
    // A PACS retrieval or send ended; `folder` is a retrieved series to open.
    void pacsFinished(bool ok, const QString& message, const QString& folder);
    void fineTuneStarted();
    void fineTuneProgress(int epoch, int epochs, double dice, double etaSeconds);
    void fineTuneFinished(bool ok, const QString& message, const QString& model);

  private:
    struct Exported {
        int segments = -1, frames = 0;  // DICOM-SEG only
    };
    struct PacsDone {
        QString folder;  // a retrieved series
        QString message;
    };
    void fail(const QString& title, const QString& message);
    void chooseSeries(std::vector<DicomSeriesInfo> all);
    // A loading that ends without a volume: the pending session is dropped, busy follows the AI.
    void endLoading();
    void failLoading(const QString& message);
    void showVolume(std::shared_ptr<Volume> volume);
    void finishExport(const JobOutcome<Exported>& outcome);
    void startPacs(const QString& what, std::function<PacsDone(const ProgressReporter&)> job);
    void finishPacs(const JobOutcome<PacsDone>& outcome);
    void setBusy(bool busy, const QString& what = {}, bool cancellable = true);
    QString aiDevice() const;
    PackedSession currentSession() const;

    WorkspaceOptions options_;
    SegmentationService service_;
    AnnotationController controller_{service_};
    EditorState editor_{controller_};
    AsyncVolumeLoader loader_;
    std::unique_ptr<RecoveryStore> recovery_;
    FineTuner fineTuner_;
    SeriesChooser chooseSeries_;
    std::function<ViewSnapshot()> viewOf_;

    bool loading_ = false, aiBusy_ = false;
    bool engineLoading_ = false, engineReady_ = false;
    bool propagatorLoading_ = false, propagatorReady_ = false;
    QString enginePath_;  // the model file the AI engine was last asked to load
    QString volumePath_, seriesKey_, sessionPath_;
    std::optional<SessionDocument> pendingSession_;
    std::filesystem::path pendingRecoveryOrphan_;
    QString lastError_;

    QTimer autosaveTimer_;
    int autosaveEvery_ = 5;  // AppSettings::autosaveEvery, read at start and by applySettings
    int editsSinceAutosave_ = 0;
    bool autosavedSinceEdit_ = true;

    BackgroundJob exportJob_;
    QString exportPath_;
    BackgroundJob pacsJob_;
};

}  // namespace engram::ui
