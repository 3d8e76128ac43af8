#include <engram/annotation/FineTuner.h>

#include <engram/annotation/TrainingData.h>

#include <spdlog/spdlog.h>

namespace engram {

FineTuner::FineTuner(QObject* parent) : QObject(parent) {}

FineTuner::~FineTuner() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
}

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
    stop_ = false;
    request.options.stop = [this] { return stop_.load(); };
    thread_ = std::thread([this, r = std::move(request)]() mutable {
        bool ok = false;
        QString message;
        try {
            std::vector<model::LabelledVolume> data;
            if (r.volume) data.push_back(labelledVolumeOf(*r.volume, r.labels, "the open volume"));
            for (const auto& s : r.sessions) {
                if (stop_) throw model::TrainingStopped("stopped while reading the sessions");
                data.push_back(loadSessionForTraining(s));
            }
            spdlog::info("fine-tuning {} on {} volumes", r.options.initialWeights, data.size());
            const auto summary = model::trainMais(data, r.options, [this](const model::TrainProgress& p) {
                QMetaObject::invokeMethod(
                    this,
                    [this, p] { Q_EMIT epochFinished(p.epoch, p.epochs, p.loss, p.dice, p.etaSeconds); },
                    Qt::QueuedConnection);
            });
            ok = true;
            message = tr("Fine-tuned on %1 targets, %2 epochs (training Dice %3 in the last, model of epoch "
                         "%4); wrote %5.")
                          .arg(summary.targets)
                          .arg(summary.epochs)
                          .arg(summary.lastDice, 0, 'f', 3)
                          .arg(summary.keptEpoch)
                          .arg(QString::fromStdString(r.options.output));
        } catch (const model::TrainingStopped&) {
            message = tr("Fine-tuning stopped; the model in use is unchanged.");
        } catch (const std::exception& e) {  // unreadable sessions, unusable data or weights: reported
            message = tr("Fine-tuning failed: %1").arg(QString::fromStdString(e.what()));
        }
        QMetaObject::invokeMethod(
            this,
            [this, ok, message, model = QString::fromStdString(r.options.output)] {
                finish(ok, message, model);
            },
            Qt::QueuedConnection);
    });
    return true;
}

void FineTuner::stop() { stop_ = true; }

void FineTuner::finish(bool ok, const QString& message, const QString& model) {
    if (thread_.joinable()) thread_.join();  // the job has ended: this only reaps the thread
    if (ok)
        spdlog::info("{}", message.toStdString());
    else
        spdlog::warn("{}", message.toStdString());
    Q_EMIT finished(ok, message, model);
}

}  // namespace engram
