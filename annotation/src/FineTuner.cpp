#include <engram/annotation/FineTuner.h>

#include <engram/annotation/TrainingData.h>
#include <engram/model/training/ClickNetTraining.h>

#include <spdlog/spdlog.h>

namespace engram {

FineTuner::FineTuner(QObject* parent) : QObject(parent) {}

FineTuner::~FineTuner() = default;  // the job stops and is waited for

bool FineTuner::start(Request request, QString* why) {
    auto refuse = [&](const QString& reason) {
        if (why) *why = reason;
        return false;
    };
    if (running()) return refuse(tr("A fine-tuning run is already going on."));
    if (request.options.initialWeights.empty()) return refuse(tr("No AI model is loaded to start from."));
    if (request.options.output.empty()) return refuse(tr("No file was given for the fine-tuned model."));
    if (!request.volume && request.sessions.empty())
        return refuse(tr("Choose at least one finished volume."));
    const QString model = QString::fromStdString(request.options.output);
    job_.start(
        [this, r = std::move(request)](const ProgressReporter& progress,
                                       const BackgroundJob::Post& post) mutable {
            r.options.stop = [progress] { return progress.isCancelled(); };
            try {
                return run(r, post);
            } catch (const model::TrainingStopped&) {
                throw Cancelled();
            }
        },
        [this, model](JobOutcome<QString> o) {
            const bool ok = o.result.has_value();
            const QString message =
                ok ? *o.result
                : o.cancelled
                    ? tr("Fine-tuning stopped; the model in use is unchanged.")
                    : tr("Fine-tuning failed: %1").arg(o.error);  // unreadable sessions, data, weights
            if (ok)
                spdlog::info("{}", message.toStdString());
            else
                spdlog::warn("{}", message.toStdString());
            Q_EMIT finished(ok, message, model);
        });
    return true;
}

QString FineTuner::run(const Request& r, const BackgroundJob::Post& post) {
    std::vector<model::LabelledVolume> data;
    if (r.volume) data.push_back(labelledVolumeOf(*r.volume, r.labels, "the open volume"));
    for (const auto& s : r.sessions) {
        if (r.options.stop()) throw Cancelled();
        data.push_back(loadSessionForTraining(s));
    }
    spdlog::info("fine-tuning {} on {} volumes", r.options.initialWeights, data.size());
    if (model::isClickNetFile(r.options.initialWeights)) return fineTuneClickNet(data, r.options, post);
    const auto summary = model::trainMais(data, r.options, [this, post](const model::TrainProgress& p) {
        post([this, p] { Q_EMIT epochFinished(p.epoch, p.epochs, p.loss, p.dice, p.etaSeconds); });
    });
    return tr("Fine-tuned on %1 targets, %2 epochs (training Dice %3 in the last, model of epoch %4); wrote "
              "%5.")
        .arg(summary.targets)
        .arg(summary.epochs)
        .arg(summary.lastDice, 0, 'f', 3)
        .arg(summary.keptEpoch)
        .arg(QString::fromStdString(r.options.output));
}

// The default model's family: the same request as steps of two samples at a fine-tuning rate, reported
// per "epoch" of samples.
QString FineTuner::fineTuneClickNet(const std::vector<model::LabelledVolume>& data,
                                    const model::TrainOptions& request, const BackgroundJob::Post& post) {
    model::ClickNetTrainOptions o;
    o.initialWeights = request.initialWeights;
    o.output = request.output;
    o.checkpoint = request.checkpoint;
    o.seed = request.seed;
    o.device = request.device;
    o.stop = request.stop;
    o.lr = 2e-4;
    o.warmupSteps = 10;
    o.minTargetVoxels = request.minTargetVoxels;
    const int samples = request.samplesPerEpoch > 0 ? request.samplesPerEpoch : 20;
    const int perEpoch = std::max(1, samples / o.batch);
    const int epochs = std::max(1, request.epochs);
    o.steps = static_cast<long>(perEpoch) * epochs;
    o.reportEvery = o.checkpointEvery = perEpoch;
    const auto last =
        model::trainClickNet(data, o, [this, post, perEpoch, epochs](const model::ClickNetReport& r) {
            const int epoch = static_cast<int>(r.step / perEpoch);
            const double eta = r.secondsPerStep * double(r.steps - r.step);
            post([this, epoch, epochs, r, eta] { Q_EMIT epochFinished(epoch, epochs, r.loss, r.dice, eta); });
        });
    return tr("Fine-tuned on %1 targets, %2 steps (training Dice %3 at the end); wrote %4.")
        .arg(last.targets)
        .arg(last.step)
        .arg(last.dice, 0, 'f', 3)
        .arg(QString::fromStdString(o.output));
}

void FineTuner::stop() { job_.cancel(); }

}  // namespace engram
