#include <engram/model/inference/MaisModel.h>
#include <engram/model/inference/ModelCrop.h>
#include <engram/model/training/Training.h>
#include <engram/model/weights/SafeTensors.h>

#include "TrainingSupport.h"

#include <spdlog/spdlog.h>
#include <torch/nn/functional/loss.h>
#include <torch/nn/functional/pooling.h>
#include <torch/nn/functional/upsampling.h>
#include <torch/nn/utils/clip_grad.h>
#include <torch/optim/adamw.h>
#include "JsonValues.h"

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

namespace engram::model {
namespace {

namespace F = torch::nn::functional;

struct Architecture {
    SamMed3DConfig network;
    MemoryAttentionConfig memory;
    CropOptions crop;
};

// Built-in architectures, in the format of an architecture file.
//   small: the default model, trainable on a laptop CPU. 3 mm crops of 128^3 (384 mm: a whole abdomen),
//          8^3 patches (16^3 tokens), a 3-block ViT of width 64 in 4^3 windows (96 mm; with 8^3 windows the
//          encoder's part of a training sample cost three times as much on a CPU, a 3-click sample about
//          twice), prompt width 48; low-resolution logits 64^3 (6 mm).
//   tiny:  unit-sized, for tests: 32^3 crops at 6 mm, one block of width 32 (a second per epoch).
//   vit_b_ori: SAM-Med3D's own configuration.
// Networks trained here from scratch drop the reference's swapped dense positional grid (QUIRK 3).
const std::map<std::string, std::string> kArchitectures{
    {"small", R"({"network": {"embed_dim": 64, "depth": 3, "heads": 4, "global_attn": [], "prompt_dim": 48,
                  "patch_size": 8, "window_size": 4, "mask_in_chans": 8, "decoder_heads": 4,
                  "decoder_mlp_dim": 192, "iou_head_hidden_dim": 48, "dense_pe_swap": false},
                  "memory_attention": {"width": 16, "sparse_width": 48, "cross_width": 16},
                  "crop": {"spacing": 3.0, "size": 128}})"},
    {"tiny", R"({"network": {"embed_dim": 32, "depth": 1, "heads": 2, "global_attn": [0], "prompt_dim": 24,
                 "img_size": 32, "patch_size": 8, "window_size": 0, "mask_in_chans": 4, "decoder_depth": 1,
                 "decoder_heads": 2, "decoder_mlp_dim": 64, "iou_head_hidden_dim": 32, "dense_pe_swap": false},
                 "memory_attention": {"width": 8, "sparse_width": 16, "heads": 2, "cross_width": 8},
                 "crop": {"spacing": 6.0, "size": 32}})"},
    {"vit_b_ori", "{}"}};

// A built-in architecture by name, or an architecture file {"network", "memory_attention", "crop"}.
Architecture preset(const std::string& name) {
    std::string text;
    if (const auto it = kArchitectures.find(name); it != kArchitectures.end()) {
        text = it->second;
    } else {
        std::ifstream in(name);
        if (!in)
            throw std::invalid_argument("unknown architecture '" + name +
                                        "' (tiny, small, vit_b_ori, or a JSON file)");
        std::stringstream content;
        content << in.rdbuf();
        text = content.str();
    }
    nlohmann::json j;
    try {
        j = nlohmann::json::parse(text);
    } catch (const nlohmann::json::exception& e) {
        throw std::invalid_argument(name + ": " + e.what());
    }
    Architecture a;
    if (j.contains("network")) a.network = SamMed3DConfig::fromJson(j["network"].dump());
    if (j.contains("memory_attention"))
        a.memory = MemoryAttentionConfig::fromJson(j["memory_attention"].dump());
    if (j.contains("crop")) a.crop = cropOptionsFromJson(j["crop"].dump());
    a.crop.size = a.network.imgSize;
    a.memory.dim = a.network.promptDim;
    return a;
}

