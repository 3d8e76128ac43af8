#include <engram/ui/FineTuneDialog.h>

#include "DialogSupport.h"

#include <QCheckBox>
#include <QFileDialog>
#include <QLabel>
#include <QListWidget>
#include <QPushButton>
#include <QSpinBox>

namespace engram::ui {

std::optional<FineTuneChoice> askFineTune(QWidget* parent, bool haveVolume) {
    QDialog dialog(parent);
    dialog.setWindowTitle(QObject::tr("Fine-tune the AI model"));
    auto* form = new QFormLayout(&dialog);
    form->addRow(
        new QLabel(QObject::tr("Train the model in use further on finished annotations (every segment "
                               "is a target; the image encoder stays as it is)."),
                   &dialog));
    auto* document = new QCheckBox(QObject::tr("The open volume and its segments"), &dialog);
    document->setEnabled(haveVolume);
    document->setChecked(haveVolume);
    form->addRow(document);
    auto* sessions = new QListWidget(&dialog);
    auto* add = new QPushButton(QObject::tr("Add Sessions..."), &dialog);
    QObject::connect(add, &QPushButton::clicked, &dialog, [&] {
        sessions->addItems(QFileDialog::getOpenFileNames(&dialog, QObject::tr("Finished sessions"), {},
                                                         QObject::tr("Engram sessions (*.engram)")));
    });
    form->addRow(QObject::tr("Saved sessions"), sessions);
    form->addRow({}, add);
    auto* epochs = new QSpinBox(&dialog);
    epochs->setRange(1, 500);
    epochs->setValue(FineTuneChoice{}.epochs);
    form->addRow(QObject::tr("Epochs"), epochs);
    if (!detail::runWithOkCancel(dialog, form)) return std::nullopt;
    FineTuneChoice c;
    c.document = document->isChecked();
    for (int i = 0; i < sessions->count(); ++i)
        c.sessions.emplace_back(sessions->item(i)->text().toStdString());
    c.epochs = epochs->value();
    return c;
}

}  // namespace engram::ui
