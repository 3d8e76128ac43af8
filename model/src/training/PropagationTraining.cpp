#include <engram/model/classical/ClassicalPropagation.h>
#include <engram/model/inference/SliceTracking.h>
#include <engram/model/metrics/MaskMetrics.h>
#include <engram/model/training/PropagationTraining.h>

#include "TrainingSupport.h"

#include <spdlog/spdlog.h>
#include <torch/nn/functional.h>
#include <torch/optim/adamw.h>
#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <fstream>
#include <iomanip>
#include <map>
#include <optional>
#include <random>
#include <sstream>

namespace engram::model {

namespace F = torch::nn::functional;

namespace {

Sam2Config architecture(const std::string& name) {
    if (name == "tiny") return Sam2Config{};  // sam2.1_hiera_t at 512 px
    if (name == "mini")
        return Sam2Config::fromJson(R"({"hiera_embed_dim": 32, "hiera_stages": [1, 1, 3, 1],
                                        "hiera_global_att_blocks": [3, 4], "memory_attention_layers": 2,
                                        "memory_attention_dim_feedforward": 512, "image_size": 128})");
    std::ifstream in(name);
    if (!in)
        throw std::invalid_argument("unknown propagator architecture '" + name +
                                    "' (mini, tiny, or a JSON file)");
    std::stringstream text;
    text << in.rdbuf();
    return Sam2Config::fromJson(text.str());
}

// A target: a label of a volume and the slices along the axis where it is present.
struct Target {
    int volume, label;
    std::vector<std::int64_t> slices;
};

std::vector<Target> findTargets(const std::vector<LabelledVolume>& data, int axis, int minVoxels) {
    if (axis < 0 || axis > 2) throw std::invalid_argument("the slice axis must be 0, 1 or 2");
    std::vector<Target> targets;
    for (int v = 0; v < int(data.size()); ++v) {
        const auto& d = data[std::size_t(v)];
        const auto labels = d.labelsToUse(minVoxels);
        // One pass over the labels: which slices each label value appears on.
        const auto& n = d.grid.size;
        std::vector<std::vector<bool>> onSlice(256, std::vector<bool>(std::size_t(n[std::size_t(axis)])));
        std::size_t o = 0;
        for (std::int64_t k = 0; k < n[2]; ++k)
            for (std::int64_t j = 0; j < n[1]; ++j)
                for (std::int64_t i = 0; i < n[0]; ++i, ++o)
                    onSlice[d.labels[o]][std::size_t(axis == 0 ? i : axis == 1 ? j : k)] = true;
        for (int label : labels) {
            Target t{v, label, {}};
            for (std::size_t s = 0; s < onSlice[std::size_t(label)].size(); ++s)
                if (onSlice[std::size_t(label)][s]) t.slices.push_back(std::int64_t(s));
            targets.push_back(std::move(t));
        }
    }
    if (targets.empty())
        throw std::invalid_argument("no target label has at least " + std::to_string(minVoxels) + " voxels");
    return targets;
}

torch::Tensor focalLoss(const torch::Tensor& logits, const torch::Tensor& target, double alpha = 0.25,
                        double gamma = 2) {
    const auto p = logits.sigmoid();
    const auto ce = F::binary_cross_entropy_with_logits(
        logits, target, F::BinaryCrossEntropyWithLogitsFuncOptions().reduction(torch::kNone));
    const auto pt = p * target + (1 - p) * (1 - target);
    const auto weight = alpha * target + (1 - alpha) * (1 - target);
    return (weight * ce * (1 - pt).pow(gamma)).mean();
}

}  // namespace

