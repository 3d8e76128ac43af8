#pragma once
// Engram's main window. Opens volume files and DICOM folders through AsyncVolumeLoader (the GUI thread
// never waits), shows load progress with a cancel button, and reports errors in dialogs naming the file.

#include <engram/annotation/AsyncVolumeLoader.h>
#include <engram/annotation/Volume.h>

#include <QMainWindow>

#include <memory>

class QLabel;
class QProgressBar;
class QPushButton;

namespace engram::ui {

class MainWindow : public QMainWindow {
    Q_OBJECT
  public:
    explicit MainWindow(QWidget* parent = nullptr);

    // Starts loading a file or DICOM folder in the background.
    void open(const QString& path);
    const Volume* volume() const { return volume_.get(); }

  Q_SIGNALS:
    void volumeChanged();

  private:
    void showVolume(std::shared_ptr<Volume> volume);
    void showError(const QString& message);
    void setBusy(bool busy);

    AsyncVolumeLoader loader_;
    std::shared_ptr<Volume> volume_;
    QLabel* summary_ = nullptr;
    QProgressBar* progress_ = nullptr;
    QPushButton* cancel_ = nullptr;
    QString pendingPath_;
};

}  // namespace engram::ui
