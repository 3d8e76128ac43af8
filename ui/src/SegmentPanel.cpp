#include <engram/ui/SegmentPanel.h>

#include <QColorDialog>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QInputDialog>
#include <QMessageBox>
#include <QPushButton>
#include <QTableWidget>
#include <QVBoxLayout>

namespace engram::ui {
namespace {

enum Column { kColour, kName, kVoxels, kMillilitres, kColumns };

QColor toQColor(const Rgb& c) { return {c.r, c.g, c.b}; }

}  // namespace

SegmentPanel::SegmentPanel(AnnotationController& controller, EditorState& editor, QWidget* parent)
    : QWidget(parent), controller_(controller), editor_(editor), table_(new QTableWidget(0, kColumns, this)) {
    setObjectName("segmentPanel");
    table_->setHorizontalHeaderLabels({"", tr("Segment"), tr("Voxels"), tr("mL")});
    table_->horizontalHeader()->setSectionResizeMode(kName, QHeaderView::Stretch);
    table_->horizontalHeader()->setSectionResizeMode(kColour, QHeaderView::ResizeToContents);
    table_->verticalHeader()->hide();
    table_->setSelectionBehavior(QAbstractItemView::SelectRows);
    table_->setSelectionMode(QAbstractItemView::SingleSelection);
    table_->setEditTriggers(QAbstractItemView::DoubleClicked | QAbstractItemView::EditKeyPressed);

    auto* add = new QPushButton(tr("Add"), this);
    auto* colour = new QPushButton(tr("Colour..."), this);
    auto* concept = new QPushButton(tr("Anatomy..."), this);
    auto* remove = new QPushButton(tr("Delete"), this);
    auto* buttons = new QHBoxLayout;
    for (auto* b : {add, colour, concept, remove}) buttons->addWidget(b);
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(2, 2, 2, 2);
    layout->addWidget(table_);
    layout->addLayout(buttons);

    connect(add, &QPushButton::clicked, this, &SegmentPanel::addSegment);
    connect(colour, &QPushButton::clicked, this, [this] {
        if (auto l = editor_.activeSegment()) chooseColour(l);
    });
    connect(concept, &QPushButton::clicked, this, [this] {
        if (auto l = editor_.activeSegment()) chooseConcept(l);
    });
    connect(remove, &QPushButton::clicked, this, [this] {
        const auto l = editor_.activeSegment();
        const Segment* s = controller_.segments().find(l);
        if (!s) return;
        if (QMessageBox::question(this, tr("Delete segment"),
                                  tr("Delete \"%1\" and its voxels? (Undo brings it back.)")
                                      .arg(QString::fromStdString(s->name))) == QMessageBox::Yes)
            controller_.deleteSegment(l);
    });
    connect(table_, &QTableWidget::cellDoubleClicked, this, [this](int row, int column) {
        if (column == kColour)
            chooseColour(static_cast<std::uint8_t>(table_->item(row, kName)->data(Qt::UserRole).toInt()));
    });
    connect(table_, &QTableWidget::itemChanged, this, [this](QTableWidgetItem* item) {
        if (rebuilding_ || item->column() != kName) return;
        const auto label = static_cast<std::uint8_t>(item->data(Qt::UserRole).toInt());
        const Segment* s = controller_.segments().find(label);
        if (!s) return;
        Segment changed = *s;
        changed.name = item->text().trimmed().toStdString();
        changed.visible = item->checkState() == Qt::Checked;
        if (changed.name.empty()) changed.name = s->name;
        if (changed.name != s->name || changed.visible != s->visible) controller_.updateSegment(changed);
    });
    connect(table_, &QTableWidget::itemSelectionChanged, this, [this] {
        if (rebuilding_) return;
        const auto rows = table_->selectionModel()->selectedRows();
        if (!rows.isEmpty())
            editor_.setActiveSegment(static_cast<std::uint8_t>(
                table_->item(rows.front().row(), kName)->data(Qt::UserRole).toInt()));
    });
    connect(&editor_, &EditorState::activeSegmentChanged, this, &SegmentPanel::selectActive);
    connect(&controller_, &AnnotationController::segmentsChanged, this, &SegmentPanel::rebuild);
    connect(&controller_, &AnnotationController::historyChanged, this, &SegmentPanel::refreshCounts);
    rebuild();
}

void SegmentPanel::selectActive() {
    const QSignalBlocker quiet(table_);
    table_->clearSelection();
    for (int r = 0; r < table_->rowCount(); ++r)
        if (table_->item(r, kName)->data(Qt::UserRole).toInt() == editor_.activeSegment())
            table_->selectRow(r);
}

void SegmentPanel::rebuild() {
    rebuilding_ = true;
    table_->setRowCount(0);
    for (const auto& s : controller_.segments().segments()) {
        const int row = table_->rowCount();
        table_->insertRow(row);
        auto* swatch = new QTableWidgetItem;
        swatch->setBackground(toQColor(s.color));
        swatch->setFlags(Qt::ItemIsEnabled | Qt::ItemIsSelectable);
        swatch->setToolTip(tr("Double-click to change the colour"));
        auto* name = new QTableWidgetItem(QString::fromStdString(s.name));
        name->setData(Qt::UserRole, s.label);
        name->setFlags(Qt::ItemIsEnabled | Qt::ItemIsSelectable | Qt::ItemIsEditable |
                       Qt::ItemIsUserCheckable);
        name->setCheckState(s.visible ? Qt::Checked : Qt::Unchecked);
        name->setToolTip(
            QString("%1 (%2)  label %3")
                .arg(QString::fromStdString(s.type.meaning), QString::fromStdString(s.category.meaning))
                .arg(s.label));
        table_->setItem(row, kColour, swatch);
        table_->setItem(row, kName, name);
        for (const int column : {int(kVoxels), int(kMillilitres)}) {
            auto* number = new QTableWidgetItem;
            number->setFlags(Qt::ItemIsEnabled | Qt::ItemIsSelectable);
            number->setTextAlignment(Qt::AlignRight | Qt::AlignVCenter);
            table_->setItem(row, column, number);
        }
    }
    selectActive();
    rebuilding_ = false;
    refreshCounts();
}

void SegmentPanel::refreshCounts() {
    const Volume* volume = controller_.volume();
    const Vec3 spacing = volume ? volume->geometry().spacing : Vec3{0.0, 0.0, 0.0};
    const double voxelMl = spacing[0] * spacing[1] * spacing[2] / 1000.0;
    for (int r = 0; r < table_->rowCount(); ++r) {
        const auto label = static_cast<std::uint8_t>(table_->item(r, kName)->data(Qt::UserRole).toInt());
        const std::int64_t voxels = controller_.voxelCount(label);
        table_->item(r, kVoxels)->setText(QString::number(voxels));
        const QString millilitres = volume ? QString::number(double(voxels) * voxelMl, 'f', 2) : QString();
        table_->item(r, kMillilitres)->setText(millilitres);
    }
}

void SegmentPanel::addSegment() {
    if (!controller_.volume()) return;
    QStringList names;
    for (const auto& e : AnatomyCatalog::entries()) names << QString::fromStdString(e.type.meaning);
    bool ok = false;
    const QString name = QInputDialog::getItem(this, tr("Add segment"), tr("Name (or pick a structure):"),
                                               names, -1, true, &ok);
    if (!ok || name.trimmed().isEmpty()) return;
    try {
        editor_.setActiveSegment(controller_.addSegment(name.trimmed().toStdString()));
    } catch (const std::length_error&) {
        QMessageBox::warning(this, tr("Add segment"), tr("All 255 segment labels are in use."));
    }
}

void SegmentPanel::chooseColour(std::uint8_t label) {
    const Segment* s = controller_.segments().find(label);
    if (!s) return;
    const QColor c = QColorDialog::getColor(toQColor(s->color), this, tr("Segment colour"));
    if (!c.isValid()) return;
    Segment changed = *s;
    changed.color = {std::uint8_t(c.red()), std::uint8_t(c.green()), std::uint8_t(c.blue())};
    controller_.updateSegment(changed);
}

void SegmentPanel::chooseConcept(std::uint8_t label) {
    const Segment* s = controller_.segments().find(label);
    if (!s) return;
    QStringList names;
    for (const auto& e : AnatomyCatalog::entries())
        names << QString("%1 (%2, %3 %4)")
                     .arg(QString::fromStdString(e.type.meaning), QString::fromStdString(e.category.meaning),
                          QString::fromStdString(e.type.scheme), QString::fromStdString(e.type.value));
    bool ok = false;
    const QString pick =
        QInputDialog::getItem(this, tr("Coded concept"), tr("Structure:"), names, 0, false, &ok);
    if (!ok) return;
    const auto& e = AnatomyCatalog::entries()[static_cast<std::size_t>(names.indexOf(pick))];
    Segment changed = *s;
    changed.category = e.category;
    changed.type = e.type;
    controller_.updateSegment(changed);
}

}  // namespace engram::ui
