#pragma once
// Loads volumes and scans DICOM folders on a pool thread, so the GUI thread never waits on disk or decoding.
// Signals are emitted on the thread that owns the loader (the GUI thread). One job at a time: starting a new
// one cancels the previous job, whose result is then dropped. The destructor cancels and waits.

#include <engram/annotation/DicomSeries.h>
#include <engram/annotation/Progress.h>
#include <engram/annotation/Volume.h>

#include <QFuture>
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
    template <typename Job>
    void start(Job job);

    QFuture<void> future_;
    ProgressReporter reporter_;
    quint64 generation_ = 0;
};

}  // namespace engram
