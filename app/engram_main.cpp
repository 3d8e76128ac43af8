// engram: the desktop application. `engram [path]` opens a volume file or DICOM folder; `engram --demo`
// opens the demo volume configured at build time (ENGRAM_DEMO_VOLUME).
#include <engram/ui/MainWindow.h>

#include <QApplication>
#include <QCommandLineParser>
#include <QFileInfo>

#include <spdlog/spdlog.h>

#ifndef ENGRAM_DEMO_VOLUME
#define ENGRAM_DEMO_VOLUME ""
#endif

int main(int argc, char** argv) {
    QApplication app(argc, argv);
    QApplication::setApplicationName("Engram");
    QApplication::setOrganizationName("Engram");
    QApplication::setApplicationVersion(ENGRAM_VERSION);

    QCommandLineParser parser;
    parser.setApplicationDescription("Engram: 3D annotation of CT and MR volumes with AI that remembers.");
    parser.addHelpOption();
    parser.addVersionOption();
    QCommandLineOption demo("demo", "Open the bundled demo volume.");
    QCommandLineOption quitAfter("quit-after-load", "Exit once the volume is loaded (smoke tests).");
    parser.addOption(demo);
    parser.addOption(quitAfter);
    parser.addPositionalArgument("path", "Volume file or DICOM folder to open.");
    parser.process(app);

    QString path = parser.positionalArguments().value(0);
    if (parser.isSet(demo)) {
        path = qEnvironmentVariable("ENGRAM_DEMO_VOLUME", ENGRAM_DEMO_VOLUME);
        if (!QFileInfo::exists(path)) {
            spdlog::error("demo volume not found: {} (set ENGRAM_DEMO_VOLUME)", path.toStdString());
            return 3;
        }
    }
    engram::ui::MainWindow window;
    window.show();
    if (!path.isEmpty()) window.open(path);
    if (parser.isSet(quitAfter))
        QObject::connect(&window, &engram::ui::MainWindow::volumeChanged, &app, &QApplication::quit);
    return app.exec();
}
