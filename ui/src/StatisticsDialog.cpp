#include <engram/ui/StatisticsDialog.h>

#include <engram/annotation/AtomicFile.h>
#include <engram/annotation/Errors.h>

#include <QColor>
#include <QDateTime>
#include <QFileDialog>
#include <QFileInfo>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QMessageBox>
#include <QPushButton>
#include <QTableWidget>
#include <QVBoxLayout>

#include <filesystem>
#include <fstream>
#include <stdexcept>

namespace engram::ui {
namespace {

enum Column { kLabel, kName, kVoxels, kMillilitres, kMean, kStd, kMin, kMax, kBox, kColumns };

// A cell shown as formatted text that sorts by its number.
class NumberItem : public QTableWidgetItem {
  public:
    NumberItem(double value, const QString& text) : QTableWidgetItem(text) {
        setData(Qt::UserRole, value);
        setTextAlignment(Qt::AlignRight | Qt::AlignVCenter);
    }
    bool operator<(const QTableWidgetItem& other) const override {
        return data(Qt::UserRole).toDouble() < other.data(Qt::UserRole).toDouble();
    }
};

QTableWidgetItem* number(double value, int decimals) {
    return new NumberItem(value, QString::number(value, 'f', decimals));
}

QString boundingBox(const SegmentStatistics& s) {
    return QString("i %1..%2, j %3..%4, k %5..%6")
        .arg(s.begin[0])
        .arg(s.end[0])
        .arg(s.begin[1])
        .arg(s.end[1])
        .arg(s.begin[2])
        .arg(s.end[2]);
}

}  // namespace

StatisticsDialog::StatisticsDialog(const Volume& volume, const LabelMap& labels, const SegmentList& segments,
                                   QWidget* parent)
    : QDialog(parent),
      volume_(volume),
      labels_(labels),
      segments_(segments),
      table_(new QTableWidget(0, kColumns, this)),
      status_(new QLabel(this)) {
    setObjectName("statisticsDialog");
    setWindowTitle(tr("Segment Statistics"));
    setModal(false);
    table_->setObjectName("statisticsTable");
    table_->setHorizontalHeaderLabels({tr("Label"), tr("Segment"), tr("Voxels"), tr("mL"), tr("Mean"),
                                       tr("Std"), tr("Min"), tr("Max"), tr("Bounding box")});
    const QString intensity = tr("Of the image over the segment's voxels (HU on CT)");
    for (int c : {kMean, kStd, kMin, kMax}) table_->horizontalHeaderItem(c)->setToolTip(intensity);
    table_->horizontalHeaderItem(kStd)->setToolTip(
        tr("Standard deviation (population) of the image over the segment's voxels (HU on CT)"));
    table_->horizontalHeaderItem(kMillilitres)
        ->setToolTip(tr("Volume: voxels times the volume of one voxel, in millilitres"));
    table_->horizontalHeaderItem(kBox)->setToolTip(tr("First..last voxel index along i, j and k"));
    table_->horizontalHeader()->setSectionResizeMode(QHeaderView::ResizeToContents);
    table_->horizontalHeader()->setSectionResizeMode(kName, QHeaderView::Stretch);
    table_->horizontalHeader()->setSortIndicator(kLabel, Qt::AscendingOrder);
    table_->verticalHeader()->hide();
    table_->setSelectionBehavior(QAbstractItemView::SelectRows);
    table_->setEditTriggers(QAbstractItemView::NoEditTriggers);
    status_->setWordWrap(true);

    auto* refreshButton = new QPushButton(tr("Refresh"), this);
    refreshButton->setToolTip(tr("Compute the statistics again from the current labels"));
    auto* exportButton = new QPushButton(tr("Export CSV..."), this);
    auto* closeButton = new QPushButton(tr("Close"), this);
    auto* buttons = new QHBoxLayout;
    buttons->addWidget(refreshButton);
    buttons->addWidget(exportButton);
    buttons->addStretch();
    buttons->addWidget(closeButton);
    auto* layout = new QVBoxLayout(this);
    layout->addWidget(table_);
    layout->addWidget(status_);
    layout->addLayout(buttons);

    connect(refreshButton, &QPushButton::clicked, this, &StatisticsDialog::refresh);
    connect(exportButton, &QPushButton::clicked, this, &StatisticsDialog::exportCsv);
    connect(closeButton, &QPushButton::clicked, this, &QDialog::close);
    resize(900, 420);
    refresh();
}

bool StatisticsDialog::refresh() {
    statistics_.clear();
    names_.clear();
    try {
        statistics_ = segmentStatistics(labels_, volume_);
    } catch (const std::invalid_argument& e) {
        fillTable();
        const QString message = QString::fromStdString(e.what());
        status_->setText(message);
        if (isVisible()) QMessageBox::warning(this, tr("Segment statistics"), message);
        return false;
    }
    for (const auto& s : statistics_) {
        const Segment* segment = segments_.find(s.label);
        names_[s.label] = segment ? segment->name : SegmentList::defaultFor(s.label).name;
    }
    fillTable();
    const auto& spacing = volume_.geometry().spacing;
    status_->setText(tr("%1 segments with voxels. Voxels %2 x %3 x %4 mm (%5 mL each). Computed at %6; "
                        "Refresh computes again after edits.")
                         .arg(statistics_.size())
                         .arg(spacing[0])
                         .arg(spacing[1])
                         .arg(spacing[2])
                         .arg(spacing[0] * spacing[1] * spacing[2] / 1000.0)
                         .arg(QDateTime::currentDateTime().toString("HH:mm:ss")));
    return true;
}

void StatisticsDialog::fillTable() {
    table_->setSortingEnabled(false);  // rows would move while they are filled
    table_->setRowCount(0);
    for (const auto& s : statistics_) {
        const int row = table_->rowCount();
        table_->insertRow(row);
        const Segment* segment = segments_.find(s.label);
        const Rgb c = segment ? segment->color : SegmentList::defaultFor(s.label).color;
        auto* name = new QTableWidgetItem(QString::fromStdString(names_[s.label]));
        name->setData(Qt::DecorationRole, QColor(c.r, c.g, c.b));
        table_->setItem(row, kLabel, number(s.label, 0));
        table_->setItem(row, kName, name);
        table_->setItem(row, kVoxels, number(double(s.voxels), 0));
        table_->setItem(row, kMillilitres, number(s.volumeMl, 2));
        table_->setItem(row, kMean, number(s.mean, 1));
        table_->setItem(row, kStd, number(s.stddev, 1));
        table_->setItem(row, kMin, number(s.min, 1));
        table_->setItem(row, kMax, number(s.max, 1));
        table_->setItem(row, kBox, new QTableWidgetItem(boundingBox(s)));
    }
    table_->setSortingEnabled(true);  // sorts by the header's indicator
}

QString StatisticsDialog::writeCsv(const QString& path) const {
    try {
        writeFileAtomically(path.toStdString(), [&](const std::filesystem::path& temporary) {
            std::ofstream out(temporary, std::ios::binary);
            writeStatisticsCsv(out, statistics_, names_);
            if (!out.flush()) throw OutputError("Cannot write " + temporary.string() + ".");
        });
    } catch (const OutputError& e) {
        return QString::fromStdString(e.what());
    }
    return {};
}

void StatisticsDialog::exportCsv() {
    if (statistics_.empty()) {
        QMessageBox::information(this, tr("Export statistics"), tr("There are no segments with voxels."));
        return;
    }
    QString path = QFileDialog::getSaveFileName(this, tr("Export statistics"), "statistics.csv",
                                                tr("CSV files (*.csv)"));
    if (path.isEmpty()) return;
    if (QFileInfo(path).suffix().isEmpty()) path += ".csv";
    if (const QString error = writeCsv(path); !error.isEmpty())
        QMessageBox::warning(this, tr("Export statistics"), error);
}

}  // namespace engram::ui
