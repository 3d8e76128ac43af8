#pragma once
// The app's side of DICOM networking (annotation/Pacs.h does the protocol; the node list is in
// AppSettings.h): the dialog that edits the nodes (with a C-ECHO check per node), and File > Open from PACS,
// which queries studies and their series in the background and returns the series to retrieve. Nothing here
// blocks the GUI thread: every association runs on a pool thread and reports back through a QFutureWatcher
// (the work holds copies only, so a dialog closed meanwhile leaves it to finish on its own).

#include <engram/annotation/Pacs.h>
#include <engram/ui/AppSettings.h>

#include <QDialog>
#include <QFutureWatcher>
#include <QString>

#include <optional>
#include <vector>

class QComboBox;
class QLabel;
class QLineEdit;
class QPushButton;
class QTableWidget;

namespace engram::ui {

// Settings > DICOM Nodes: a table of name, AE title, host and port, Engram's AE title, and Check (C-ECHO).
class PacsNodesDialog : public QDialog {
    Q_OBJECT
  public:
    explicit PacsNodesDialog(QWidget* parent = nullptr);
    // The table as settings; throws PacsError naming the first row that cannot work.
    PacsSettings settings() const;

  private:
    void addRow(const PacsSettings::Node& node);
    PacsSettings::Node row(int r) const;  // throws PacsError naming the row
    void check();
    QTableWidget* table_;
    QLineEdit* aeTitle_;
    QLabel* status_;
    QPushButton* check_;
    QFutureWatcher<QString> echo_;
};

// File > Open from PACS: choose a node, query studies (patient name, ID, date, modality, accession), pick one
// and one of its series; accepted with Retrieve and Open.
class PacsBrowser : public QDialog {
    Q_OBJECT
  public:
    explicit PacsBrowser(QWidget* parent = nullptr);
    struct Choice {
        DicomNode node;
        QString study, series;
    };
    std::optional<Choice> choice() const;

  private:
    struct Answer {  // one query's result, or why it failed
        std::vector<StudyRecord> studies;
        std::vector<SeriesRecord> series;
        bool seriesLevel = false;  // a series list (else a study search)
        std::string study;         // whose series
        QString error;
    };
    void search();
    void listSeries();
    void showAnswer();
    std::optional<DicomNode> node() const;

    PacsSettings settings_;
    QComboBox* nodes_;
    QLineEdit *patientName_, *patientId_, *date_, *modality_, *accession_;
    QTableWidget *studies_, *seriesTable_;
    QPushButton *search_, *retrieve_;
    QLabel* status_;
    QFutureWatcher<Answer> query_;
    std::vector<StudyRecord> studyRows_;
    std::vector<SeriesRecord> seriesRows_;
    bool seriesWanted_ = false;  // a study was chosen while a query ran
};

}  // namespace engram::ui
