#include <engram/annotation/DicomSeg.h>
#include <engram/annotation/Errors.h>
#include <engram/annotation/LabelTable.h>
#include <engram/annotation/SegmentOps.h>
#include <engram/annotation/VolumeIO.h>
#include <engram/ui/AppSettings.h>
#include <engram/ui/Workspace.h>

#include <QDateTime>
#include <QDir>
#include <QFileInfo>
#include <QStandardPaths>

#include <spdlog/spdlog.h>

#include <cmath>

namespace engram::ui {

Workspace::Workspace(WorkspaceOptions options, QObject* parent)
    : QObject(parent), options_(std::move(options)) {
    // Loading.
    connect(&loader_, &AsyncVolumeLoader::progress, this, [this](double f, const QString& stage) {
        Q_EMIT progress(static_cast<int>(f * 1000), 1000, stage);
    });
    connect(&loader_, &AsyncVolumeLoader::volumeLoaded, this, &Workspace::showVolume);
    connect(&loader_, &AsyncVolumeLoader::failed, this, &Workspace::failLoading);
    connect(&loader_, &AsyncVolumeLoader::cancelled, this, [this] {
        endLoading();
        Q_EMIT notice(tr("Loading cancelled"), 5000);
        Q_EMIT loadCancelled();
    });
    connect(&loader_, &AsyncVolumeLoader::seriesFound, this, &Workspace::chooseSeries);

    // The document (whose errors the window shows itself; lastError() has them too).
    connect(&controller_, &AnnotationController::historyChanged, this, &Workspace::titleChanged);
    connect(&controller_, &AnnotationController::errorOccurred, this,
            [this](const QString& message) { lastError_ = message; });
    connect(&controller_, &AnnotationController::busyChanged, this, [this](bool busy) {
        aiBusy_ = busy;
        setBusy(busy || loading_, busy ? tr("AI working...") : QString());
    });
    connect(&controller_, &AnnotationController::propagationProgress, this, [this](int done, int total) {
        Q_EMIT progress(done, total, tr("Propagating: slice %1 of %2").arg(done).arg(total));
    });
    connect(&controller_, &AnnotationController::propagationFinished, this, [this](bool applied) {
        Q_EMIT notice(applied ? tr("Propagation done.") : tr("Propagation stopped."), 5000);
    });

    // The AI engine and the propagation model.
    connect(&service_, &SegmentationService::engineReady, this,
            [this](const QString& device, bool memory, const QString& message) {
                engineLoading_ = false;
                engineReady_ = true;
                Q_EMIT aiStatusChanged(tr("AI: %1, memory %2").arg(device, memory ? tr("on") : tr("off")),
                                       {});
                if (!message.isEmpty()) Q_EMIT notice(message, 10000);
            });
    connect(&service_, &SegmentationService::engineFailed, this, [this](const QString& message) {
        engineLoading_ = false;
        engineReady_ = false;
        spdlog::warn("AI engine: {}", message.toStdString());
        Q_EMIT aiStatusChanged(tr("AI: grow from seeds (model failed)"), message);
        Q_EMIT notice(tr("The AI model could not be loaded: %1").arg(message), 15000);
    });
    connect(&service_, &SegmentationService::propagatorReady, this,
            [this](const QString& device, bool shortTerm, const QString&) {
                propagatorReady_ = true;
                propagatorLoading_ = false;
                spdlog::info("propagation model ready on {} (short-term memory {})", device.toStdString(),
                             shortTerm ? "on" : "off");
            });
    connect(&service_, &SegmentationService::propagatorFailed, this, [this](const QString& message) {
        propagatorReady_ = false;
        propagatorLoading_ = false;
        spdlog::warn("propagation model: {}", message.toStdString());
        Q_EMIT notice(tr("The propagation model could not be loaded: %1").arg(message), 15000);
    });

    // Autosave: every few minutes and after every N interactions, when something changed.
    try {
        recovery_ = std::make_unique<RecoveryStore>(options_.recoveryDirectory.empty()
                                                        ? RecoveryStore::defaultDirectory()
                                                        : options_.recoveryDirectory);
    } catch (const OutputError& e) {
        spdlog::error("autosave is off: {}", e.what());
    }
    connect(&autosaveTimer_, &QTimer::timeout, this, &Workspace::autosave);
    const AppSettings settings = AppSettings::load();
    autosaveTimer_.start(settings.autosaveMinutes * 60 * 1000);
    autosaveEvery_ = settings.autosaveEvery;
    connect(&controller_, &AnnotationController::edited, this, [this] {
        autosavedSinceEdit_ = false;
        if (++editsSinceAutosave_ >= autosaveEvery_) autosave();
    });

    connect(&pacsJob_, &BackgroundJob::progress, this, [this](double f, const QString& stage) {
        Q_EMIT progress(static_cast<int>(f * 1000), 1000, stage);
    });
    connect(&fineTuner_, &FineTuner::epochFinished, this,
            [this](int epoch, int epochs, double, double dice, double eta) {
                Q_EMIT fineTuneProgress(epoch, epochs, dice, eta);
            });
    connect(&fineTuner_, &FineTuner::finished, this,
            [this](bool ok, const QString& message, const QString& model) {
                if (!ok) fail(tr("AI model"), message);
                Q_EMIT fineTuneFinished(ok, message, model);
            });
}

Workspace::~Workspace() {
    // Nothing hears the controller's last signals while the members go.
    disconnect(&controller_, nullptr, nullptr, nullptr);
}

void Workspace::fail(const QString& title, const QString& message) {
    lastError_ = message;
    spdlog::error("{}: {}", title.toStdString(), message.toStdString());
    Q_EMIT failed(title, message);
}

void Workspace::setBusy(bool busy, const QString& what, bool cancellable) {
    Q_EMIT busyChanged(busy, what, cancellable);
}

bool Workspace::isIdle() const {
    return !loading_ && !engineLoading_ && !propagatorLoading_ && !aiBusy_ &&
           controller_.pendingClicks() == 0 && !controller_.propagationRunning() && !exportJob_.isBusy() &&
           !fineTuner_.running() && !pacsJob_.isBusy();
}

void Workspace::cancel() {
    if (loading_) loader_.cancel();
    if (aiBusy_ || controller_.propagationRunning()) service_.cancel();
    pacsJob_.cancel();
}

// ------------------------------------------------------------------------------------------------ models

QString Workspace::aiDevice() const {
    return options_.device.isEmpty() ? AppSettings::load().device : options_.device;
}

void Workspace::loadEngine() {
    QString model = options_.modelPath;
    if (model.isEmpty()) model = AppSettings::load().model;
    if (model.isEmpty()) model = bundledModel();
    if (model.isEmpty() || !QFileInfo::exists(model)) {
        engineReady_ = false;
        spdlog::warn("no AI model file found ({}); AI clicks grow from seeds", model.toStdString());
        Q_EMIT aiStatusChanged(tr("AI: grow from seeds (no model)"),
                               tr("No model file (%1): AI clicks grow from seeds. Choose a model in File > "
                                  "Settings.")
                                   .arg(model));
        return;
    }
    enginePath_ = model;
    model::EngineOptions o;
    o.weights = model.toStdString();
    o.device = aiDevice().toStdString();
    o.memoryCapacity = AppSettings::load().memoryCapacity;
    engineLoading_ = true;
    engineReady_ = false;
    Q_EMIT aiStatusChanged(tr("AI: loading..."), {});
    service_.loadEngine(o);
}

void Workspace::loadPropagator() {
    QString model = options_.propagationModelPath;
    if (model.isEmpty()) model = AppSettings::load().propagationModel;
    if (model.isEmpty()) model = bundledPropagator();
    propagatorReady_ = false;
    if (model.isEmpty()) return;  // a build without a default propagator, none configured
    if (!QFileInfo::exists(model)) {
        Q_EMIT notice(tr("Propagation model %1 not found; choose one in File > Settings.").arg(model), 15000);
        return;
    }
    propagatorLoading_ = true;
    service_.loadPropagator(model.toStdString(), aiDevice().toStdString());
}

void Workspace::applySettings(const AppSettings& before, const AppSettings& after) {
    autosaveTimer_.start(after.autosaveMinutes * 60 * 1000);
    autosaveEvery_ = after.autosaveEvery;
    const bool engineChanged = after.model != before.model || after.device != before.device ||
                               after.memoryCapacity != before.memoryCapacity;
    if (engineChanged) {
        options_.modelPath.clear();
        options_.device.clear();
        loadEngine();
    }
    if (after.propagationModel != before.propagationModel || engineChanged) {
        options_.propagationModelPath.clear();
        loadPropagator();
    }
}

void Workspace::useModel(const QString& path) {
    if (options_.rememberModels) {
        auto settings = AppSettings::load();
        settings.model = path;
        settings.save();
        options_.modelPath.clear();
    } else {
        options_.modelPath = path;  // scripted runs leave the settings alone
    }
    spdlog::info("AI model in use: {}", path.toStdString());
    loadEngine();
}

bool Workspace::fineTune(bool document, std::vector<std::filesystem::path> sessions,
                         model::TrainOptions options) {
    FineTuner::Request r;
    if (document && volume()) {
        controller_.acceptPreview();  // what trains is what the user accepted
        r.volume = controller_.volumePointer();
        r.labels = controller_.labels();
    }
    r.sessions = std::move(sessions);
    auto& o = r.options = std::move(options);
    if (engineReady_) o.initialWeights = enginePath_.toStdString();
    o.device = aiDevice().toStdString();
    if (o.output.empty()) {
        const QString folder = QStandardPaths::writableLocation(QStandardPaths::AppDataLocation) + "/models";
        QDir().mkpath(folder);
        o.output = QString("%1/fine-tuned-%2.safetensors")
                       .arg(folder, QDateTime::currentDateTime().toString("yyyyMMdd-HHmmss"))
                       .toStdString();
    }
    o.keepBest = true;  // a run that degrades late still leaves its best epoch
    QString why;
    if (!fineTuner_.start(std::move(r), &why)) {
        fail(tr("Cannot fine-tune the AI model"), why);
        return false;
    }
    Q_EMIT fineTuneStarted();
    Q_EMIT notice(tr("Fine-tuning the AI model..."), 10000);
    return true;
}

// ----------------------------------------------------------------------------------------------- opening

void Workspace::open(const QString& path, const QString& seriesKey) {
    if (!QFileInfo::exists(path)) {
        failLoading(tr("%1 does not exist.").arg(path));
        return;
    }
    volumePath_ = QFileInfo(path).absoluteFilePath();
    seriesKey_ = seriesKey;
    loading_ = true;
    setBusy(true, tr("Loading %1").arg(QFileInfo(path).fileName()));
    if (QFileInfo(path).isDir())
        loader_.scanFolder(volumePath_);
    else
        loader_.loadPath(volumePath_);
}

void Workspace::chooseSeries(std::vector<DicomSeriesInfo> all) {
    std::vector<DicomSeriesInfo> images;
    for (auto& s : all)
        if (!s.isSegmentation) images.push_back(std::move(s));
    if (images.empty()) {
        failLoading(tr("The folder %1 holds no DICOM image series.").arg(volumePath_));
        return;
    }
    std::optional<std::size_t> pick = 0;
    for (std::size_t i = 0; i < images.size(); ++i)
        if (QString::fromStdString(images[i].key) == seriesKey_) pick = i;
    if (images.size() > 1 && seriesKey_.isEmpty()) {
        if (chooseSeries_)
            pick = chooseSeries_(images);
        else
            spdlog::warn("{} holds {} series; opening the first", volumePath_.toStdString(), images.size());
    }
    if (!pick || *pick >= images.size()) {  // the scan has ended: nothing else to stop
        endLoading();
        Q_EMIT loadCancelled();
        return;
    }
    seriesKey_ = QString::fromStdString(images[*pick].key);
    loader_.loadDicomSeries(images[*pick]);
}

void Workspace::endLoading() {
    loading_ = false;
    pendingSession_.reset();
    setBusy(aiBusy_);
}

void Workspace::failLoading(const QString& message) {
    endLoading();
    fail(tr("Cannot open"), message);
    Q_EMIT loadFailed(message);
}

void Workspace::openSession(const QString& path) {
    try {
        SessionDocument s = readSession(path.toStdString());
        sessionPath_ = QFileInfo(path).absoluteFilePath();
        const QString volumePath = QString::fromStdString(s.volumePath);
        const QString key = QString::fromStdString(s.seriesKey);
        pendingSession_ = std::move(s);
        open(volumePath, key);
    } catch (const InputError& e) {
        fail(tr("Cannot open session"), QString::fromStdString(e.what()));
        Q_EMIT loadFailed(lastError_);
    }
}

void Workspace::showVolume(std::shared_ptr<Volume> volume) {
    loading_ = false;
    setBusy(aiBusy_);
    controller_.setVolume(volume);
    Q_EMIT volumeOpened(volume);
    editsSinceAutosave_ = 0;
    autosavedSinceEdit_ = true;
    if (pendingSession_) {
        SessionDocument s = std::move(*pendingSession_);
        pendingSession_.reset();
        try {
            controller_.restore(std::move(s.labels), std::move(s.segments), std::move(s.history));
            if (!pendingRecoveryOrphan_.empty()) {
                // The restored work now lives in this process's recovery file.
                RecoveryStore::remove(pendingRecoveryOrphan_);
                pendingRecoveryOrphan_.clear();
                autosavedSinceEdit_ = false;
                autosave();
                sessionPath_.clear();
            }
            Q_EMIT sessionRestored({s.cursor, s.windowLevel});
        } catch (const InputError& e) {
            fail(tr("Cannot restore the session"), QString::fromStdString(e.what()));
        }
    } else {
        sessionPath_.clear();
        Q_EMIT opened(volumePath_);
    }
    Q_EMIT titleChanged();
    for (const auto& w : volume->metadata().warnings) Q_EMIT notice(QString::fromStdString(w), 15000);
    spdlog::info("opened {}: {}", volumePath_.toStdString(), volume->geometry().describe());
    Q_EMIT volumeChanged();
}

// ---------------------------------------------------------------------------------- segment tools

bool Workspace::propagate(int axis, std::int64_t slice, bool up, bool down) {
    if (!propagatorReady_) {
        fail(tr("Propagation"), tr("No propagation model is loaded; choose one in File > Settings."));
        return false;
    }
    const auto segment = editor_.activeSegment();
    if (segment == 0 || axis < 0 || axis > 2) {
        fail(tr("Propagation"), segment == 0 ? tr("Choose the segment to propagate in the segment list.")
                                             : tr("Unknown slice axis."));
        return false;
    }
    static const char* names[] = {"sagittal", "coronal", "axial"};
    return controller_.propagate(segment, axis, slice, up, down, names[axis]);
}

bool Workspace::runSegmentTool(SegmentTool tool, double value, int axis, std::optional<std::int64_t> slice) {
    const auto segment = editor_.activeSegment();
    const auto& def = segmentTool(tool);
    const QString title = def.title();
    if (!volume() || segment == 0 || axis < 0 || axis > 2) {
        fail(title, !volume()      ? tr("Open a volume first.")
                    : segment == 0 ? tr("Choose the segment in the segment list.")
                                   : tr("Unknown slice axis."));
        return false;
    }
    static const char* views[] = {"sagittal", "coronal", "axial"};
    if (tool == SegmentTool::FillBetweenSlices)
        return controller_.fillBetweenSlices(segment, axis, views[axis]);
    const bool inSlice = slice.has_value();
    const SegmentScope scope = inSlice ? SegmentScope::sliceOf(axis, *slice) : SegmentScope::volume();
    QString kind = title;
    if (def.parameter) kind += QString(" %1 %2").arg(value).arg(def.parameter);
    if (inSlice) kind += tr(" (slice)");
    auto op = [=](const LabelMap& labels) -> SegmentEdit {
        switch (tool) {
            case SegmentTool::KeepLargestIsland:
                return keepLargestIsland(labels, segment, scope);
            case SegmentTool::RemoveSmallIslands:
                return removeSmallIslands(labels, segment, value, scope);
            case SegmentTool::FillHoles:
                return fillHoles(labels, segment, scope);
            case SegmentTool::Median:
                return smoothSegment(labels, segment, Smoothing::Median, value, scope);
            case SegmentTool::Opening:
                return smoothSegment(labels, segment, Smoothing::Opening, value, scope);
            case SegmentTool::Closing:
                return smoothSegment(labels, segment, Smoothing::Closing, value, scope);
            case SegmentTool::Grow:
                return growSegment(labels, segment, value, scope);
            case SegmentTool::Shrink:
                return shrinkSegment(labels, segment, value, scope);
            case SegmentTool::FillBetweenSlices:
                break;
        }
        throw std::logic_error("unhandled segment tool");
    };
    return controller_.editSegment(segment, kind, op, false, inSlice ? views[axis] : "");
}

// ------------------------------------------------------------------------- segmentations made elsewhere

bool Workspace::openSegmentation(const QString& path, const SegmentationChoices& choices,
                                 const SegmentationQuestions& ask) {
    const QString title = tr("Open segmentation");
    if (!volume()) {
        fail(title, tr("Open the volume it segments first."));
        return false;
    }
    const ImageGeometry& grid = volume()->geometry();
    // Each segment to load: its entry (name, colour, codes) and a label map holding it as `value`.
    struct Loaded {
        Segment segment;
        std::shared_ptr<const LabelMap> map;
        std::uint8_t value;
    };
    std::vector<Loaded> loaded;
    const std::string file = QFileInfo(path).fileName().toStdString();
    try {
        if (isDicomFile(path.toStdString())) {
            DicomSegImport seg = readDicomSeg(path.toStdString(), grid);
            const auto& dicom = volume()->metadata().dicom;
            if (!dicom || dicom->seriesInstanceUid != seg.referencedSeriesUid)
                throw InputError(file + " segments the series " + seg.referencedSeriesUid +
                                 ", not the open one (" + (dicom ? dicom->seriesInstanceUid : "not DICOM") +
                                 ").");
            if (const auto overlapping = seg.overlappingVoxels(); overlapping > 0) {
                auto rule = choices.overlaps;
                if (ask.overlaps) {
                    const auto answer = ask.overlaps(overlapping);
                    if (!answer) {
                        lastError_ = tr("cancelled");  // the user's choice: no error to report
                        return false;
                    }
                    rule = *answer;
                }
                if (rule == SegmentationChoices::Overlaps::Refuse)
                    throw InputError(file + ": " + std::to_string(overlapping) +
                                     " voxels belong to more than one segment; nothing was loaded.");
                if (rule == SegmentationChoices::Overlaps::Separate) seg.separateOverlaps();
            }
            for (auto& s : seg.segments)
                loaded.push_back({s.segment, std::make_shared<LabelMap>(grid, std::move(s.mask)), 1});
        } else {
            LabelFileImport in;
            try {
                in = readLabelFile(path.toStdString(), grid,
                                   choices.resample ? GridRule::ResampleNearest : GridRule::Exact);
            } catch (const GridMismatch& e) {
                if (!ask.resample) throw;
                if (!ask.resample(e.grids())) {
                    lastError_ = tr("cancelled");  // the user's choice: no error to report
                    return false;
                }
                in = readLabelFile(path.toStdString(), grid, GridRule::ResampleNearest);
            }
            if (!in.summary().empty())
                Q_EMIT notice(QString::fromStdString(file + ": " + in.summary()), 10000);
            // Names and colours from a label table beside the file (keyed by the file's values).
            SegmentList table;
            if (const auto tableFile = findLabelTable(path.toStdString())) try {
                    table = readLabelTable(*tableFile);
                    spdlog::info("{}: names and colours from {}", file, tableFile->string());
                } catch (const InputError& e) {
                    spdlog::warn("{} (label table not used)", e.what());
                }
            std::map<std::uint8_t, std::int64_t> fileValue;
            for (const auto& [original, label] : in.renumbered) fileValue[label] = original;
            auto map = std::make_shared<LabelMap>(in.labels);
            for (const auto value : map->labelsPresent()) {
                const auto original = fileValue.count(value) ? fileValue[value] : value;
                const Segment* named =
                    original <= 255 ? table.find(static_cast<std::uint8_t>(original)) : nullptr;
                Segment s;
                if (named)
                    s = *named;
                else
                    s.name = file + " " + std::to_string(original);
                s.algorithm = SegmentAlgorithm::Manual;
                s.algorithmName.clear();
                loaded.push_back({s, map, value});
            }
        }
    } catch (const InputError& e) {
        fail(title, QString::fromStdString(e.what()));
        return false;
    }
    if (loaded.empty()) {
        fail(title, tr("%1 holds no segment.").arg(path));
        return false;
    }
    std::int64_t overlapping = 0;
    for (const auto& l : loaded) {
        // Voxels that are some segment's already keep it (no edit overwrites a segment).
        const auto& here = controller_.labels().labels();
        std::int64_t wanted = 0, free = 0;
        for (std::size_t o = 0; o < here.size(); ++o)
            if (l.map->labels()[o] == l.value) {
                ++wanted;
                free += here[o] == 0;
            }
        overlapping += wanted - free;
        if (free == 0) continue;
        const std::uint8_t label = controller_.addSegment(l.segment.name);
        Segment entry = l.segment;
        entry.label = label;
        if (entry.color == Rgb{}) entry.color = controller_.segments().find(label)->color;
        controller_.updateSegment(entry);
        controller_.editSegment(label, tr("Open segmentation: %1").arg(QString::fromStdString(entry.name)),
                                [&](const LabelMap& labels) {
                                    return combineSegments(labels, label, LogicalOperation::Union, *l.map,
                                                           l.value);
                                });
    }
    if (overlapping > 0)
        Q_EMIT notice(tr("%1 voxels belong to more than one segment of %2 or to segments already here: "
                         "they kept their first segment.")
                          .arg(overlapping)
                          .arg(path),
                      15000);
    spdlog::info("opened segmentation {}: {} segments, {} overlapping voxels", path.toStdString(),
                 loaded.size(), overlapping);
    return true;
}

bool Workspace::combineWithLabelFile(const QString& path, std::uint8_t segment, int fileLabel,
                                     LogicalOperation operation) {
    const QString title = tr("Combine with a label file");
    if (!volume() || segment == 0) {
        fail(title, !volume() ? tr("Open a volume first.") : tr("Choose the segment in the segment list."));
        return false;
    }
    if (fileLabel < 1 || fileLabel > 255) {
        fail(title, tr("Label values are 1 to 255."));
        return false;
    }
    std::optional<LabelMap> other;
    try {
        other = readLabelFile(path.toStdString(), volume()->geometry()).labels;
    } catch (const InputError& e) {
        fail(title, QString::fromStdString(e.what()));
        return false;
    }
    static const char* names[] = {"Union", "Intersect", "Subtract"};
    const QString kind = tr("%1 with %2 (label %3)")
                             .arg(names[static_cast<int>(operation)], QFileInfo(path).fileName())
                             .arg(fileLabel);
    return controller_.editSegment(segment, kind, [&](const LabelMap& labels) {
        return combineSegments(labels, segment, operation, *other, static_cast<std::uint8_t>(fileLabel));
    });
}

// ------------------------------------------------------------------------------------ sessions, recovery

PackedSession Workspace::currentSession() const {
    SessionInfo s;
    s.volumePath = volumePath_.toStdString();
    s.seriesKey = seriesKey_.toStdString();
    s.segments = controller_.segments();
    for (auto& h : controller_.history())
        if (h.applied) s.history.push_back(h);
    if (viewOf_) {
        const ViewSnapshot view = viewOf_();
        s.cursor = view.cursor;
        s.windowLevel = view.windowLevel;
    }
    return packSession(std::move(s), controller_.labels());
}

bool Workspace::saveSession(const QString& path) {
    if (!volume()) {
        fail(tr("Cannot save the session"), tr("No volume is open."));
        return false;
    }
    controller_.acceptPreview();  // what is saved is what the user sees, accepted
    try {
        writeSession(currentSession(), path.toStdString());
        sessionPath_ = QFileInfo(path).absoluteFilePath();
        controller_.markSaved();
        Q_EMIT titleChanged();
        Q_EMIT notice(tr("Saved %1").arg(path), 5000);
        spdlog::info("saved session {}", path.toStdString());
        return true;
    } catch (const std::exception& e) {  // OutputError, or bad_alloc packing a huge document
        fail(tr("Cannot save the session"), QString::fromStdString(e.what()));
        return false;
    }
}

bool Workspace::autosave() {
    if (!volume() || !recovery_ || autosavedSinceEdit_) return false;
    try {
        writeSession(currentSession(), recovery_->file());
        editsSinceAutosave_ = 0;
        autosavedSinceEdit_ = true;
        spdlog::debug("autosaved to {}", recovery_->file().string());
        return true;
    } catch (const std::exception& e) {  // OutputError, or bad_alloc: the next autosave tries again
        spdlog::error("autosave failed: {}", e.what());
        Q_EMIT notice(tr("Autosave failed: %1").arg(e.what()), 10000);
        return false;
    }
}

std::vector<std::filesystem::path> Workspace::recoveryOrphans() const {
    return recovery_ ? recovery_->orphans() : std::vector<std::filesystem::path>{};
}

void Workspace::restoreRecovery(const std::filesystem::path& orphan) {
    pendingRecoveryOrphan_ = orphan;
    spdlog::info("restoring {}", orphan.string());
    openSession(QString::fromStdString(orphan.string()));
}

void Workspace::discardRecoveries() {
    for (const auto& o : recoveryOrphans()) RecoveryStore::remove(o);
}

void Workspace::shutDown() {
    exportJob_.waitForFinished();  // a started export is completed, not cut off
    pacsJob_.cancel();             // a transfer is cancelled (a retrieval keeps nothing of it)
    pacsJob_.waitForFinished();
    fineTuner_.stop();  // ends before its next sample; the destructor waits for it
    if (recovery_) recovery_->discard();
}

// ------------------------------------------------------------------------------------------------ export

bool Workspace::exportLabels(const QString& path) {
    if (!volume()) {
        fail(tr("Export failed"), tr("No volume is open."));
        return false;
    }
    if (exportJob_.isBusy()) {
        fail(tr("Export failed"),
             tr("The export to %1 is still being written; export again when it has finished.")
                 .arg(exportPath_));
        return false;
    }
    controller_.acceptPreview();
    // The copies are the document at this moment: the user may go on editing while they are written.
    auto job = [source = controller_.volumePointer(), labels = controller_.labels(),
                segments = controller_.segments(), file = path.toStdString(),
                dicomSeg = path.endsWith(".dcm", Qt::CaseInsensitive)](const ProgressReporter&,
                                                                       const BackgroundJob::Post&) {
        Exported out;
        if (dicomSeg) {
            const auto report = writeDicomSeg(*source, labels, segments, file);
            out.segments = report.segments;
            out.frames = report.frames;
        } else {
            writeLabelFile(labels, file);
            writeLabelTables(segments, labels, file);
        }
        return out;
    };
    exportPath_ = path;
    exportJob_.start(std::move(job), [this](const JobOutcome<Exported>& o) { finishExport(o); });
    setBusy(true, tr("Exporting labels to %1...").arg(path), false);  // a write is not cancelled half way
    return true;
}

void Workspace::finishExport(const JobOutcome<Exported>& outcome) {
    if (isIdle()) setBusy(false);
    if (!outcome.result) {
        fail(tr("Export failed"), outcome.error);
        Q_EMIT exportFinished(false, outcome.error);
        return;
    }
    const QString message =
        outcome.result->segments >= 0
            ? tr("Exported %1 segments (%2 frames) to %3")
                  .arg(outcome.result->segments)
                  .arg(outcome.result->frames)
                  .arg(exportPath_)
            : tr("Exported labels to %1, with ITK-SNAP and Slicer label tables beside it").arg(exportPath_);
    Q_EMIT notice(message, 8000);
    spdlog::info("exported labels to {}", exportPath_.toStdString());
    Q_EMIT exportFinished(true, message);
}

// -------------------------------------------------------------------------------------------------- PACS

void Workspace::startPacs(const QString& what, std::function<PacsDone(const ProgressReporter&)> job) {
    pacsJob_.start([job = std::move(job)](const ProgressReporter& progress,
                                          const BackgroundJob::Post&) { return job(progress); },
                   [this](const JobOutcome<PacsDone>& o) { finishPacs(o); });
    setBusy(true, what);
}

bool Workspace::retrieveFromPacs(const DicomNode& node, const QString& studyUid, const QString& seriesUid) {
    if (pacsJob_.isBusy()) {
        fail(tr("Open from PACS"), tr("A PACS transfer is still running."));
        return false;
    }
    const std::filesystem::path cache =
        QStandardPaths::writableLocation(QStandardPaths::CacheLocation).toStdString() + "/pacs";
    startPacs(tr("Retrieving from %1...").arg(QString::fromStdString(node.describe())),
              [node, study = studyUid.toStdString(), series = seriesUid.toStdString(), cache,
               options = PacsSettings::load().options()](const ProgressReporter& progress) {
                  PacsDone o;
                  o.folder = QString::fromStdString(
                      retrieveSeries(node, study, series, cache, options, progress).string());
                  o.message = tr("Retrieved the series into %1").arg(o.folder);
                  return o;
              });
    return true;
}

bool Workspace::sendToPacs(const DicomNode& node) {
    const QString title = tr("Send to PACS");
    if (pacsJob_.isBusy()) {
        fail(title, tr("A PACS transfer is still running."));
        return false;
    }
    if (!volume() || !volume()->metadata().dicom) {
        fail(title, tr("The open volume did not come from DICOM: a DICOM-SEG needs the series it segments."));
        return false;
    }
    controller_.acceptPreview();
    if (controller_.labels().labelsPresent().empty()) {
        fail(title, tr("There is no segment to send."));
        return false;
    }
    const std::filesystem::path outgoing =
        QStandardPaths::writableLocation(QStandardPaths::CacheLocation).toStdString() + "/pacs-outgoing";
    startPacs(tr("Sending the segmentation to %1...").arg(QString::fromStdString(node.describe())),
              [node, outgoing, source = controller_.volumePointer(), labels = controller_.labels(),
               segments = controller_.segments(),
               options = PacsSettings::load().options()](const ProgressReporter& progress) {
                  std::filesystem::create_directories(outgoing);
                  const auto file =
                      outgoing / ("seg-" + std::to_string(QDateTime::currentMSecsSinceEpoch()) + ".dcm");
                  const auto report = writeDicomSeg(*source, labels, segments, file);
                  PacsDone o;
                  std::error_code ignored;
                  try {
                      storeFiles(node, {file}, options, progress);
                  } catch (...) {
                      std::filesystem::remove(file, ignored);
                      throw;
                  }
                  std::filesystem::remove(file, ignored);
                  o.message = tr("Sent the segmentation (%1 segments) to %2")
                                  .arg(report.segments)
                                  .arg(QString::fromStdString(node.describe()));
                  return o;
              });
    return true;
}

void Workspace::finishPacs(const JobOutcome<PacsDone>& outcome) {
    if (isIdle()) setBusy(false);
    if (outcome.cancelled) {
        Q_EMIT notice(tr("PACS transfer cancelled; nothing of it was kept"), 8000);
        Q_EMIT pacsFinished(false, tr("cancelled"), {});
        return;
    }
    if (!outcome.result) {
        fail(tr("PACS"), outcome.error);
        Q_EMIT pacsFinished(false, outcome.error, {});
        return;
    }
    Q_EMIT notice(outcome.result->message, 8000);
    spdlog::info("{}", outcome.result->message.toStdString());
    Q_EMIT pacsFinished(true, outcome.result->message, outcome.result->folder);
}

}  // namespace engram::ui
