#pragma once
// Loads volumes and scans DICOM folders on a thread of its own (a BackgroundJob), so the GUI thread never
// waits on disk or decoding. Signals are emitted on the thread that owns the loader (the GUI thread). One job
// at a time: starting a new one cancels the previous job, whose result is then dropped. The destructor
// cancels and waits.

#include <engram/annotation/BackgroundJob.h>
#include <engram/annotation/DicomSeries.h>
#include <engram/annotation/Volume.h>

#include <QObject>
#include <QString>

#include <memory>
#include <vector>

namespace engram {

class AsyncVolumeLoader : public QObject {
    Q_OBJECT
  public:
    explicit AsyncVolumeLoader(QObject* parent = nullptr);
    ~AsyncVolumeLoader() override;

    // A volume file, or a folder holding exactly one DICOM image series.
    void loadPath(const QString& path);
    void loadDicomSeries(const DicomSeriesInfo& series);
    void scanFolder(const QString& folder);
    void cancel();
    bool isBusy() const;
    // Blocks until the current job has finished (for tests and shutdown; never call from a GUI slot).
    void waitForFinished();

  Q_SIGNALS:
    void progress(double fraction, const QString& stage);
    void volumeLoaded(std::shared_ptr<engram::Volume> volume);
    void seriesFound(std::vector<engram::DicomSeriesInfo> series);
    void failed(const QString& message);
    void cancelled();

  private:
    // Emits failed or cancelled for an outcome without a result; true when it has one.
    template <typename Result>
    bool succeeded(const JobOutcome<Result>& outcome);

    BackgroundJob job_;
};

}  // namespace engram
