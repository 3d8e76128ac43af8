// engram: the desktop application.
//   engram [path]                      open a volume file, DICOM folder or session (.engram)
//   engram --demo                      open the demo volume (ENGRAM_DEMO_VOLUME) with the default model
//   engram ... --script a.json [--screenshot out.png]
//                                      run actions in the real window, save a screenshot, exit with a status:
//                                      0 success, 1 a step failed, 2 bad arguments or script, 3 demo missing
#include <engram/ui/MainWindow.h>
#include <engram/ui/ScriptFile.h>
#include <engram/ui/ScriptRunner.h>

#include <QApplication>
#include <QCommandLineParser>
#include <QFileInfo>
#include <QTimer>

#include <spdlog/spdlog.h>

#include <memory>

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
    const QCommandLineOption demo("demo", "Open the bundled demo volume.");
    const QCommandLineOption model("model", "AI model file (safetensors) instead of the configured one.",
                                   "file");
    const QCommandLineOption propagationModel(
        "propagation-model", "SAM 2 model file for slice propagation instead of the configured one.", "file");
    const QCommandLineOption device("device", "cpu or cuda, instead of the configured device.", "name");
    const QCommandLineOption script("script", "Run the actions in a JSON script, then exit with its status.",
                                    "file");
    const QCommandLineOption screenshot("screenshot",
                                        "With --script: save a screenshot of the window at the end.", "png");
    const QCommandLineOption restore("restore-recovery",
                                     "Restore autosaved work from a crash without asking.");
    const QCommandLineOption discard("discard-recovery",
                                     "Delete autosaved work from a crash without asking.");
    const QCommandLineOption recoveryDir("recovery-dir", "Folder for autosave recovery files.", "folder");
    const QCommandLineOption quitAfter("quit-after-load", "Exit once the volume is loaded (smoke tests).");
    const QCommandLineOption labels(
        "labels", "A segmentation (DICOM-SEG or label file) to open onto the volume.", "file");
    for (const auto& o : {demo, model, propagationModel, device, script, screenshot, restore, discard,
                          recoveryDir, quitAfter, labels})
        parser.addOption(o);
    parser.addPositionalArgument("path", "Volume file, DICOM folder or Engram session to open.");
    parser.process(app);

    QString path = parser.positionalArguments().value(0);
    if (parser.isSet(demo)) {
        // An installed app has its demo beside it; a build tree uses the one configured at build time.
        const QString installed =
            QCoreApplication::applicationDirPath() + "/../share/engram/demo/demo.nii.gz";
        path = qEnvironmentVariable("ENGRAM_DEMO_VOLUME",
                                    QFileInfo::exists(installed) ? installed : QString(ENGRAM_DEMO_VOLUME));
        if (!QFileInfo::exists(path)) {
            spdlog::error("demo volume not found: {} (set ENGRAM_DEMO_VOLUME)", path.toStdString());
            return 3;
        }
    }
    QJsonArray actions;
    if (parser.isSet(script)) {
        try {
            actions = engram::ui::readScriptFile(parser.value(script));
        } catch (const std::runtime_error& e) {
            spdlog::error("{}", e.what());
            return 2;
        }
    }

    engram::ui::MainWindowOptions options;
    options.interactive = !parser.isSet(script) && !parser.isSet(quitAfter);
    options.workspace.modelPath = parser.value(model);
    options.workspace.propagationModelPath = parser.value(propagationModel);
    options.workspace.device = parser.value(device);
    options.workspace.recoveryDirectory = parser.value(recoveryDir).toStdString();
    engram::ui::MainWindow window(options);
    window.show();

    std::optional<bool> recover;
    if (parser.isSet(restore)) recover = true;
    if (parser.isSet(discard)) recover = false;
    // A crash's work comes first; otherwise the path from the command line.
    QTimer::singleShot(0, &window, [&] {
        if (!window.checkRecovery(recover) && !path.isEmpty()) {
            if (path.endsWith(".engram"))
                window.workspace().openSession(path);
            else
                window.workspace().open(path);
        }
    });
    if (parser.isSet(labels)) {  // onto the first volume opened (before --quit-after-load quits)
        auto once = std::make_shared<QMetaObject::Connection>();
        *once = QObject::connect(&window.workspace(), &engram::ui::Workspace::volumeChanged, &window,
                                 [&window, once, file = parser.value(labels)] {
                                     QObject::disconnect(*once);
                                     window.openSegmentation(file);
                                 });
    }
    if (parser.isSet(quitAfter)) {
        QObject::connect(&window.workspace(), &engram::ui::Workspace::volumeChanged, &app,
                         &QApplication::quit);
        QObject::connect(&window.workspace(), &engram::ui::Workspace::loadFailed, &app,
                         [] { QApplication::exit(1); });
    }

    std::unique_ptr<engram::ui::ScriptRunner> runner;
    if (parser.isSet(script)) {
        runner = std::make_unique<engram::ui::ScriptRunner>(window, actions);
        QObject::connect(
            runner.get(), &engram::ui::ScriptRunner::finished, &app, [&](int status, const QString& message) {
                if (parser.isSet(screenshot) && !window.grab().save(parser.value(screenshot))) {
                    spdlog::error("cannot write the screenshot {}", parser.value(screenshot).toStdString());
                    status = status ? status : 1;
                }
                if (status)
                    spdlog::error("script failed: {}", message.toStdString());
                else
                    spdlog::info("script finished");
                window.close();
                QApplication::exit(status);
            });
        // The script starts once the start-up work (recovery, the path) has begun and the window is idle.
        QTimer::singleShot(50, runner.get(), [&] {
            auto* wait = new QTimer(runner.get());
            QObject::connect(wait, &QTimer::timeout, runner.get(), [&, wait] {
                if (!window.isIdle()) return;
                wait->stop();
                runner->start();
            });
            wait->start(20);
        });
    }
    return app.exec();
}
