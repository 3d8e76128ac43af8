#include <engram/ui/AppSettings.h>

#include "DialogSupport.h"

#include <QComboBox>
#include <QFileDialog>
#include <QHBoxLayout>
#include <QLineEdit>
#include <QPushButton>
#include <QSettings>
#include <QSpinBox>

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

std::optional<AppSettings> editSettings(QWidget* parent, const AppSettings& current,
                                        const QString& bundledModel, const QString& bundledPropagator) {
    QDialog dialog(parent);
    dialog.setWindowTitle(QObject::tr("Settings"));
    auto* form = new QFormLayout(&dialog);
    auto* model = new QLineEdit(current.model.isEmpty() ? bundledModel : current.model, &dialog);
    auto* browse = new QPushButton(QObject::tr("Browse..."), &dialog);
    QObject::connect(browse, &QPushButton::clicked, &dialog, [&] {
        const QString p = QFileDialog::getOpenFileName(&dialog, QObject::tr("Model file"), model->text(),
                                                       QObject::tr("Engram models (*.safetensors)"));
        if (!p.isEmpty()) model->setText(p);
    });
    auto* modelRow = new QHBoxLayout;
    modelRow->addWidget(model);
    modelRow->addWidget(browse);
    form->addRow(QObject::tr("AI model"), modelRow);
    auto* propagation = new QLineEdit(
        current.propagationModel.isEmpty() ? bundledPropagator : current.propagationModel, &dialog);
    propagation->setPlaceholderText(QObject::tr("Slice propagation model file (slicenet or SAM 2)"));
    form->addRow(QObject::tr("Propagation model"), propagation);
    auto* device = new QComboBox(&dialog);
    device->addItems({"cpu", "cuda"});
    device->setCurrentText(current.device);
    form->addRow(QObject::tr("Device"), device);
    auto* memory = new QSpinBox(&dialog);
    memory->setRange(0, 80);
    memory->setValue(current.memoryCapacity);
    form->addRow(QObject::tr("AI memory (interactions)"), memory);
    auto* interval = new QSpinBox(&dialog);
    interval->setRange(1, 60);
    interval->setSuffix(QObject::tr(" min"));
    interval->setValue(current.autosaveMinutes);
    form->addRow(QObject::tr("Autosave every"), interval);
    auto* every = new QSpinBox(&dialog);
    every->setRange(1, 100);
    every->setValue(current.autosaveEvery);
    form->addRow(QObject::tr("... and after every N interactions"), every);
    if (!detail::runWithOkCancel(dialog, form)) return std::nullopt;
    AppSettings edited = current;
    // The bundled defaults stay "the default" (empty), so that a newer bundled model is picked up.
    edited.model = model->text() == bundledModel ? QString() : model->text();
    edited.propagationModel = propagation->text() == bundledPropagator ? QString() : propagation->text();
    edited.device = device->currentText();
    edited.memoryCapacity = memory->value();
    edited.autosaveMinutes = interval->value();
    edited.autosaveEvery = every->value();
    return edited;
}

}  // namespace engram::ui
