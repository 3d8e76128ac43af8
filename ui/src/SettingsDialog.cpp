#include <engram/ui/SettingsDialog.h>

#include "DialogSupport.h"

#include <QComboBox>
#include <QFileDialog>
#include <QHBoxLayout>
#include <QLineEdit>
#include <QPushButton>
#include <QSpinBox>

namespace engram::ui {

std::optional<AppSettings> editSettings(QWidget* parent, const AppSettings& current) {
    const QString defaultModel = bundledModel(), defaultPropagator = bundledPropagator();
    QDialog dialog(parent);
    dialog.setWindowTitle(QObject::tr("Settings"));
    auto* form = new QFormLayout(&dialog);
    auto* model = new QLineEdit(current.model.isEmpty() ? defaultModel : current.model, &dialog);
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
        current.propagationModel.isEmpty() ? defaultPropagator : current.propagationModel, &dialog);
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
    edited.model = model->text() == defaultModel ? QString() : model->text();
    edited.propagationModel = propagation->text() == defaultPropagator ? QString() : propagation->text();
    edited.device = device->currentText();
    edited.memoryCapacity = memory->value();
    edited.autosaveMinutes = interval->value();
    edited.autosaveEvery = every->value();
    return edited;
}

}  // namespace engram::ui
