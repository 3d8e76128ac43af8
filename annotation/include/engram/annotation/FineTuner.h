#pragma once
// Fine-tuning the AI model from inside the app on the user's own finished volumes: the open document and
// saved sessions become training volumes (every label value a target) and the model's trainer runs on a
// thread of its own (a BackgroundJob), from the model in use, with its image encoder frozen (as
// `engram-cli train --init`). Each finished epoch is reported; stop() ends the run before its next sample.
// Call from the GUI thread; the signals arrive there.

#include <engram/annotation/BackgroundJob.h>
#include <engram/annotation/LabelMap.h>
#include <engram/annotation/Volume.h>
#include <engram/model/training/Training.h>

#include <QObject>
#include <QString>

#include <filesystem>
#include <memory>
#include <vector>

namespace engram {

class FineTuner : public QObject {
    Q_OBJECT
  public:
    struct Request {
        std::shared_ptr<const Volume> volume;  // the open document, or null to leave it out
        LabelMap labels;                       // its labels (a copy: editing goes on meanwhile)
        std::vector<std::filesystem::path>
            sessions;                 // saved sessions of finished volumes, read on the thread
        model::TrainOptions options;  // initialWeights and output are required
    };

    explicit FineTuner(QObject* parent = nullptr);
    ~FineTuner() override;  // stops a running job and waits for it

    // Starts the job; false, with the reason in `why`, when one is running or the request lacks the model
    // to start from, the output file or any volume.
    bool start(Request request, QString* why = nullptr);
    void stop();
    bool running() const { return job_.isBusy(); }

  Q_SIGNALS:
    void epochFinished(int epoch, int epochs, double loss, double dice, double etaSeconds);
    // The model file `model` is written (ok), or the run failed or was stopped (the message says which and
    // why).
    void finished(bool ok, const QString& message, const QString& model);

  private:
    // Runs on the job's thread: reads the data, trains, and returns the message of a finished run.
    QString run(const Request& request, const BackgroundJob::Post& post);
    // A clicknet model file (the default model) is fine-tuned by its own trainer (ClickNetTraining.h).
    QString fineTuneClickNet(const std::vector<model::LabelledVolume>& data,
                             const model::TrainOptions& request, const BackgroundJob::Post& post);
    BackgroundJob job_;
};

}  // namespace engram
