#include <engram/ui/MainWindow.h>

#include <QAction>
#include <QFileDialog>
#include <QLabel>
#include <QMenuBar>
#include <QMessageBox>
#include <QProgressBar>
#include <QPushButton>
#include <QStatusBar>

#include <spdlog/spdlog.h>

namespace engram::ui {

MainWindow::MainWindow(QWidget* parent) : QMainWindow(parent) {
    setWindowTitle("Engram");
    resize(1280, 800);
    summary_ = new QLabel(tr("Open a volume (File > Open) or a DICOM folder."), this);
    summary_->setAlignment(Qt::AlignCenter);
    summary_->setTextInteractionFlags(Qt::TextSelectableByMouse);
    setCentralWidget(summary_);

    progress_ = new QProgressBar(this);
    progress_->setRange(0, 1000);
    cancel_ = new QPushButton(tr("Cancel"), this);
    statusBar()->addPermanentWidget(progress_);
    statusBar()->addPermanentWidget(cancel_);
    setBusy(false);

    QMenu* file = menuBar()->addMenu(tr("&File"));
    QAction* openFile = file->addAction(tr("&Open Volume..."));
    openFile->setShortcut(QKeySequence::Open);
    connect(openFile, &QAction::triggered, this, [this] {
        const QString p = QFileDialog::getOpenFileName(
            this, tr("Open volume"), {},
            tr("Volumes (*.nii *.nii.gz *.nrrd *.nhdr *.mha *.mhd *.mgh *.mgz)"));
        if (!p.isEmpty()) open(p);
    });
    QAction* openDicom = file->addAction(tr("Open &DICOM Folder..."));
    connect(openDicom, &QAction::triggered, this, [this] {
        const QString p = QFileDialog::getExistingDirectory(this, tr("Open DICOM folder"));
        if (!p.isEmpty()) open(p);
    });
    file->addSeparator();
    QAction* quit = file->addAction(tr("&Quit"));
    quit->setShortcut(QKeySequence::Quit);
    connect(quit, &QAction::triggered, this, &QWidget::close);

    connect(cancel_, &QPushButton::clicked, &loader_, &AsyncVolumeLoader::cancel);
    connect(&loader_, &AsyncVolumeLoader::progress, this, [this](double f, const QString& stage) {
        progress_->setValue(static_cast<int>(f * 1000));
        statusBar()->showMessage(stage);
    });
    connect(&loader_, &AsyncVolumeLoader::volumeLoaded, this, &MainWindow::showVolume);
    connect(&loader_, &AsyncVolumeLoader::failed, this, &MainWindow::showError);
    connect(&loader_, &AsyncVolumeLoader::cancelled, this, [this] {
        setBusy(false);
        statusBar()->showMessage(tr("Loading cancelled"), 5000);
    });
}

void MainWindow::open(const QString& path) {
    pendingPath_ = path;
    setBusy(true);
    loader_.loadPath(path);
}

void MainWindow::showVolume(std::shared_ptr<Volume> volume) {
    setBusy(false);
    volume_ = std::move(volume);
    const auto& m = volume_->metadata();
    QString text = QString("<b>%1</b><br>%2<br>%3")
                       .arg(QString::fromStdString(m.description).toHtmlEscaped(),
                            QString::fromStdString(volume_->geometry().describe()).toHtmlEscaped(),
                            QString::fromStdString(m.modality + " " + m.sourcePixelType).toHtmlEscaped());
    for (const auto& w : m.warnings) text += "<br><i>" + QString::fromStdString(w).toHtmlEscaped() + "</i>";
    summary_->setText(text);
    setWindowTitle("Engram - " + QString::fromStdString(m.description));
    statusBar()->showMessage(tr("Loaded %1").arg(pendingPath_), 5000);
    Q_EMIT volumeChanged();
}

void MainWindow::showError(const QString& message) {
    setBusy(false);
    spdlog::error("{}", message.toStdString());
    QMessageBox::critical(this, tr("Cannot open"), message);
}

void MainWindow::setBusy(bool busy) {
    progress_->setVisible(busy);
    cancel_->setVisible(busy);
    if (busy) progress_->setValue(0);
}

}  // namespace engram::ui
