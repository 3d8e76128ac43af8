#pragma once
// Engram's main window: the tri-planar slice views and the 3D view of one document, the tools (navigate,
// AI click, brush, eraser, threshold fill), slice propagation, the segment list and the interaction history,
// file handling (volumes, DICOM folders with a series picker, sessions, NIfTI and DICOM-SEG export, recent
// files, drag and drop), autosave with crash recovery, and settings. Long work (loading, AI inference, 3D
// surfaces) runs off the GUI thread; errors are shown in dialogs naming the file and the reason (in the
// status bar and log when `interactive` is false, as in scripted runs).

#include <engram/annotation/AnnotationController.h>
#include <engram/annotation/AsyncVolumeLoader.h>
#include <engram/annotation/FineTuner.h>
#include <engram/annotation/Pacs.h>
#include <engram/annotation/Recovery.h>
#include <engram/annotation/SegmentationWorker.h>
#include <engram/annotation/Session.h>
#include <engram/viewers/SliceView.h>
#include <engram/viewers/SurfaceView.h>
#include <engram/viewers/ViewerState.h>

#include <QFutureWatcher>
#include <QMainWindow>
#include <QPointer>
#include <QTimer>

#include <memory>
#include <optional>

class QActionGroup;
class QCheckBox;
class QComboBox;
class QDoubleSpinBox;
class QGridLayout;
class QLabel;
class QMenu;
class QProgressBar;
class QPushButton;

namespace engram::ui {

class HistoryPanel;
class SegmentPanel;

enum class Tool { Navigate, AiClick, Brush, Eraser, Fill };
// The Segment menu's tools (annotation/SegmentOps.h, SliceInterpolation.h).
enum class SegmentTool {
    KeepLargestIsland,
    RemoveSmallIslands,
    FillHoles,
    Median,
    Opening,
    Closing,
    Grow,
    Shrink,
    FillBetweenSlices
};
enum class Layout { Grid, RowPlus3D, Single };

// What Open Segmentation does with a file that needs a decision (when not given, an interactive window asks
// and a scripted one takes the defaults here).
struct SegmentationChoices {
    bool resample =
        false;  // labels on a genuinely different grid: resample by nearest neighbour (else refuse)
    enum class Overlaps {
        First,     // a voxel in several segments keeps the first (as voxels already labelled do)
        Separate,  // each overlap becomes a segment of its own ("A + B")
        Refuse,
    } overlaps = Overlaps::First;
};

struct MainWindowOptions {
    bool interactive = true;       // false: no dialogs (scripted runs); questions take their safe default
    QString modelPath;             // empty: from the settings, else the bundled default model
    QString propagationModelPath;  // SAM 2 model for slice propagation; empty: from the settings
    QString device;                // empty: from the settings ("cpu" by default)
    std::filesystem::path recoveryDirectory;  // empty: RecoveryStore::defaultDirectory()
};

class MainWindow : public QMainWindow {
    Q_OBJECT
  public:
    explicit MainWindow(MainWindowOptions options = {}, QWidget* parent = nullptr);
    ~MainWindow() override;

    // Starts loading a volume file or a DICOM folder (a folder with several series asks which one, or takes
    // `seriesKey`) in the background.
    void open(const QString& path, const QString& seriesKey = {});
    // Opens a session file: its volume, then its labels, segments and history.
    void openSession(const QString& path);
    // Writes the document as a session (atomic). Returns false with the reason in lastError().
    bool saveSession(const QString& path);
    // Starts writing the labels in the background (NIfTI/NRRD/MHA by suffix, DICOM-SEG for .dcm) from a copy
    // of the document taken now, so editing goes on meanwhile; exportFinished tells the outcome. Returns
    // false, with the reason in lastError(), when it cannot start (no volume, an export still running).
    bool exportLabels(const QString& path);
    // From exportLabels until exportFinished (the future itself ends before its result is handled here).
    bool exportRunning() const { return exportBusy_; }
    // Writes the recovery file now (what autosave does). Returns false when there was nothing to write.
    bool autosave();
    // Offers (or, when `restore` is set, does without asking) to restore recovery files left by a crash.
    // Returns true when a restore has started (the recovered session is loading).
    bool checkRecovery(std::optional<bool> restore);

    const Volume* volume() const { return controller_.volume(); }
    AnnotationController& controller() { return controller_; }
    viewers::ViewerState& viewerState() { return state_; }
    SegmentPanel& segmentPanel() { return *segments_; }
    HistoryPanel& historyPanel() { return *history_; }
    viewers::SliceView& sliceView(viewers::ViewKind kind);
    viewers::SurfaceView& surfaceView() { return *surface_; }
    RecoveryStore& recovery() { return *recovery_; }