struct Target {
    int volume;
    int label;
    std::vector<std::int32_t> voxels;  // offsets of the label's voxels
};

std::vector<Target> findTargets(const std::vector<LabelledVolume>& data, int minVoxels,
                                double minMillilitres) {
    std::vector<Target> targets;
    for (int v = 0; v < static_cast<int>(data.size()); ++v) {
        const auto& d = data[static_cast<std::size_t>(v)];
        const double voxelMillilitres = d.grid.spacing[0] * d.grid.spacing[1] * d.grid.spacing[2] / 1000.0;
        const int voxels = std::max(minVoxels, int(std::ceil(minMillilitres / voxelMillilitres)));
        std::array<int, 256> slot;  // label value -> index in `targets`, -1 when not used
        slot.fill(-1);
        for (int label : d.labelsToUse(voxels)) {
            slot[static_cast<std::size_t>(label)] = static_cast<int>(targets.size());
            targets.push_back({v, label, {}});
        }
        for (std::size_t o = 0; o < d.labels.size(); ++o)
            if (const int t = slot[d.labels[o]]; t >= 0)
                targets[static_cast<std::size_t>(t)].voxels.push_back(static_cast<std::int32_t>(o));
    }
    if (targets.empty())
        throw std::invalid_argument(
            "no target label has at least " + std::to_string(minVoxels) + " voxels" +
            (minMillilitres > 0 ? " and " + std::to_string(minMillilitres) + " mL" : ""));
    return targets;
}

// The world position of a random voxel of the target: a crop centre.
Point3 randomVoxel(const Target& t, const Grid& g, std::mt19937& rng) {
    const std::int64_t off =
        t.voxels[std::uniform_int_distribution<std::size_t>(0, t.voxels.size() - 1)(rng)];
    return g.indexToWorld({double(off % g.size[0]), double((off / g.size[0]) % g.size[1]),
                           double(off / (g.size[0] * g.size[1]))});
}

// [S,S,S] bytes with crop axis 0 fastest, as the click simulator indexes them.
std::vector<std::uint8_t> toBytes(const torch::Tensor& mask) {
    const auto t = mask.to(torch::kCPU, torch::kUInt8).permute({2, 1, 0}).contiguous();
    return {t.data_ptr<std::uint8_t>(), t.data_ptr<std::uint8_t>() + t.numel()};
}

std::vector<std::pair<std::string, torch::Tensor>> namedParameters(const MaisModel& m) {
    std::vector<std::pair<std::string, torch::Tensor>> out;
    for (const auto& p : m.sam->named_parameters()) out.emplace_back(p.key(), p.value());
    if (m.memory)
        for (const auto& p : m.memory->named_parameters())
            out.emplace_back("memory_attention." + p.key(), p.value());
    return out;
}

std::string key(const torch::Tensor& p) { return c10::guts::to_string(p.unsafeGetTensorImpl()); }

}  // namespace

std::vector<int> LabelledVolume::labelsToUse(int minVoxels) const {
    const std::int64_t count = grid.size[0] * grid.size[1] * grid.size[2];
    if (static_cast<std::int64_t>(image.size()) != count || static_cast<std::int64_t>(labels.size()) != count)
        throw std::invalid_argument(name + ": image and labels do not match the grid");
    std::array<std::int64_t, 256> histogram{};
    for (auto l : labels) ++histogram[l];
    std::vector<int> used;
    for (int l = 1; l < 256; ++l)
        if (histogram[static_cast<std::size_t>(l)] >= minVoxels &&
            (targets.empty() || std::find(targets.begin(), targets.end(), l) != targets.end()))
            used.push_back(l);
    return used;
}

std::string LabelledVolume::targetName(int label) const {
    const auto it = labelNames.find(label);
    return it != labelNames.end() ? it->second : "label " + std::to_string(label);
}

