#include <engram/ui/AppSettings.h>

#include <QCoreApplication>
#include <QFileInfo>
#include <QSettings>

namespace engram::ui {

AppSettings AppSettings::load() {
    QSettings s;
    const AppSettings d;  // the defaults
    AppSettings a;
    a.model = s.value("ai/model", d.model).toString();
    a.propagationModel = s.value("ai/propagationModel", d.propagationModel).toString();
    a.device = s.value("ai/device", d.device).toString();
    a.memoryCapacity = s.value("ai/memoryCapacity", d.memoryCapacity).toInt();
    a.clickMethod = s.value("ai/clickMethod", d.clickMethod).toInt() == 1 ? 1 : 0;
    a.autosaveMinutes = s.value("autosave/intervalMinutes", d.autosaveMinutes).toInt();
    a.autosaveEvery = s.value("autosave/everyInteractions", d.autosaveEvery).toInt();
    a.layout = s.value("view/layout", d.layout).toString();
    a.recent = s.value("files/recent", d.recent).toStringList();
    return a;
}

void AppSettings::save() const {
    QSettings s;
    s.setValue("ai/model", model);
    s.setValue("ai/propagationModel", propagationModel);
    s.setValue("ai/device", device);
    s.setValue("ai/memoryCapacity", memoryCapacity);
    s.setValue("ai/clickMethod", clickMethod);
    s.setValue("autosave/intervalMinutes", autosaveMinutes);
    s.setValue("autosave/everyInteractions", autosaveEvery);
    s.setValue("view/layout", layout);
    s.setValue("files/recent", recent);
}

void AppSettings::rememberRecent(const QString& path) {
    recent.removeAll(path);
    recent.prepend(path);
    while (recent.size() > kMaxRecent) recent.removeLast();
}

PacsSettings PacsSettings::load() {
    QSettings s;
    PacsSettings out;
    out.aeTitle = s.value("pacs/aeTitle", "ENGRAM").toString();
    const int n = s.beginReadArray("pacs/nodes");
    for (int i = 0; i < n; ++i) {
        s.setArrayIndex(i);
        Node node;
        node.name = s.value("name").toString();
        node.node.aeTitle = s.value("aeTitle").toString().toStdString();
        node.node.host = s.value("host").toString().toStdString();
        node.node.port = s.value("port", 104).toInt();
        out.nodes.push_back(std::move(node));
    }
    s.endArray();
    return out;
}

void PacsSettings::save() const {
    QSettings s;
    s.setValue("pacs/aeTitle", aeTitle);
    s.beginWriteArray("pacs/nodes", static_cast<int>(nodes.size()));
    for (int i = 0; i < static_cast<int>(nodes.size()); ++i) {
        s.setArrayIndex(i);
        const Node& n = nodes[static_cast<std::size_t>(i)];
        s.setValue("name", n.name);
        s.setValue("aeTitle", QString::fromStdString(n.node.aeTitle));
        s.setValue("host", QString::fromStdString(n.node.host));
        s.setValue("port", n.node.port);
    }
    s.endArray();
}

PacsOptions PacsSettings::options() const {
    PacsOptions o;
    o.callingAeTitle = aeTitle.toStdString();
    return o;
}

const PacsSettings::Node* PacsSettings::find(const QString& name) const {
    for (const auto& n : nodes)
        if (n.name == name) return &n;
    return nullptr;
}

namespace {
// A bundled model file: next to an installed executable (../share/engram/models), else the build's default.
QString bundled(const QString& buildDefault) {
    const QString installed = QCoreApplication::applicationDirPath() + "/../share/engram/models/" +
                              QFileInfo(buildDefault).fileName();
    if (QFileInfo::exists(installed)) return QFileInfo(installed).canonicalFilePath();
    return buildDefault;
}
}  // namespace

QString bundledModel() { return bundled(QString(ENGRAM_DEFAULT_MODEL)); }
QString bundledPropagator() { return bundled(QString(ENGRAM_DEFAULT_PROPAGATOR)); }

}  // namespace engram::ui
