#include <engram/ui/ScriptFile.h>

#include <QFile>
#include <QJsonDocument>
#include <QJsonObject>

#include <stdexcept>

namespace engram::ui {

QJsonArray readScriptFile(const QString& path) {
    QFile f(path);
    if (!f.open(QIODevice::ReadOnly))
        throw std::runtime_error("Cannot read the script " + path.toStdString() + ": " +
                                 f.errorString().toStdString());
    QJsonParseError err;
    const QJsonDocument doc = QJsonDocument::fromJson(f.readAll(), &err);
    if (doc.isNull())
        throw std::runtime_error("The script " + path.toStdString() +
                                 " is not valid JSON: " + err.errorString().toStdString());
    if (doc.isArray()) return doc.array();
    if (doc.object()["actions"].isArray()) return doc.object()["actions"].toArray();
    throw std::runtime_error("The script " + path.toStdString() + " holds no list of actions.");
}

}  // namespace engram::ui
