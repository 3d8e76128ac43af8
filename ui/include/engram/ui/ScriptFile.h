#pragma once
// Reading a script file for scripted runs (docs/SCRIPTING.md): a JSON list of actions, or an object holding
// one as "actions". Qt Core only, so the fuzz target reads scripts exactly as the app does.

#include <QJsonArray>
#include <QString>

namespace engram::ui {

// Throws std::runtime_error with a message naming the file when it cannot be read or holds no action list.
QJsonArray readScriptFile(const QString& path);

}  // namespace engram::ui
