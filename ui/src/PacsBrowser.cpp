#include <engram/ui/PacsBrowser.h>

#include <QComboBox>
#include <QDialogButtonBox>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QTableWidget>
#include <QVBoxLayout>
#include <QtConcurrent/QtConcurrentRun>

#include <algorithm>

#include <spdlog/spdlog.h>

namespace engram::ui {

namespace {

QTableWidget* table(const QStringList& headers, QWidget* parent) {
    auto* t = new QTableWidget(0, static_cast<int>(headers.size()), parent);
    t->setHorizontalHeaderLabels(headers);
    t->horizontalHeader()->setStretchLastSection(true);
    t->verticalHeader()->hide();
    return t;
}

void setRow(QTableWidget* t, int row, const QStringList& cells) {
    for (int c = 0; c < cells.size(); ++c) {
        auto* item = new QTableWidgetItem(cells[c]);
        item->setFlags(item->flags() & ~Qt::ItemIsEditable);
        t->setItem(row, c, item);
    }
}

QString q(const std::string& s) { return QString::fromStdString(s); }

}  // namespace

PacsNodesDialog::PacsNodesDialog(QWidget* parent) : QDialog(parent) {
    setWindowTitle(tr("DICOM Nodes"));
    auto* layout = new QVBoxLayout(this);
    table_ = table({tr("Name"), tr("AE title"), tr("Host"), tr("Port")}, this);
    layout->addWidget(table_);
    auto* rowButtons = new QHBoxLayout;
    auto* add = new QPushButton(tr("Add"), this);
    auto* remove = new QPushButton(tr("Remove"), this);
    check_ = new QPushButton(tr("Check (C-ECHO)"), this);
    rowButtons->addWidget(add);
    rowButtons->addWidget(remove);
    rowButtons->addWidget(check_);
    rowButtons->addStretch();
    layout->addLayout(rowButtons);
    auto* form = new QFormLayout;
    const PacsSettings current = PacsSettings::load();
    aeTitle_ = new QLineEdit(current.aeTitle, this);
    aeTitle_->setMaxLength(16);
    form->addRow(tr("Engram's AE title"), aeTitle_);
    layout->addLayout(form);
    status_ = new QLabel(tr("Series are retrieved with C-GET: Engram needs no port of its own."), this);
    status_->setWordWrap(true);
    layout->addWidget(status_);
    auto* buttons = new QDialogButtonBox(QDialogButtonBox::Ok | QDialogButtonBox::Cancel, this);
    layout->addWidget(buttons);
    for (const auto& n : current.nodes) addRow(n);
    connect(add, &QPushButton::clicked, this, [this] { addRow({tr("PACS"), {"PACS", "localhost", 104}}); });
    connect(remove, &QPushButton::clicked, this, [this] { table_->removeRow(table_->currentRow()); });
    connect(check_, &QPushButton::clicked, this, &PacsNodesDialog::check);
    connect(&echo_, &QFutureWatcher<QString>::finished, this, [this] {
        status_->setText(echo_.result());
        check_->setEnabled(true);
    });
    connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);
    connect(buttons, &QDialogButtonBox::accepted, this, [this] {
        try {
            settings().save();
            accept();
        } catch (const PacsError& e) {
            status_->setText(q(e.what()));
        }
    });
    resize(560, 360);
}

void PacsNodesDialog::addRow(const PacsSettings::Node& n) {
    const int row = table_->rowCount();
    table_->insertRow(row);
    const QStringList cells{n.name, q(n.node.aeTitle), q(n.node.host), QString::number(n.node.port)};
    for (int c = 0; c < cells.size(); ++c) table_->setItem(row, c, new QTableWidgetItem(cells[c]));
}

PacsSettings::Node PacsNodesDialog::row(int r) const {
    auto text = [&](int c) { return table_->item(r, c) ? table_->item(r, c)->text().trimmed() : QString(); };
    const std::string where = "Row " + std::to_string(r + 1);
    bool ok = false;
    PacsSettings::Node n{text(0), {text(1).toStdString(), text(2).toStdString(), text(3).toInt(&ok)}};
    if (n.name.isEmpty()) throw PacsError(where + " has no name.");
    if (!ok) throw PacsError(where + ": the port '" + text(3).toStdString() + "' is not a number.");
    checkNode(n.node);
    return n;
}