TrainSummary trainPropagator(const std::vector<LabelledVolume>& data, const PropagatorTrainOptions& o,
                             const std::function<void(const TrainProgress&)>& onEpoch) {
    training::requireImages(data, "train-propagator");
    if (o.output.empty()) throw std::invalid_argument("no output file given");
    if (o.epochs < 1 || o.sequenceLength < 2 || o.samplesPerEpoch < 0 || o.warmupSamples < 0)
        throw std::invalid_argument("epochs must be at least 1 and sequences at least 2 slices long");
    const auto targets = findTargets(data, o.axis, o.minTargetVoxels);
    const auto device = training::deviceFor(o.device);
    torch::manual_seed(o.seed);

    Sam2 net{nullptr};
    if (!o.initialWeights.empty()) {
        auto loaded = loadSam2(o.initialWeights);
        auto config = loaded->config;
        config.slm = config.slm || o.shortTermMemory;
        net = rebuildSam2(*loaded, config);  // an added short-term attention starts from its initialisation
    } else {
        auto config = architecture(o.architecture);
        config.slm = o.shortTermMemory;
        net = Sam2(config);
        torch::NoGradGuard noGrad;
        for (auto* t : {&net->maskmem_tpos_enc, &net->no_mem_embed, &net->no_mem_pos_enc, &net->no_obj_ptr,
                        &net->no_obj_embed_spatial, &net->image_encoder->trunk->pos_embed,
                        &net->image_encoder->trunk->pos_embed_window})
            t->normal_(0, 0.02);
    }
    net->to(device);
    net->train();
    const auto& c = net->config;
    const int S = c.imageSize;

    torch::optim::AdamW optimizer(net->parameters(),
                                  torch::optim::AdamWOptions(o.learningRate).weight_decay(o.weightDecay));
    auto setRate = [&](double scale) {
        for (auto& g : optimizer.param_groups())
            static_cast<torch::optim::AdamWOptions&>(g.options()).lr(o.learningRate * scale);
    };

    std::vector<std::pair<double, double>> windows;
    for (const auto& d : data) windows.push_back(percentileWindow({d.grid.size, d.image.data()}));
    std::vector<int> targetVolume;
    for (const auto& t : targets) targetVolume.push_back(t.volume);
    const training::VolumeThenTarget sampler(targetVolume);
    const int samplesPerEpoch = o.samplesPerEpoch > 0 ? o.samplesPerEpoch : 4 * int(targets.size());
    spdlog::info(
        "propagator training: {} targets in {} volumes, {} sequences of {} slices per epoch, {} px, "
        "short-term memory {}",
        targets.size(), data.size(), samplesPerEpoch, o.sequenceLength, S, c.slm ? "on" : "off");

    TrainSummary summary;
    summary.targets = int(targets.size());
    summary.device = device.str();
    const auto start = std::chrono::steady_clock::now();
    for (int epoch = 0; epoch < o.epochs; ++epoch) {
        const auto epochStart = std::chrono::steady_clock::now();
        std::mt19937 rng(o.seed * 1000003u + unsigned(epoch));
        double lossSum = 0, diceSum = 0;
        int diceCount = 0, used = 0;
        for (int sample = 0; sample < samplesPerEpoch; ++sample) {
            const auto& target = targets[std::size_t(sampler.pick(rng))];
            const int v = target.volume;
            const auto& d = data[std::size_t(v)];
            const auto plane = SlicePlane::of(d.grid.size, o.axis);
            const auto slices = d.grid.size[std::size_t(o.axis)];
            const auto first =
                target.slices[std::uniform_int_distribution<std::size_t>(0, target.slices.size() - 1)(rng)];
            const int dir = std::bernoulli_distribution(0.5)(rng) ? 1 : -1;
            const VolumeView view{d.grid.size, d.image.data(), d.grid.spacing};
            const auto [lo, hi] = windows[std::size_t(v)];

            const long step = long(epoch) * samplesPerEpoch + sample;
            setRate(training::warmupScale(step, o.warmupSamples));

            const auto promptTruth = plane.maskOf(d.labels.data(), d.grid.size, first, target.label);
            std::map<std::int64_t, SliceMemory> prompts, recent;
            const auto promptFrame = encodeFrame(*net, sliceImage(view, plane, first, lo, hi, S, device));
            prompts[first] =
                promptMemory(*net, promptFrame, sliceMask(promptTruth.data(), plane, S, device), first);
            torch::Tensor loss = torch::zeros({}, torch::TensorOptions().device(device));
            int tracked = 0;
            for (int k = 1; k < o.sequenceLength; ++k) {
                const std::int64_t t = first + dir * k;
                if (t < 0 || t >= slices) break;
                const auto frame = encodeFrame(*net, sliceImage(view, plane, t, lo, hi, S, device));
                const auto truthBytes = plane.maskOf(d.labels.data(), d.grid.size, t, target.label);
                const auto truth = sliceMask(truthBytes.data(), plane, S, device);
                const bool present = truth.sum().item<float>() > 0;
                auto step_ =
                    trackSlice(*net, frame, t, dir, prompts, chooseRecent(recent, t, dir, c.numMaskmem),
                               recent, c.slm ? 1 : 0, std::min(o.sequenceLength, c.maxObjPtrsInEncoder));
                const auto& h = step_.heads;
                // The object score against presence.
                loss =
                    loss + o.objectWeight * F::binary_cross_entropy_with_logits(
                                                h.objectScoreLogits,
                                                torch::full_like(h.objectScoreLogits, present ? 1.f : 0.f));
                if (present) {
                    // Mask losses on the best of the three masks, on the decoder's own logits: SAM 2 (which
                    // starts from trained weights) takes them after the no-object replacement, but from
                    // scratch an object score that turns negative early would then cut every mask gradient
                    // and the network would learn "always absent".
                    const auto masks = resize(h.decoderMultimasks, S, S);
                    torch::Tensor best;
                    int bestIndex = 0;
                    for (int m = 0; m < masks.size(1); ++m) {
                        const auto logits = masks.narrow(1, m, 1);
                        const auto l = o.focalWeight * focalLoss(logits, truth) +
                                       o.diceWeight * training::diceLoss(logits, truth);
                        if (!best.defined() || l.item<float>() < best.item<float>()) {
                            best = l;
                            bestIndex = m;
                        }
                    }
                    const auto predicted = masks.narrow(1, bestIndex, 1).detach().gt(0).to(torch::kFloat32);
                    const auto inter = (predicted * truth).sum(),
                               uni = ((predicted + truth) > 0).sum().to(torch::kFloat32);
                    const auto actualIou = inter / uni.clamp_min(1);
                    loss = loss + best + o.iouWeight * (h.ious.select(1, bestIndex) - actualIou).abs().mean();
                    const auto planeLogits = resize(h.highResMasks.detach(), plane.rows, plane.columns);
                    const auto bytes = planeLogits.gt(0).to(torch::kUInt8).to(torch::kCPU).contiguous();
                    diceSum += dice(bytes.data_ptr<std::uint8_t>(), truthBytes.data(),
                                    std::int64_t(truthBytes.size()));
                    ++diceCount;
                }
                recent[t] = step_.memory;
                ++tracked;
            }
            if (tracked == 0) continue;
            loss = loss / double(tracked);
            optimizer.zero_grad();
            loss.backward();
            torch::nn::utils::clip_grad_norm_(net->parameters(), 1.0);
            optimizer.step();
            lossSum += loss.item<double>();
            ++used;
        }
        const auto p = training::epochProgress(epoch, o.epochs, 0, used, used ? lossSum / used : 0,
                                               diceCount ? diceSum / diceCount : 0, epochStart, start,
                                               optimizer.param_groups()[0].options().get_lr());
        summary.history.push_back(p);
        nlohmann::json trained{{"epochs", epoch + 1},
                               {"samples_per_epoch", samplesPerEpoch},
                               {"sequence_length", o.sequenceLength},
                               {"axis", o.axis},
                               {"seed", o.seed},
                               {"targets", targets.size()},
                               {"loss", p.loss},
                               {"dice", p.dice}};
        net->eval();
        saveSam2(*net, o.output, o.half && epoch + 1 == o.epochs, {{"trained", trained.dump()}});
        net->train();
        if (onEpoch) onEpoch(p);
    }
    training::finishSummary(summary, o.epochs, samplesPerEpoch, start);
    return summary;
}