    void setTool(Tool tool);
    Tool tool() const { return tool_; }
    // What the AI click tool segments with: the model, or grow from seeds. With no model loaded, clicks grow
    // from seeds whatever the choice.
    void setClickMethod(ClickMethod method);
    ClickMethod clickMethod() const;
    void setLayoutMode(Layout layout, int singleView = 0);
    double brushRadius() const;
    void setBrushRadius(double mm);
    void setFillRange(double low, double high);
    void setFill3D(bool on);  // fill through the volume instead of within the slice
    // Propagates the active segment's mask on the cursor's slice along `axis` (0 sagittal, 1 coronal,
    // 2 axial) up, down or both, with progress and cancel in the status bar; one undoable step.
    bool propagate(int axis, bool up, bool down);
    bool propagatorReady() const { return propagatorReady_; }
    // Runs a segment tool on the active segment as one undoable interaction: `value` is its parameter (mm;
    // mL for small islands; unused by the others); `inSlice` limits it to the cursor's slice normal to
    // `axis` (0 sagittal, 1 coronal, 2 axial), along which fill between slices always runs (as a preview).
    // Returns false, with the reason in lastError(), on bad input or when nothing changes.
    bool runSegmentTool(SegmentTool tool, double value, bool inSlice, int axis);
    // Opens a segmentation made elsewhere onto the open volume: a DICOM-SEG (its segments' names, colours and
    // codes; one whose referenced series is not the open one is refused) or a label file (each label value a
    // segment, named and coloured from an ITK-SNAP or Slicer label table beside it) on the volume's grid in
    // any axis order, or on another grid resampled by nearest neighbour when `choices` (or the user) says so.
    // Each loaded segment is a new segment and one undoable interaction; voxels already labelled keep their
    // segment; segments of the file that overlap are handled as `choices` says. Returns false, with the
    // reason in lastError(), when nothing was loaded.
    bool openSegmentation(const QString& path, std::optional<SegmentationChoices> choices = {});
    // What dropping a file on the window does: with a volume open, a DICOM-SEG opens as its segmentation and
    // a volume file as a segmentation or as a new volume (asked; a scripted window takes segmentation);
    // otherwise the file, folder or session opens as a volume. Returns false when a segmentation was not
    // loaded or the user cancelled (the reason in lastError()).
    bool openDropped(const QString& path);
    // Combines the active segment with label value `fileLabel` of a label file on the volume's grid (an
    // auto-segmentation, a colleague's mask): union, intersect or subtract, one undoable interaction.
    // Returns false, with the reason in lastError(), for an unreadable file, another grid, or no change.
    bool combineWithLabelFile(const QString& path, int fileLabel, LogicalOperation operation);
    // By the names scripts use: keep-largest-island, remove-small-islands, fill-holes, median, opening,
    // closing, grow, shrink, fill-between-slices.
    static std::optional<SegmentTool> segmentToolNamed(const QString& name);
    // Fine-tunes the model in use in the background (its own progress bar and Stop button in the status
    // bar) on the open document (when `document`; its AI preview accepted first) and saved `sessions`.
    // `options` gives the schedule; the window sets the model to start from (the one in use), the device and
    // keepBest, and an output file in the app's data folder when none is given. When the model is written,
    // the app switches to it (after asking, when interactive). Returns false, with the reason in
    // lastError(), when it cannot start.
    bool fineTune(bool document, std::vector<std::filesystem::path> sessions, model::TrainOptions options);
    bool fineTuneRunning() const { return fineTuner_.running(); }
    // Retrieves one series from a PACS (C-GET) into the app's cache folder in the background, with progress
    // and Cancel in the status bar, then opens it as a DICOM folder; pacsFinished tells the outcome (a
    // series that did not arrive whole is not kept, so it is never opened). Returns false, with the reason
    // in lastError(), when it cannot start.
    bool retrieveFromPacs(const DicomNode& node, const QString& studyUid, const QString& seriesUid);
    // Writes the labels as a DICOM-SEG of the open DICOM series and sends it to the node (C-STORE) in the
    // background; pacsFinished tells the outcome. Returns false, with the reason in lastError(), when it
    // cannot start (no DICOM volume, no segment, a transfer already running).
    bool sendToPacs(const DicomNode& node);
    bool pacsRunning() const { return pacsBusy_; }
    // Busy with loading, AI work, an export, fine-tuning or surfaces: scripted runs wait for this to turn
    // false.
    bool isIdle() const;
    bool engineReady() const { return engineReady_; }
    const QString& lastError() const { return lastError_; }