PacsSettings PacsNodesDialog::settings() const {
    PacsSettings s;
    s.aeTitle = aeTitle_->text().trimmed();
    checkNode({s.aeTitle.toStdString(), "localhost", 104});
    for (int r = 0; r < table_->rowCount(); ++r) {
        auto text = [&](int c) {
            return table_->item(r, c) ? table_->item(r, c)->text().trimmed() : QString();
        };
        bool ok = false;
        PacsSettings::Node n{text(0), {text(1).toStdString(), text(2).toStdString(), text(3).toInt(&ok)}};
        if (!ok) n.node.port = -1;
        if (n.name.isEmpty()) throw PacsError("Row " + std::to_string(r + 1) + " has no name.");
        checkNode(n.node);
        s.nodes.push_back(std::move(n));
    }
    return s;
}

void PacsNodesDialog::check() {
    if (table_->rowCount() == 0) {
        status_->setText(tr("Add a node first."));
        return;
    }
    PacsSettings::Node n;
    PacsOptions options;
    try {
        n = row(std::max(0, table_->currentRow()));
        checkAeTitle(aeTitle_->text().trimmed().toStdString());
        options.callingAeTitle = aeTitle_->text().trimmed().toStdString();
    } catch (const PacsError& e) {
        status_->setText(q(e.what()));
        return;
    }
    status_->setText(tr("Checking %1...").arg(q(n.node.describe())));
    check_->setEnabled(false);
    echo_.setFuture(QtConcurrent::run([node = n.node, options] {
        try {
            echo(node, options);
            return QObject::tr("%1 answers.").arg(q(node.describe()));
        } catch (const std::exception& e) {
            return q(e.what());
        }
    }));
}

PacsBrowser::PacsBrowser(QWidget* parent) : QDialog(parent), settings_(PacsSettings::load()) {
    setWindowTitle(tr("Open from PACS"));
    auto* layout = new QVBoxLayout(this);
    auto* form = new QFormLayout;
    nodes_ = new QComboBox(this);
    for (const auto& n : settings_.nodes) nodes_->addItem(n.name + "  (" + q(n.node.describe()) + ")");
    form->addRow(tr("Node"), nodes_);
    patientName_ = new QLineEdit(this);
    patientName_->setPlaceholderText(tr("e.g. DOE^* (wildcards * and ?)"));
    patientId_ = new QLineEdit(this);
    date_ = new QLineEdit(this);
    date_->setPlaceholderText(tr("YYYYMMDD or YYYYMMDD-YYYYMMDD"));
    modality_ = new QLineEdit(this);
    modality_->setPlaceholderText(tr("CT, MR, ..."));
    accession_ = new QLineEdit(this);
    form->addRow(tr("Patient name"), patientName_);
    form->addRow(tr("Patient ID"), patientId_);
    form->addRow(tr("Study date"), date_);
    form->addRow(tr("Modality"), modality_);
    form->addRow(tr("Accession"), accession_);
    layout->addLayout(form);
    search_ = new QPushButton(tr("Search"), this);
    search_->setDefault(true);
    layout->addWidget(search_);
    studies_ = table({tr("Patient"), tr("ID"), tr("Date"), tr("Modalities"), tr("Description"),
                      tr("Accession"), tr("Series")},
                     this);
    studies_->setSelectionBehavior(QAbstractItemView::SelectRows);
    studies_->setSelectionMode(QAbstractItemView::SingleSelection);
    layout->addWidget(studies_, 2);
    seriesTable_ = table({tr("#"), tr("Modality"), tr("Description"), tr("Images")}, this);
    seriesTable_->setSelectionBehavior(QAbstractItemView::SelectRows);
    seriesTable_->setSelectionMode(QAbstractItemView::SingleSelection);
    layout->addWidget(seriesTable_, 1);
    status_ = new QLabel(
        settings_.nodes.empty() ? tr("No DICOM node yet: add one in Settings > DICOM Nodes.") : QString(),
        this);
    status_->setWordWrap(true);
    layout->addWidget(status_);
    auto* buttons = new QDialogButtonBox(QDialogButtonBox::Cancel, this);
    retrieve_ = buttons->addButton(tr("Retrieve and Open"), QDialogButtonBox::AcceptRole);
    retrieve_->setEnabled(false);
    layout->addWidget(buttons);
    search_->setEnabled(!settings_.nodes.empty());
    connect(search_, &QPushButton::clicked, this, &PacsBrowser::search);
    connect(studies_, &QTableWidget::itemSelectionChanged, this, &PacsBrowser::listSeries);
    connect(seriesTable_, &QTableWidget::itemSelectionChanged, this,
            [this] { retrieve_->setEnabled(seriesTable_->currentRow() >= 0 && !query_.isRunning()); });
    connect(&query_, &QFutureWatcher<Answer>::finished, this, &PacsBrowser::showAnswer);
    connect(nodes_, &QComboBox::currentIndexChanged, this, [this] {  // another node's studies are others
        studyRows_.clear();
        seriesRows_.clear();
        studies_->setRowCount(0);
        seriesTable_->setRowCount(0);
        retrieve_->setEnabled(false);
    });
    connect(buttons, &QDialogButtonBox::accepted, this, &QDialog::accept);
    connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);
    resize(820, 620);
}

