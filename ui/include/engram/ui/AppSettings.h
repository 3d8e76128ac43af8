#pragma once
// The app's settings, each key and its default written once here (QSettings underneath, ~/.config/Engram):
// the app's own, the DICOM nodes, and where the bundled models are. Qt Core only; the dialogs that edit
// them are SettingsDialog.h and PacsBrowser.h.

#include <engram/annotation/Pacs.h>

#include <QString>
#include <QStringList>

#include <vector>

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

    static constexpr int kMaxRecent = 8;
    // `path` first in `recent` (once), the list cut to kMaxRecent.
    void rememberRecent(const QString& path);

    static AppSettings load();
    void save() const;
};

// The nodes Engram knows ("pacs/nodes" in the settings) and its own AE title ("pacs/aeTitle").
struct PacsSettings {
    struct Node {
        QString name;
        DicomNode node;
    };
    std::vector<Node> nodes;
    QString aeTitle = "ENGRAM";

    static PacsSettings load();
    void save() const;
    PacsOptions options() const;
    const Node* find(const QString& name) const;
};

// The model files shipped with the app: beside an installed executable (../share/engram/models), else the
// build's defaults (resources/models).
QString bundledModel();
QString bundledPropagator();

}  // namespace engram::ui
