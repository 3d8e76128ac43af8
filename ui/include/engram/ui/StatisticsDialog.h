#pragma once
// Segment statistics of the open document (annotation/SegmentStatistics.h), in a non-modal dialog: one row
// per label value that has voxels, with its label, colour swatch and name (from the segment list; "Segment N"
// for a value without a segment), voxels, volume in mL, mean / standard deviation / minimum / maximum of the
// image over the segment (HU on CT) and bounding box in voxel indices (inclusive). Click a column header to
// sort by it (numbers sort as numbers).
//
// The numbers are computed on construction and on refresh() (the Refresh button), not on every edit. The
// dialog keeps references to the volume, labels and segments it was given: they must outlive it, or be
// replaced by a new dialog before refresh() runs again (close it when another volume is opened).
// "Export CSV..." asks for a file and writes the shown statistics with writeStatisticsCsv through
// writeFileAtomically, so a failed export leaves no broken file. Errors are shown in plain words in a
// message box (for refresh(), only while the dialog is visible; the status line shows them always).

#include <engram/annotation/LabelMap.h>
#include <engram/annotation/Segment.h>
#include <engram/annotation/SegmentStatistics.h>
#include <engram/annotation/Volume.h>

#include <QDialog>
#include <QString>

#include <map>
#include <string>
#include <vector>

class QLabel;
class QTableWidget;

namespace engram::ui {

class StatisticsDialog : public QDialog {
    Q_OBJECT
  public:
    StatisticsDialog(const Volume& volume, const LabelMap& labels, const SegmentList& segments,
                     QWidget* parent = nullptr);

    // Recomputes the statistics from the current labels and segment names and colours, and refills the
    // table (keeping the sort order). Returns false, with the table empty and the reason shown, when the
    // image and the labels are not on the same grid.
    bool refresh();
    // The statistics shown, ascending by label value (whatever the table's sort order).
    const std::vector<SegmentStatistics>& statistics() const { return statistics_; }
    // Writes the shown statistics as CSV to `path` (atomically), without asking. Returns an empty string on
    // success, else the reason in plain words.
    QString writeCsv(const QString& path) const;

  private:
    void fillTable();
    void exportCsv();

    const Volume& volume_;
    const LabelMap& labels_;
    const SegmentList& segments_;
    std::vector<SegmentStatistics> statistics_;
    std::map<int, std::string> names_;  // label value -> segment name, for the table and the CSV
    QTableWidget* table_;
    QLabel* status_;
};

}  // namespace engram::ui