std::optional<DicomNode> PacsBrowser::node() const {
    const int i = nodes_->currentIndex();
    if (i < 0 || i >= static_cast<int>(settings_.nodes.size())) return std::nullopt;
    return settings_.nodes[static_cast<std::size_t>(i)].node;
}

void PacsBrowser::search() {
    const auto n = node();
    if (!n || query_.isRunning()) return;
    StudyQuery query{patientName_->text().trimmed().toStdString(), patientId_->text().trimmed().toStdString(),
                     date_->text().trimmed().toStdString(), modality_->text().trimmed().toStdString(),
                     accession_->text().trimmed().toStdString()};
    status_->setText(tr("Searching %1...").arg(q(n->describe())));
    search_->setEnabled(false);
    query_.setFuture(QtConcurrent::run([node = *n, query, options = settings_.options()] {
        Answer a;
        try {
            a.studies = findStudies(node, query, options);
        } catch (const std::exception& e) {
            a.error = q(e.what());
        }
        return a;
    }));
}

void PacsBrowser::listSeries() {
    const int row = studies_->currentRow();
    const auto n = node();
    if (row < 0 || row >= static_cast<int>(studyRows_.size()) || !n) return;
    if (query_.isRunning()) {  // listed when the running query ends
        seriesWanted_ = true;
        return;
    }
    seriesWanted_ = false;
    seriesTable_->setRowCount(0);
    seriesRows_.clear();
    retrieve_->setEnabled(false);
    status_->setText(tr("Listing the series..."));
    query_.setFuture(
        QtConcurrent::run([node = *n, study = studyRows_[static_cast<std::size_t>(row)].studyInstanceUid,
                           options = settings_.options()] {
            Answer a;
            a.seriesLevel = true;
            try {
                a.series = findSeries(node, study, options);
            } catch (const PacsError& e) {
                a.error = q(e.what());
            }
            return a;
        }));
}

void PacsBrowser::showAnswer() {
    Answer a = query_.result();
    search_->setEnabled(true);
    if (seriesWanted_) {  // another study was chosen meanwhile: this answer is not its series
        listSeries();
        return;
    }
    if (!a.error.isEmpty()) {
        status_->setText(a.error);
        spdlog::warn("PACS query: {}", a.error.toStdString());
        return;
    }
    if (!a.seriesLevel) {
        studyRows_ = std::move(a.studies);
        seriesRows_.clear();
        seriesTable_->setRowCount(0);
        studies_->setRowCount(static_cast<int>(studyRows_.size()));
        for (int r = 0; r < static_cast<int>(studyRows_.size()); ++r) {
            const auto& s = studyRows_[static_cast<std::size_t>(r)];
            setRow(studies_, r,
                   {q(s.patientName), q(s.patientId), q(s.studyDate), q(s.modalities), q(s.studyDescription),
                    q(s.accessionNumber), QString::number(s.series)});
        }
        status_->setText(tr("%1 studies").arg(studyRows_.size()));
        return;
    }
    const int row = studies_->currentRow();
    if (row < 0 || row >= static_cast<int>(studyRows_.size()) ||
        studyRows_[static_cast<std::size_t>(row)].studyInstanceUid != a.study)
        return;  // the study is no longer the chosen one
    seriesRows_ = std::move(a.series);
    seriesTable_->setRowCount(static_cast<int>(seriesRows_.size()));
    for (int r = 0; r < static_cast<int>(seriesRows_.size()); ++r) {
        const auto& s = seriesRows_[static_cast<std::size_t>(r)];
        setRow(seriesTable_, r,
               {q(s.seriesNumber), q(s.modality), q(s.seriesDescription), QString::number(s.instances)});
    }
    status_->setText(seriesRows_.empty() ? tr("The study holds no series.")
                                         : tr("%1 series").arg(seriesRows_.size()));
}

std::optional<PacsBrowser::Choice> PacsBrowser::choice() const {
    const int study = studies_->currentRow(), series = seriesTable_->currentRow();
    const auto n = node();
    if (!n || study < 0 || series < 0 || study >= static_cast<int>(studyRows_.size()) ||
        series >= static_cast<int>(seriesRows_.size()))
        return std::nullopt;
    return Choice{*n, q(studyRows_[static_cast<std::size_t>(study)].studyInstanceUid),
                  q(seriesRows_[static_cast<std::size_t>(series)].seriesInstanceUid)};
}

}  // namespace engram::ui