// ---------------------------------------------------------------- evaluation

std::vector<PropagationEvalRow> evaluatePropagation(
    const std::vector<LabelledVolume>& data, const PropagationEvalOptions& o,
    const std::function<void(const PropagationEvalRow&)>& onRow) {
    training::requireImages(data, "evaluate-propagation");
    struct Method {
        std::string name;
        PropagationMemory memory;
        bool selfSorting;
        std::optional<ClassicalPropagation> classical;  // a baseline, no network
    };
    std::vector<Method> methods;
    for (const auto& name : o.methods) {
        if (name == "copy")
            methods.push_back({name, PropagationMemory::Plain, false, ClassicalPropagation::Copy});
        else if (name == "grow-from-seeds")
            methods.push_back({name, PropagationMemory::Plain, false, ClassicalPropagation::GrowFromSeeds});
        else if (name == "slm")
            methods.push_back({name, PropagationMemory::ShortLong, false, std::nullopt});
        else if (name == "plain")
            methods.push_back({name, PropagationMemory::Plain, false, std::nullopt});
        else if (name == "self-sorting")
            methods.push_back({name, PropagationMemory::Plain, true, std::nullopt});
        else if (name == "slm+self-sorting")
            methods.push_back({name, PropagationMemory::ShortLong, true, std::nullopt});
        else
            throw std::invalid_argument(
                "unknown propagation method '" + name +
                "' (slm, plain, self-sorting, slm+self-sorting, copy, grow-from-seeds)");
    }
    if (methods.empty()) throw std::invalid_argument("no evaluation method given");
    const auto targets = findTargets(data, o.axis, o.minTargetVoxels);
    std::optional<SlicePropagator> propagator;
    if (std::any_of(methods.begin(), methods.end(), [](const Method& m) { return !m.classical; }))
        propagator.emplace(o.model, o.device);
    std::vector<PropagationEvalRow> rows;
    for (const auto& target : targets) {
        const auto& d = data[std::size_t(target.volume)];
        const auto plane = SlicePlane::of(d.grid.size, o.axis);
        const auto central = target.slices[target.slices.size() / 2];
        std::vector<std::uint8_t> truth(d.labels.size());
        for (std::size_t i = 0; i < truth.size(); ++i) truth[i] = d.labels[i] == target.label;
        SlicePrompt prompt{central, plane.maskOf(d.labels.data(), d.grid.size, central, target.label)};
        for (const auto& m : methods) {
            PropagationResult r;
            if (m.classical) {
                const auto start = std::chrono::steady_clock::now();
                ClassicalPropagationOptions co;
                co.axis = o.axis;
                auto c = propagateClassically(d.image.data(), d.grid.size, d.grid.spacing, prompt,
                                              *m.classical, co);
                r.mask = std::move(c.mask);
                r.slicesSegmented = c.slicesSegmented;
                r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
            } else {
                PropagationOptions po;
                po.axis = o.axis;
                po.memory = m.memory;
                po.selfSorting = m.selfSorting;
                po.absentSlicesToStop = o.absentSlicesToStop;
                r = propagator->propagate({d.grid.size, d.image.data(), d.grid.spacing}, {prompt}, po);
            }
            PropagationEvalRow row;
            row.scan = d.name;
            row.label = target.label;
            row.target = d.targetName(target.label);
            row.method = m.name;
            row.promptSlice = central;
            const auto cmp = compareMasks(r.mask.data(), truth.data(), d.grid.size, d.grid.spacing);
            row.dice = cmp.dice;
            row.assdMm = cmp.assd;
            double presentSum = 0, clean = 0;
            int present = 0, absent = 0;
            for (std::int64_t s = 0; s < d.grid.size[std::size_t(o.axis)]; ++s) {
                std::int64_t inter = 0, p = 0, t = 0;
                for (std::int64_t rr = 0; rr < plane.rows; ++rr)
                    for (std::int64_t cc = 0; cc < plane.columns; ++cc) {
                        const auto i = std::size_t(plane.voxelIndex(d.grid.size, s, rr, cc));
                        p += r.mask[i] != 0;
                        t += truth[i];
                        inter += r.mask[i] && truth[i];
                    }
                if (t > 0) {
                    presentSum += 2.0 * double(inter) / double(p + t);
                    ++present;
                } else {
                    clean += p == 0;
                    ++absent;
                }
            }
            row.presentSliceDice = present ? presentSum / present : 0;
            row.absentSliceClean = absent ? clean / absent : 1;
            row.slicesSegmented = r.slicesSegmented;
            row.secondsPerSlice = r.slicesSegmented ? r.seconds / r.slicesSegmented : 0;
            if (onRow) onRow(row);
            rows.push_back(row);
        }
    }
    return rows;
}

