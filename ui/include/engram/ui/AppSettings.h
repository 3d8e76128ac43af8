#pragma once
// The app's settings, each key and its default written once here (QSettings underneath, ~/.config/Engram),
// and the Settings dialog that edits them. The DICOM node list has its own (PacsBrowser.h).

#include <QString>
#include <QStringList>

#include <optional>

class QWidget;

namespace engram::ui {

struct AppSettings {
    QString model;             // ai/model: the AI model file; empty: the bundled default
    QString propagationModel;  // ai/propagationModel; empty: the bundled default
    QString device = "cpu";    // ai/device: cpu or cuda
    int memoryCapacity = 60;   // ai/memoryCapacity: interactions the AI's memory keeps
    int clickMethod = 0;       // ai/clickMethod: 0 the model, 1 grow from seeds
    int autosaveMinutes = 2;   // autosave/intervalMinutes
    int autosaveEvery = 5;     // autosave/everyInteractions: also autosave after this many edits
    QString layout;            // view/layout: "row" or "grid" (empty: grid)
    QStringList recent;        // files/recent, newest first

    static AppSettings load();
    void save() const;
};

// File > Settings: the models (with the bundled defaults shown when none is set), device, memory and
// autosave. Returns the edited settings when the user pressed OK.
std::optional<AppSettings> editSettings(QWidget* parent, const AppSettings& current,
                                        const QString& bundledModel, const QString& bundledPropagator);

}  // namespace engram::ui
