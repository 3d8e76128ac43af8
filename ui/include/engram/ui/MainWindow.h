#pragma once
// Engram's main window over a Workspace (the document and its services: loading, sessions, autosave and
// recovery, exports, PACS, fine-tuning, the models): the tri-planar slice views and the 3D view, the tools
// (navigate, AI click, brush, eraser, threshold fill), slice propagation, segment tools, the segment list
// and the interaction history, menus, recent files, drag and drop, and the questions the workspace leaves
// to the user (which series, restore or not, unsaved changes). Long work runs off the GUI thread; errors
// are shown in dialogs naming the file and the reason (in the status bar and log when `interactive` is
// false, as in scripted runs).

#include <engram/ui/EditTools.h>
#include <engram/ui/Workspace.h>
#include <engram/viewers/SliceView.h>
#include <engram/viewers/SurfaceView.h>
#include <engram/viewers/ViewerState.h>

#include <QMainWindow>
#include <QPointer>

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

enum class Layout { Grid, RowPlus3D, Single };

struct MainWindowOptions {
    bool interactive = true;  // false: no dialogs (scripted runs); questions take their safe default
    WorkspaceOptions
        workspace;  // the models, device and recovery folder (rememberModels follows interactive)
};

class MainWindow : public QMainWindow {
    Q_OBJECT
  public:
    explicit MainWindow(MainWindowOptions options = {}, QWidget* parent = nullptr);
    ~MainWindow() override;

    // The document and its services: open, openSession, saveSession, exportLabels, autosave, PACS and
    // fine-tuning are the workspace's (their errors also reach lastError() here).
    Workspace& workspace() { return workspace_; }
    // Offers (or, when `restore` is set, does without asking) to restore recovery files left by a crash.
    // Returns true when a restore has started (the recovered session is loading).
    bool checkRecovery(std::optional<bool> restore);

    const Volume* volume() const { return workspace_.volume(); }
    AnnotationController& controller() { return workspace_.controller(); }
    viewers::ViewerState& viewerState() { return state_; }
    SegmentPanel& segmentPanel() { return *segments_; }
    HistoryPanel& historyPanel() { return *history_; }
    viewers::SliceView& sliceView(viewers::ViewKind kind);
    viewers::SurfaceView& surfaceView() { return *surface_; }

    // The tool, its options and the active segment are the workspace's editor state.
    void setLayoutMode(Layout layout, int singleView = 0);
    // Workspace::propagate from the cursor's slice (progress and Cancel in the status bar).
    bool propagate(int axis, bool up, bool down);
    bool propagatorReady() const { return workspace_.propagatorReady(); }
    // Workspace::runSegmentTool, in the cursor's slice when `inSlice`.
    bool runSegmentTool(SegmentTool tool, double value, bool inSlice, int axis);
    // Workspace::openSegmentation; without `choices`, an interactive window asks about overlaps and
    // another grid (a scripted one takes the defaults).
    bool openSegmentation(const QString& path, std::optional<SegmentationChoices> choices = {});
    // What dropping a file on the window does: with a volume open, a DICOM-SEG opens as its segmentation and
    // a volume file as a segmentation or as a new volume (asked; a scripted window takes segmentation);
    // otherwise the file, folder or session opens as a volume. Returns false when a segmentation was not
    // loaded or the user cancelled (the reason in lastError()).
    bool openDropped(const QString& path);
    // Workspace::combineWithLabelFile with the active segment.
    bool combineWithLabelFile(const QString& path, int fileLabel, LogicalOperation operation);
    // Busy with loading, AI work, an export, fine-tuning or surfaces: scripted runs wait for this to turn
    // false.
    bool isIdle() const;
    bool engineReady() const { return workspace_.engineReady(); }
    const QString& lastError() const { return lastError_; }

  protected:
    void closeEvent(QCloseEvent* e) override;
    void dragEnterEvent(QDragEnterEvent* e) override;
    void dropEvent(QDropEvent* e) override;

  private:
    void buildMenus();
    void buildToolBars();
    void buildDocks();
    void connectWorkspace();
    void showVolume(const std::shared_ptr<Volume>& volume);
    std::optional<std::size_t> askSeries(const std::vector<DicomSeriesInfo>& images);
    void onToolEvent(const viewers::ToolEvent& e);
    void showTool(Tool tool);
    void updateMarkers();
    void onPreviewChanged();
    void reportError(const QString& title, const QString& message);
    void setBusy(bool busy, const QString& what = {}, bool cancellable = true);
    void addRecent(const QString& path);
    void rebuildRecentMenu();
    void updateTitle();
    bool confirmDiscard();
    void openSettings();
    void openFineTune();
    void finishFineTune(bool ok, const QString& message, const QString& model);
    void chooseNodeAndSend();

    MainWindowOptions options_;
    Workspace workspace_;
    AnnotationController& controller_{workspace_.controller()};
    EditorState& editor_{workspace_.editor()};
    std::unique_ptr<EditTool> activeTool_;  // none for Navigate
    viewers::ViewerState state_;

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

    Layout layout_ = Layout::Grid;
    QComboBox* propagateAxis_ = nullptr;
    QComboBox* clickMethod_ = nullptr;
    QPointer<class StatisticsDialog> statistics_;
    QString lastError_;
};

}  // namespace engram::ui