std::string formatPropagationTable(const std::vector<PropagationEvalRow>& rows) {
    std::vector<std::string> order;
    std::map<std::string, std::array<double, 6>> acc;  // sums: dice, assd, present, absent, s/slice, count
    for (const auto& r : rows) {
        if (!acc.count(r.method)) order.push_back(r.method);
        auto& a = acc[r.method];
        a[0] += r.dice;
        a[1] += std::isnan(r.assdMm) ? 0 : r.assdMm;
        a[2] += r.presentSliceDice;
        a[3] += r.absentSliceClean;
        a[4] += r.secondsPerSlice;
        a[5] += 1;
    }
    std::ostringstream out;
    out << std::fixed << std::setprecision(3) << std::left << std::setw(18) << "method" << std::right
        << std::setw(8) << "Dice" << std::setw(10) << "ASSD mm" << std::setw(14) << "present Dice"
        << std::setw(14) << "absent clean" << std::setw(10) << "s/slice"
        << "\n";
    for (const auto& m : order) {
        const auto& a = acc[m];
        out << std::left << std::setw(18) << m << std::right << std::setw(8) << a[0] / a[5] << std::setw(10)
            << a[1] / a[5] << std::setw(14) << a[2] / a[5] << std::setw(14) << a[3] / a[5] << std::setw(10)
            << a[4] / a[5] << "\n";
    }
    return out.str();
}

std::string toCsv(const std::vector<PropagationEvalRow>& rows) {
    std::ostringstream out;
    out << "scan,label,target,method,prompt_slice,dice,assd_mm,present_slice_dice,absent_slice_clean,"
           "slices_segmented,seconds_per_slice\n"
        << std::setprecision(6);
    for (const auto& r : rows)
        out << r.scan << ',' << r.label << ',' << r.target << ',' << r.method << ',' << r.promptSlice << ','
            << r.dice << ',' << (std::isnan(r.assdMm) ? std::string("nan") : std::to_string(r.assdMm)) << ','
            << r.presentSliceDice << ',' << r.absentSliceClean << ',' << r.slicesSegmented << ','
            << r.secondsPerSlice << '\n';
    return out.str();
}

}  // namespace engram::model
