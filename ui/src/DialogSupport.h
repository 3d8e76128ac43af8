#pragma once
// Internal to ui/: what the small form dialogs share.

#include <QDialog>
#include <QDialogButtonBox>
#include <QFormLayout>

namespace engram::ui::detail {

// Adds OK and Cancel below the form and runs the dialog; true when the user pressed OK.
inline bool runWithOkCancel(QDialog& dialog, QFormLayout* form) {
    auto* buttons = new QDialogButtonBox(QDialogButtonBox::Ok | QDialogButtonBox::Cancel, &dialog);
    form->addRow(buttons);
    QObject::connect(buttons, &QDialogButtonBox::accepted, &dialog, &QDialog::accept);
    QObject::connect(buttons, &QDialogButtonBox::rejected, &dialog, &QDialog::reject);
    return dialog.exec() == QDialog::Accepted;
}

}  // namespace engram::ui::detail
