#pragma once
// File > Settings: the dialog that edits AppSettings.

#include <engram/ui/AppSettings.h>

#include <optional>

class QWidget;

namespace engram::ui {

// File > Settings: the models (with the bundled defaults shown when none is set), device, memory and
// autosave. Returns the edited settings when the user pressed OK.
std::optional<AppSettings> editSettings(QWidget* parent, const AppSettings& current);

}  // namespace engram::ui