TrainSummary trainMais(const std::vector<LabelledVolume>& data, const TrainOptions& o,
                       const std::function<void(const TrainProgress&)>& onEpoch) {
    training::requireImages(data, "train");
    if (o.output.empty()) throw std::invalid_argument("no output file given");
    if (o.epochs < 1 || o.clicks < 1 || o.samplesPerEpoch < 0 || o.warmupSamples < 0)
        throw std::invalid_argument("epochs and clicks must be at least 1, samples and warm-up not negative");
    const auto targets = findTargets(data, o.minTargetVoxels, o.minTargetMillilitres);

    const auto device = training::deviceFor(o.device);
    torch::manual_seed(o.seed);

    // The network: resumed, fine-tuned from a file, or new.
    MaisModel model;
    int startEpoch = 0;
    std::vector<TrainProgress> history;
    std::unique_ptr<SafeTensorsFile> resumeFile;
    bool fineTuning = !o.initialWeights.empty();
    if (!o.resume.empty()) {
        model = MaisModel::load(o.resume);
        resumeFile = std::make_unique<SafeTensorsFile>(o.resume);
        const auto it = resumeFile->metadata().find("training");
        if (it == resumeFile->metadata().end())
            throw WeightsError(o.resume + " is a model file, not a training checkpoint");
        try {
            const auto j = nlohmann::json::parse(it->second);
            startEpoch = json::at<int>(j, "epoch");
            json::readIfPresent(j, "fine_tuning", fineTuning);
            for (const auto& h : j.value("history", nlohmann::json::array()))
                history.push_back({json::at<int>(h, "epoch"), json::at<int>(h, "epochs"),
                                   json::at<int>(h, "samples"), json::at<double>(h, "loss"),
                                   json::at<double>(h, "dice"), json::at<double>(h, "seconds"), 0,
                                   json::at<double>(h, "lr")});
        } catch (const std::exception& e) {
            throw WeightsError(o.resume + ": damaged training record (" + e.what() + ")");
        }
    } else if (fineTuning) {
        model = MaisModel::load(o.initialWeights);
        if (!model.memory) {  // a converted SAM-Med3D file: memory attention starts untrained (identity)
            MemoryAttentionConfig mc;
            mc.dim = model.config.promptDim;
            model.memory = MemoryAttention(mc);
        }
    } else {
        const auto a = preset(o.architecture);
        model = MaisModel::create(a.network, a.memory);
        model.crop = a.crop;
    }
    const bool freeze = o.freezeEncoder.value_or(fineTuning);
    model.to(device);
    model.sam->train();
    model.memory->train();
    model.sam->image_encoder->mode = EncoderAttentionMode::Exact;
    for (auto& p : model.sam->image_encoder->parameters()) p.set_requires_grad(!freeze);

    // Parameter groups: prompt encoder + decoder, memory attention, image encoder.
    auto decoderParams = model.sam->prompt_encoder->parameters();
    for (const auto& p : model.sam->mask_decoder->parameters()) decoderParams.push_back(p);
    std::vector<torch::optim::OptimizerParamGroup> groups;
    auto options = [&](double lr) {
        auto opt = std::make_unique<torch::optim::AdamWOptions>(lr);
        opt->weight_decay(o.weightDecay);
        return opt;
    };
    groups.emplace_back(decoderParams, options(o.lrDecoder));
    groups.emplace_back(model.memory->parameters(), options(o.lrMemory));
    if (!freeze) groups.emplace_back(model.sam->image_encoder->parameters(), options(o.lrEncoder));
    torch::optim::AdamW optimizer(groups, torch::optim::AdamWOptions(o.lrDecoder));
    std::vector<torch::Tensor> trainable;  // every parameter the optimiser updates, for gradient clipping
    for (const auto& group : optimizer.param_groups())
        for (const auto& p : group.params()) trainable.push_back(p);
    const std::vector<double> baseLr{o.lrDecoder, o.lrMemory, o.lrEncoder};

    if (resumeFile) {
        for (const auto& [name, p] : namedParameters(model)) {
            const std::string prefix = "optimizer." + name + ".";
            if (!resumeFile->contains(prefix + "exp_avg")) continue;
            auto state = std::make_unique<torch::optim::AdamWParamState>();
            state->step(resumeFile->load(prefix + "step").item<std::int64_t>());
            state->exp_avg(resumeFile->load(prefix + "exp_avg").to(device));
            state->exp_avg_sq(resumeFile->load(prefix + "exp_avg_sq").to(device));
            optimizer.state()[key(p)] = std::move(state);
        }
    }

    std::vector<int> milestones = o.milestones;
    if (milestones.empty()) milestones = {int(o.epochs * 0.65 + 0.5), int(o.epochs * 0.9 + 0.5)};
    const int samplesPerEpoch = o.samplesPerEpoch > 0 ? o.samplesPerEpoch : 4 * int(targets.size());
    const std::string checkpoint = o.checkpoint.empty() ? o.output + ".ckpt" : o.checkpoint;
    const int S = model.crop.size;
    // Losses and simulated clicks at half the crop's resolution for crops of 64^3 and more: the per-click
    // work at full resolution cost as much as the decoder itself on a CPU. Clicks map back to the crop
    // voxel nearest the centre of their half-resolution voxel.
    const int scale = S >= 64 ? 2 : 1, L = S / scale;
    const double halfSpacing = model.crop.spacing * scale;
    const Spacing3 lossSpacing{halfSpacing, halfSpacing, halfSpacing};
    const auto densePe = model.sam->prompt_encoder->densePe().detach();  // fixed Fourier features

    // Frozen encoder: embeddings per (target, crop-centre slot, flip code), computed on first use.
    std::vector<std::vector<Point3>> centrePool;
    std::map<std::tuple<int, int, int>, torch::Tensor> embeddingCache;
    if (freeze) {
        std::mt19937 rng(o.seed);
        for (const auto& t : targets) {
            std::vector<Point3> centres;
            const auto& g = data[static_cast<std::size_t>(t.volume)].grid;
            for (int c = 0; c < o.cropsPerTarget; ++c) centres.push_back(randomVoxel(t, g, rng));
            centrePool.push_back(std::move(centres));
        }
    }

    spdlog::info("training: {} targets in {} volumes, {} samples/epoch, {} clicks, encoder {}, on {}",
                 targets.size(), data.size(), samplesPerEpoch, o.clicks, freeze ? "frozen" : "trained",
                 device.str());
    const auto start = std::chrono::steady_clock::now();
    TrainSummary summary;
    summary.targets = static_cast<int>(targets.size());
    summary.device = device.str();
    summary.history = history;

    // The model file: written at the end, or (keepBest) whenever an epoch beats the best training Dice so far
    // (a resumed run knows the earlier epochs' Dice from the checkpoint's history).
    int keptEpoch = 0;
    double bestDice = -1;
    for (const auto& h : history)
        if (h.dice > bestDice) {
            bestDice = h.dice;
            keptEpoch = h.epoch;
        }
    const auto saveModel = [&](int epoch) {
        const nlohmann::json trained{{"epochs", o.epochs},
                                     {"epoch", epoch},
                                     {"samples_per_epoch", samplesPerEpoch},
                                     {"clicks", o.clicks},
                                     {"rule", toString(o.rule)},
                                     {"seed", o.seed},
                                     {"targets", targets.size()},
                                     {"encoder", freeze ? "frozen" : "trained"}};
        model.save(o.output, {}, {{"trained", trained.dump()}}, o.half);
        keptEpoch = epoch;
    };

    std::vector<int> targetVolume;
    for (const auto& t : targets) targetVolume.push_back(t.volume);
    const training::VolumeThenTarget sampler(targetVolume);

    for (int epoch = startEpoch; epoch < o.epochs; ++epoch) {
        const auto epochStart = std::chrono::steady_clock::now();
        double factor = 1;
        for (int m : milestones)
            if (epoch >= m) factor *= o.gamma;
        auto setLearningRates = [&](double ramp) {
            for (std::size_t g = 0; g < optimizer.param_groups().size(); ++g)
                static_cast<torch::optim::AdamWOptions&>(optimizer.param_groups()[g].options())
                    .lr(baseLr[g] * factor * ramp);
        };
        setLearningRates(1.0);
        std::mt19937 rng(o.seed * 1000003u + static_cast<unsigned>(epoch));
        torch::manual_seed(o.seed * 1000003u + static_cast<unsigned>(epoch));
        double lossSum = 0, diceSum = 0;
        int used = 0;  // samples whose target survived resampling into the crop

        for (int sample = 0; sample < samplesPerEpoch; ++sample) {
            if (o.stop && o.stop())
                throw TrainingStopped("training stopped in epoch " + std::to_string(epoch + 1));
            const int ti = sampler.pick(rng);
            const Target& target = targets[static_cast<std::size_t>(ti)];
            const LabelledVolume& d = data[static_cast<std::size_t>(target.volume)];
            const auto& g = d.grid;
            int slot = 0;
            Point3 centre;
            if (freeze) {
                slot = std::uniform_int_distribution<int>(0, o.cropsPerTarget - 1)(rng);
                centre = centrePool[static_cast<std::size_t>(ti)][static_cast<std::size_t>(slot)];
            } else {
                centre = randomVoxel(target, g, rng);
            }
            const ModelCrop crop(centre, model.crop);
            std::vector<float> binary(d.labels.size());
            for (std::size_t i = 0; i < binary.size(); ++i)
                binary[i] = d.labels[i] == target.label ? 1.f : 0.f;
            auto truth = crop.resample(g, binary.data()).gt(0.5).to(torch::kFloat);
            std::vector<std::int64_t> flipDims;
            int flipCode = 0;
            if (o.flips)
                for (int a = 0; a < 3; ++a)
                    if (std::uniform_int_distribution<int>(0, 1)(rng)) {
                        flipDims.push_back(2 + a);
                        flipCode |= 1 << a;
                    }
            if (!flipDims.empty()) truth = truth.flip(flipDims);
            if (scale > 1)
                truth = F::avg_pool3d(truth, F::AvgPool3dFuncOptions(scale)).gt(0.5).to(torch::kFloat);
            truth = truth.to(device);

            torch::Tensor embedding;
            const auto cacheKey = std::make_tuple(ti, slot, flipCode);
            if (freeze && embeddingCache.count(cacheKey)) {
                embedding = embeddingCache[cacheKey];
            } else {
                auto input = crop.networkInput(g, d.image.data());
                if (!flipDims.empty()) input = input.flip(flipDims);
                input = input.to(device);
                if (o.intensity && !freeze) {
                    const float gain = std::uniform_real_distribution<float>(0.9f, 1.1f)(rng);
                    const float shift = std::uniform_real_distribution<float>(-0.1f, 0.1f)(rng);
                    input = input * gain + shift;
                }
                if (freeze) {
                    torch::NoGradGuard noGrad;
                    embedding = model.sam->image_encoder->forward(input);
                    embeddingCache[cacheKey] = embedding;
                } else {
                    embedding = model.sam->image_encoder->forward(input);
                }
            }

            // The simulated interaction, with the engine's exact path per click.
            const auto truthBytes = toBytes(truth[0][0]);
            std::vector<std::uint8_t> prediction(truthBytes.size(), 0);
            MemoryBank bank(o.memoryCapacity, o.memoryMode);
            std::vector<SimulatedClick> clicks;
            torch::Tensor previous, loss = torch::zeros({}, torch::TensorOptions().device(device));
            double lastDice = 0;
            for (int k = 0; k < o.clicks; ++k) {
                const auto click =
                    nextClick(prediction.data(), truthBytes.data(), {L, L, L}, lossSpacing, o.rule, rng);
                if (!click) break;
                clicks.push_back(*click);
                auto coords = torch::empty({1, std::int64_t(clicks.size()), 3});
                auto labels = torch::empty({1, std::int64_t(clicks.size())}, torch::kLong);
                for (std::size_t c = 0; c < clicks.size(); ++c) {
                    for (int a = 0; a < 3; ++a)
                        coords[0][std::int64_t(c)][a] =
                            double(clicks[c].index[std::size_t(a)] * scale + scale / 2);
                    labels[0][std::int64_t(c)] = clicks[c].positive ? 1 : 0;
                }
                const auto out = model.interact(embedding, densePe, coords.to(device), labels.to(device),
                                                previous, bank, false);
                const auto logits =
                    out.lowResLogits.size(-1) == L  // the small model's 64^3: as it is
                        ? out.lowResLogits
                        : F::interpolate(out.lowResLogits, F::InterpolateFuncOptions()
                                                               .size(std::vector<std::int64_t>{L, L, L})
                                                               .mode(torch::kTrilinear)
                                                               .align_corners(false));
                loss = loss + training::diceLoss(logits, truth) +
                       o.bceWeight * F::binary_cross_entropy_with_logits(logits, truth);
                previous = out.lowResLogits.detach();
                prediction = toBytes(logits.detach()[0][0].gt(0));
                lastDice = dice(prediction.data(), truthBytes.data(), std::int64_t(prediction.size()));
            }
            if (clicks.empty()) continue;
            loss = loss / double(clicks.size());
            const long step = long(epoch) * samplesPerEpoch + sample;  // the same on resume
            if (step < o.warmupSamples) setLearningRates(training::warmupScale(step, o.warmupSamples));
            optimizer.zero_grad();
            loss.backward();
            torch::nn::utils::clip_grad_norm_(trainable, 1.0);
            optimizer.step();
            lossSum += loss.item<double>();
            diceSum += lastDice;
            ++used;
        }

        const auto p = training::epochProgress(epoch, o.epochs, startEpoch, used, used ? lossSum / used : 0,
                                               used ? diceSum / used : 0, epochStart, start,
                                               optimizer.param_groups()[0].options().get_lr());
        summary.history.push_back(p);

        // Checkpoint: the model, the optimiser's moments, the progress.
        std::map<std::string, torch::Tensor> extra;
        for (const auto& [name, param] : namedParameters(model)) {
            const auto it = optimizer.state().find(key(param));
            if (it == optimizer.state().end()) continue;
            const auto& s = static_cast<const torch::optim::AdamWParamState&>(*it->second);
            extra["optimizer." + name + ".exp_avg"] = s.exp_avg().cpu();
            extra["optimizer." + name + ".exp_avg_sq"] = s.exp_avg_sq().cpu();
            extra["optimizer." + name + ".step"] = torch::tensor(s.step(), torch::kLong);
        }
        nlohmann::json j{{"epoch", epoch + 1}, {"fine_tuning", fineTuning}, {"seed", o.seed}};
        for (const auto& h : summary.history)
            j["history"].push_back({{"epoch", h.epoch},
                                    {"epochs", h.epochs},
                                    {"samples", h.samples},
                                    {"loss", h.loss},
                                    {"dice", h.dice},
                                    {"seconds", h.seconds},
                                    {"lr", h.learningRate}});
        model.save(checkpoint, extra, {{"training", j.dump()}});
        if (o.keepBest && p.dice > bestDice) {
            bestDice = p.dice;
            saveModel(epoch + 1);
        }
        if (onEpoch) onEpoch(p);
    }

    if (!o.keepBest) saveModel(o.epochs);
    training::finishSummary(summary, o.epochs, samplesPerEpoch, start);
    summary.keptEpoch = keptEpoch;
    return summary;
}

}  // namespace engram::model
