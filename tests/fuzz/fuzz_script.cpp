// A script file for scripted runs (engram --script), read as the app reads it.
#include "FuzzSupport.h"

#include <engram/ui/ScriptFile.h>

#include <QJsonObject>

#include <stdexcept>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const auto path = engram::fuzz::writeInput("script.json", data, size);
    try {
        const QJsonArray actions = engram::ui::readScriptFile(QString::fromStdString(path.string()));
        for (const auto& a : actions) (void)a.toObject()["do"].toString();
    } catch (const std::runtime_error&) {
    }
    return 0;
}
