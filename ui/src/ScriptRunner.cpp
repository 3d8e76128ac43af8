#include <engram/ui/HistoryPanel.h>
#include <engram/ui/MainWindow.h>
#include <engram/ui/ScriptRunner.h>
#include <engram/ui/SegmentPanel.h>

#include <QApplication>
#include <QDateTime>
#include <QJsonDocument>
#include <QMouseEvent>

#include <spdlog/spdlog.h>

#include <stdexcept>

namespace engram::ui {
namespace {

constexpr qint64 kActionTimeoutMs = 600000;

std::optional<Vec3> vec3(const QJsonValue& v) {
    const QJsonArray a = v.toArray();
    if (a.size() != 3) return std::nullopt;
    return Vec3{a[0].toDouble(), a[1].toDouble(), a[2].toDouble()};
}

std::optional<viewers::ViewKind> viewKind(const QString& name) {
    if (name == "axial") return viewers::ViewKind::Axial;
    if (name == "coronal") return viewers::ViewKind::Coronal;
    if (name == "sagittal") return viewers::ViewKind::Sagittal;
    return std::nullopt;
}

void sendMouse(QWidget* w, QEvent::Type type, const QPointF& pos, Qt::MouseButton button,
               Qt::KeyboardModifiers modifiers) {
    const Qt::MouseButtons buttons =
        type == QEvent::MouseButtonRelease ? Qt::NoButton : Qt::MouseButtons(button);
    QMouseEvent e(type, pos, w->mapToGlobal(pos), button, buttons, modifiers);
    QApplication::sendEvent(w, &e);
}

}  // namespace

ScriptRunner::ScriptRunner(MainWindow& window, QJsonArray actions, QObject* parent)
    : QObject(parent), window_(window), actions_(std::move(actions)) {
    poll_.setInterval(20);
    connect(&poll_, &QTimer::timeout, this, &ScriptRunner::poll);
    connect(&window_.controller(), &AnnotationController::errorOccurred, this,
            [this](const QString& m) { error_ = m; });
    connect(&window_.workspace(), &Workspace::loadFailed, this, [this](const QString& m) { error_ = m; });
    auto failed = [this](bool ok, const QString& m) {
        if (!ok) error_ = m;
    };
    connect(&window_.workspace(), &Workspace::exportFinished, this, failed);
    connect(&window_.workspace(), &Workspace::fineTuneFinished, this, failed);
    connect(&window_.workspace(), &Workspace::pacsFinished, this, failed);
}

void ScriptRunner::start() { QTimer::singleShot(0, this, &ScriptRunner::next); }

void ScriptRunner::next() {
    if (++index_ >= actions_.size()) {
        Q_EMIT finished(0, {});
        return;
    }
    current_ = actions_[index_].toObject();
    error_.clear();
    spdlog::info("script step {}: {}", index_ + 1,
                 QJsonDocument(current_).toJson(QJsonDocument::Compact).toStdString());
    waitUntil_ = 0;
    if (!run(current_)) {
        if (current_["expectError"].toBool()) {
            spdlog::info("script step {} failed as expected: {}", index_ + 1, error_.toStdString());
            QTimer::singleShot(0, this, &ScriptRunner::next);
        } else {
            fail(error_);
        }
        return;
    }
    deadline_ = QDateTime::currentMSecsSinceEpoch() + kActionTimeoutMs;
    poll_.start();
}

void ScriptRunner::poll() {
    const qint64 now = QDateTime::currentMSecsSinceEpoch();
    if (now < waitUntil_) return;
    if (!window_.isIdle()) {
        if (now > deadline_) {
            poll_.stop();
            fail("timed out waiting for the window to finish");
        }
        return;
    }
    poll_.stop();
    const bool expectError = current_["expectError"].toBool();
    if (!error_.isEmpty() && !expectError) return fail(error_);
    if (error_.isEmpty() && expectError) return fail("the action was expected to fail but did not");
    next();
}

void ScriptRunner::fail(const QString& message) {
    const QString m = QString("step %1 (%2): %3")
                          .arg(index_ + 1)
                          .arg(current_["do"].toString(), message.isEmpty() ? QString("failed") : message);
    spdlog::error("script: {}", m.toStdString());
    Q_EMIT finished(1, m);
}

bool ScriptRunner::run(const QJsonObject& a) {
    const QString what = a["do"].toString();
    auto& c = window_.controller();
    EditorState& editor = window_.workspace().editor();
    auto need = [&](bool ok, const QString& why) {
        if (!ok) error_ = why;
        return ok;
    };
    // The world point of an action: "world" (LPS mm) or "voxel" (index).
    auto point = [&]() -> std::optional<Vec3> {
        if (!window_.volume()) return std::nullopt;
        if (auto w = vec3(a["world"])) return w;
        if (auto v = vec3(a["voxel"])) return window_.volume()->geometry().indexToWorld(*v);
        return std::nullopt;
    };
    auto useSegment = [&](const QString& name) {
        if (name.isEmpty()) return editor.activeOrNewSegment();
        for (const auto& s : c.segments().segments())
            if (QString::fromStdString(s.name) == name) {
                editor.setActiveSegment(s.label);
                return s.label;
            }
        const auto label = c.addSegment(name.toStdString());
        editor.setActiveSegment(label);
        return label;
    };
    // Shows the slice through `world` in the named view and presses (and releases) the mouse there.
    auto pressAt = [&](const Vec3& world, Tool tool) {
        const auto kind = viewKind(a["view"].toString("axial"));
        if (!need(kind.has_value(), "unknown view " + a["view"].toString())) return false;
        auto& view = window_.sliceView(*kind);
        if (!need(view.isVisible(), "the " + a["view"].toString("axial") + " view is not shown"))
            return false;
        window_.viewerState().setCursor(window_.volume()->geometry().worldToNearestVoxel(world));
        editor.setTool(tool);
        const QPointF pos = view.widgetPosOf(world);
        const bool negative = !a["positive"].toBool(true) || a["erase"].toBool(false);
        const Qt::MouseButton button = negative ? Qt::RightButton : Qt::LeftButton;
        sendMouse(&view, QEvent::MouseButtonPress, pos, button, Qt::NoModifier);
        sendMouse(&view, QEvent::MouseButtonRelease, pos, button, Qt::NoModifier);
        return true;
    };

    if (what == "open" || what == "open-session") {
        const QString path = a["path"].toString();
        if (!need(!path.isEmpty(), "no path")) return false;
        if (what == "open")
            window_.workspace().open(path, a["series"].toString());
        else
            window_.workspace().openSession(path);
        return true;
    }
    if (what == "pacs-retrieve" || what == "pacs-send") {
        std::optional<DicomNode> node;
        try {
            node = parseDicomNode(a["node"].toString().toStdString());
        } catch (const PacsError& e) {
            return need(false, QString::fromStdString(e.what()));
        }
        if (what == "pacs-retrieve")
            return need(
                window_.workspace().retrieveFromPacs(*node, a["study"].toString(), a["series"].toString()),
                window_.lastError());
        return need(window_.workspace().sendToPacs(*node), window_.lastError());
    }
    if (what == "drop") return need(window_.openDropped(a["path"].toString()), window_.lastError());
    if (what == "save-session")
        return need(window_.workspace().saveSession(a["path"].toString()), window_.lastError());
    if (what == "export")
        return need(window_.workspace().exportLabels(a["path"].toString()), window_.lastError());
    if (what == "autosave") return need(window_.workspace().autosave(), "nothing to autosave");
    if (what == "wait") {
        const int ms = a["ms"].toInt(1000);
        if (!need(ms >= 0 && ms <= kActionTimeoutMs, "wait takes 0 to 600000 ms")) return false;
        waitUntil_ = QDateTime::currentMSecsSinceEpoch() + ms;
        return true;
    }
    if (what == "screenshot") {
        QApplication::processEvents();
        return need(window_.grab().save(a["path"].toString()), "cannot write " + a["path"].toString());
    }
    if (!need(window_.volume() != nullptr, "no volume is open")) return false;
    if (what == "segment") {
        useSegment(a["name"].toString());
        return true;
    }
    if (what == "fine-tune") {
        std::vector<std::filesystem::path> sessions;
        for (const auto& v : a["sessions"].toArray()) sessions.emplace_back(v.toString().toStdString());
        model::TrainOptions o;
        o.epochs = a["epochs"].toInt(10);
        o.samplesPerEpoch = a["samples"].toInt(0);
        o.clicks = a["clicks"].toInt(6);
        if (!need(o.epochs >= 1 && o.epochs <= 1000 && o.samplesPerEpoch >= 0 &&
                      o.samplesPerEpoch <= 100000 && o.clicks >= 1 && o.clicks <= 100,
                  "fine-tune takes 1..1000 epochs, 0..100000 samples and 1..100 clicks"))
            return false;
        o.output = a["out"].toString().toStdString();
        return need(
            window_.workspace().fineTune(a["document"].toBool(true), std::move(sessions), std::move(o)),
            window_.lastError());
    }
    if (what == "cursor") {
        const auto w = point();
        if (!need(w.has_value(), "no world or voxel point")) return false;
        window_.viewerState().setCursor(window_.volume()->geometry().worldToNearestVoxel(*w));
        return true;
    }
    if (what == "click" || what == "brush" || what == "fill") {
        const auto w = point();
        if (!need(w.has_value(), "no world or voxel point")) return false;
        useSegment(a["segment"].toString());
        if (what == "click") {
            const QString method = a["method"].toString();
            if (method == "grow-from-seeds") {
                editor.setClickMethod(ClickMethod::GrowFromSeeds);
            } else if (method == "model") {
                editor.setClickMethod(ClickMethod::Model);
                if (!need(window_.engineReady(), "no AI model is loaded")) return false;
            } else if (!need(method.isEmpty(),
                             "unknown click method " + method + " (model, grow-from-seeds)")) {
                return false;
            }
            return pressAt(*w, Tool::AiClick);
        }
        if (what == "brush") {
            if (a.contains("radius")) editor.setBrushRadius(a["radius"].toDouble());
            return pressAt(*w, a["erase"].toBool() ? Tool::Eraser : Tool::Brush);
        }
        if (a.contains("low") || a.contains("high"))
            editor.setFillRange(a["low"].toDouble(-1e5), a["high"].toDouble(1e5));
        editor.setFill3D(a["3d"].toBool(false));
        return pressAt(*w, Tool::Fill);
    }
    if (what == "propagate") {
        if (a.contains("world") || a.contains("voxel")) {
            const auto w = point();
            if (!need(w.has_value(), "no world or voxel point")) return false;
            window_.viewerState().setCursor(window_.volume()->geometry().worldToNearestVoxel(*w));
        }
        useSegment(a["segment"].toString());
        if (!need(window_.propagatorReady(), "no propagation model is loaded")) return false;
        const QString axis = a["axis"].toString("axial"), direction = a["direction"].toString("both");
        const int index = axis == "axial" ? 2 : axis == "coronal" ? 1 : axis == "sagittal" ? 0 : -1;
        if (!need(index >= 0, "unknown axis " + axis)) return false;
        if (!need(direction == "both" || direction == "up" || direction == "down",
                  "unknown direction " + direction))
            return false;
        return need(window_.propagate(index, direction != "down", direction != "up"), window_.lastError());
    }
    if (what == "segment-tool") {
        const auto tool = segmentToolNamed(a["tool"].toString());
        if (!need(tool.has_value(), "unknown segment tool " + a["tool"].toString())) return false;
        useSegment(a["segment"].toString());
        const QString axis = a["axis"].toString("axial");
        const int index = axis == "axial" ? 2 : axis == "coronal" ? 1 : axis == "sagittal" ? 0 : -1;
        if (a.contains("world") || a.contains("voxel")) {  // the slice to act on
            const auto w = point();
            if (!need(w.has_value() && window_.volume(), "no world or voxel point")) return false;
            window_.viewerState().setCursor(window_.volume()->geometry().worldToNearestVoxel(*w));
        }
        return need(window_.runSegmentTool(*tool, a["value"].toDouble(0), a["slice"].toBool(false), index),
                    window_.lastError());
    }
    if (what == "open-segmentation") {
        SegmentationChoices choices;
        const QString resample = a["resample"].toString("none"), overlaps = a["overlaps"].toString("first");
        if (!need(resample == "none" || resample == "nearest",
                  "resample is none or nearest, not " + resample))
            return false;
        choices.resample = resample == "nearest";
        if (!need(overlaps == "first" || overlaps == "separate" || overlaps == "refuse",
                  "overlaps is first, separate or refuse, not " + overlaps))
            return false;
        choices.overlaps = overlaps == "separate" ? SegmentationChoices::Overlaps::Separate
                           : overlaps == "refuse" ? SegmentationChoices::Overlaps::Refuse
                                                  : SegmentationChoices::Overlaps::First;
        return need(window_.openSegmentation(a["path"].toString(), choices), window_.lastError());
    }

    if (what == "combine") {
        const QString op = a["operation"].toString("union");
        const int index = op == "union" ? 0 : op == "intersect" ? 1 : op == "subtract" ? 2 : -1;
        if (!need(index >= 0, "unknown operation " + op + " (union, intersect, subtract)")) return false;
        useSegment(a["segment"].toString());
        return need(window_.combineWithLabelFile(a["path"].toString(), a["label"].toInt(1),
                                                 static_cast<LogicalOperation>(index)),
                    window_.lastError());
    }
    if (what == "undo" || what == "redo") {
        const int count = a["count"].toInt(1);
        if (!need(count >= 0 && count <= 100000, what + " takes a count of 0 to 100000")) return false;
        for (int i = 0; i < count; ++i) {
            if (what == "undo")
                c.undoStack().undo();
            else
                c.undoStack().redo();
        }
        return true;
    }
    if (what == "accept" || what == "discard") {
        if (!need(c.previewSegment() != 0, "no AI preview is open")) return false;
        if (what == "accept")
            c.acceptPreview();
        else
            c.discardPreview();
        return true;
    }
    if (what == "delete-segment") {
        for (const auto& s : c.segments().segments())
            if (QString::fromStdString(s.name) == a["name"].toString()) {
                c.deleteSegment(s.label);
                return true;
            }
        return need(false, "no segment named " + a["name"].toString());
    }
    if (what == "layout") {
        const QString n = a["name"].toString();
        if (n == "grid")
            window_.setLayoutMode(Layout::Grid);
        else if (n == "row")
            window_.setLayoutMode(Layout::RowPlus3D);
        else if (const auto k = viewKind(n))
            window_.setLayoutMode(Layout::Single, static_cast<int>(*k));
        else if (n == "3d")
            window_.setLayoutMode(Layout::Single, 3);
        else
            return need(false, "unknown layout " + n);
        return true;
    }
    if (what == "window") {
        window_.viewerState().setWindowLevel({a["window"].toDouble(400), a["level"].toDouble(40)});
        return true;
    }
    if (what == "expect") {
        if (a.contains("historyEntries") && !need(int(c.history().size()) == a["historyEntries"].toInt(),
                                                  QString("history has %1 entries, expected %2")
                                                      .arg(c.history().size())
                                                      .arg(a["historyEntries"].toInt())))
            return false;
        if (a.contains("previewClicks") && !need(c.previewClicks() == a["previewClicks"].toInt(),
                                                 QString("the AI preview has %1 clicks, expected %2")
                                                     .arg(c.previewClicks())
                                                     .arg(a["previewClicks"].toInt())))
            return false;
        if (a.contains("segment")) {
            const Segment* found = nullptr;
            for (const auto& s : c.segments().segments())
                if (QString::fromStdString(s.name) == a["segment"].toString()) found = &s;
            if (!need(found != nullptr, "no segment named " + a["segment"].toString())) return false;
            const auto n = c.voxelCount(found->label);
            if (!need(n >= a["minVoxels"].toDouble(0) && n <= a["maxVoxels"].toDouble(1e18),
                      QString("segment %1 has %2 voxels").arg(a["segment"].toString()).arg(n)))
                return false;
        }
        return true;
    }
    return need(false, "unknown action \"" + what + "\"");
}

}  // namespace engram::ui
