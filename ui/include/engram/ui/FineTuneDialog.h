#pragma once
// Tools > Fine-tune AI Model: what to train on (the open document, saved sessions) and for how long.

#include <filesystem>
#include <optional>
#include <vector>

class QWidget;

namespace engram::ui {

struct FineTuneChoice {
    bool document = false;                        // the open volume and its segments
    std::vector<std::filesystem::path> sessions;  // finished sessions
    int epochs = 10;
};

// Asks; nullopt when the user cancelled. `haveVolume`: whether the document can be a target.
std::optional<FineTuneChoice> askFineTune(QWidget* parent, bool haveVolume);

}  // namespace engram::ui