  Q_SIGNALS:
    void volumeChanged();
    void loadFailed(const QString& message);
    void sessionRestored();
    // An export started by exportLabels has ended: written, or not (then `message` is the reason).
    void exportFinished(bool ok, const QString& message);
    // A fine-tuning run started by fineTune has ended (ok: the model is written and being loaded).
    void fineTuneFinished(bool ok, const QString& message);
    // A PACS retrieval or send started by retrieveFromPacs / sendToPacs has ended.
    void pacsFinished(bool ok, const QString& message);

  protected:
    void closeEvent(QCloseEvent* e) override;
    void dragEnterEvent(QDragEnterEvent* e) override;
    void dropEvent(QDropEvent* e) override;

  private:
    void buildMenus();
    void buildToolBars();
    void buildDocks();
    void loadEngine();
    void loadPropagator();
    void showVolume(std::shared_ptr<Volume> volume);
    void onToolEvent(const viewers::ToolEvent& e);
    void updateMarkers();
    void onPreviewChanged();
    void reportError(const QString& title, const QString& message);
    void finishExport();  // on the GUI thread when the background export ends
    void setBusy(bool busy, const QString& what = {});
    void addRecent(const QString& path);
    void rebuildRecentMenu();
    void updateTitle();
    // The document packed for writing (no copy of the label map): about 17 ms for a 512x512x300 CT, and
    // 14 ms more to write it (docs/PERFORMANCE.md), so saving and autosave stay on the GUI thread.
    PackedSession currentSession() const;
    bool confirmDiscard();
    void openSettings();
    void openFineTune();
    void finishFineTune(bool ok, const QString& message, const QString& model);
    QString aiDevice() const;  // from the command line, else the settings

    MainWindowOptions options_;
    SegmentationService service_;
    AnnotationController controller_{service_};
    viewers::ViewerState state_;
    AsyncVolumeLoader loader_;
    std::unique_ptr<RecoveryStore> recovery_;

    std::array<viewers::SliceView*, 3> slices_{};
    viewers::SurfaceView* surface_ = nullptr;
    QWidget* viewArea_ = nullptr;
    QGridLayout* grid_ = nullptr;
    SegmentPanel* segments_ = nullptr;
    HistoryPanel* history_ = nullptr;
    QActionGroup* tools_ = nullptr;
    QDoubleSpinBox* brushRadius_ = nullptr;
    QDoubleSpinBox* fillLow_ = nullptr;
    QDoubleSpinBox* fillHigh_ = nullptr;
    QCheckBox* fill3D_ = nullptr;
    QComboBox* windowPresets_ = nullptr;
    QMenu* recentMenu_ = nullptr;
    QLabel* cursorInfo_ = nullptr;
    QLabel* aiStatus_ = nullptr;
    QLabel* previewInfo_ = nullptr;  // shown while an AI preview is open
    QProgressBar* progress_ = nullptr;
    QPushButton* cancel_ = nullptr;
    QProgressBar* fineTuneProgress_ = nullptr;  // fine-tuning has its own bar and stop button: it runs
    QPushButton* fineTuneStop_ = nullptr;       // for minutes while the user goes on working
    QAction* acceptPreview_ = nullptr;
    QAction* discardPreview_ = nullptr;

    Tool tool_ = Tool::Navigate;
    Layout layout_ = Layout::Grid;
    bool loading_ = false;
    bool aiBusy_ = false;
    bool engineLoading_ = false;
    bool engineReady_ = false;
    bool propagatorReady_ = false, propagatorLoading_ = false;
    QComboBox* propagateAxis_ = nullptr;
    QComboBox* clickMethod_ = nullptr;
    QPointer<class StatisticsDialog> statistics_;
    QString volumePath_, seriesKey_, sessionPath_;
    std::optional<SessionDocument> pendingSession_;
    std::filesystem::path pendingRecoveryOrphan_;
    QString lastError_;
    QTimer autosaveTimer_;
    struct ExportOutcome {
        QString error;                  // empty when written
        int segments = -1, frames = 0;  // DICOM-SEG only
    };
    QFutureWatcher<ExportOutcome> exportWatcher_;
    bool exportBusy_ = false;
    struct PacsOutcome {
        QString folder;  // a retrieved series
        QString message, error;
        bool cancelled = false;
    };
    QFutureWatcher<PacsOutcome> pacsWatcher_;
    ProgressReporter pacsProgress_;
    bool pacsBusy_ = false;
    void startPacs(const QString& what, std::function<PacsOutcome(const ProgressReporter&)> job);
    void finishPacs();
    void chooseNodeAndSend();
    FineTuner fineTuner_;
    QString enginePath_;  // the model file the AI engine was last asked to load
    QString exportPath_;
    int editsSinceAutosave_ = 0;
    bool autosavedSinceEdit_ = true;
};

}  // namespace engram::ui
