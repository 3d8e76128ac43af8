#include <engram/model/metrics/MaskMetrics.h>
#include <engram/model/networks/SliceNet.h>
#include <engram/model/training/SliceNetTraining.h>
#include <engram/model/weights/SafeTensors.h>

#include "TrainingSupport.h"

#include <spdlog/spdlog.h>
#include <torch/nn/functional/loss.h>
#include <torch/optim/adam.h>
#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include <array>
#include <cmath>
#include <random>

namespace engram::model {
namespace {

namespace F = torch::nn::functional;
using training::chance;
using training::uniform;

// One sequence of the batch.
struct Sequence {
    int target = 0;
    int axis = 2;
    SlicePlane plane;
    std::vector<std::int64_t> slices;  // the prompt's first
    bool plain = false;
    int shortTerm = 1;
    double scale = 1, angle = 0;
    bool flip = false;
    float gain = 1, bias = 0;
    double rowMm = 1, columnMm = 1;
    // A synthetic volume's image for this sequence (SynthSeg-style): an intensity per label value, a
    // linear bias field across the crop, noise.
    std::array<float, 256> intensity{};
    float fieldX = 0, fieldY = 0;
    PlaneCrop crop;                        // the latest slice's
    std::vector<float> previous;           // its probability on `crop`
    std::vector<SliceNetMemory> memories;  // the prompt's first
};

// Channels 0..2 (as sliceChannels) of a synthetic volume's slice for sequence `q`: its label values'
// intensities, sampled bilinearly (partial volumes, as a scanner's blur), times the bias field; the noise
// comes with the intensity augmentation.
torch::Tensor synthesised(const Sequence& q, const LabelledVolume& d, const PlaneCrop& crop,
                          std::int64_t slice) {
    std::vector<std::uint8_t> valid;
    const auto values = samplePlane(
        crop, q.plane.rows, q.plane.columns,
        [&](std::int64_t r, std::int64_t c) {
            return q.intensity[d.labels[std::size_t(q.plane.voxelIndex(d.grid.size, slice, r, c))]];
        },
        0.f, &valid);
    const auto S = crop.size;
    auto out = torch::empty({3, S, S});
    float* c0 = out.data_ptr<float>();
    const auto n = values.size();
    for (std::size_t i = 0; i < n; ++i) {
        const float x = 2.f * float(std::int64_t(i) % S) / float(S - 1) - 1.f,
                    y = 2.f * float(std::int64_t(i) / S) / float(S - 1) - 1.f;
        const float v = std::clamp(values[i] * (1.f + q.fieldX * x + q.fieldY * y), -1.f, 1.f);
        c0[i] = valid[i] ? v : -1.f;
        c0[n + i] = c0[i];
        c0[2 * n + i] = valid[i] ? 1.f : 0.f;
    }
    return out;
}

// Slice counts of a target's voxels along each axis, computed on first use.
class SliceCounts {
  public:
    const std::vector<int>& of(const training::Target& t, int target, const Grid& grid, int axis) {
        auto& c = cache_[{target, axis}];
        if (c.empty()) {
            c.assign(std::size_t(grid.size[std::size_t(axis)]), 0);
            const auto& n = grid.size;
            for (const auto o : t.voxels) {
                const std::int64_t ijk[3] = {o % n[0], (o / n[0]) % n[1], o / (n[0] * n[1])};
                ++c[std::size_t(ijk[axis])];
            }
        }
        return c;
    }

  private:
    std::map<std::pair<int, int>, std::vector<int>> cache_;
};

}  // namespace

SliceNetReport trainSliceNet(const std::vector<LabelledVolume>& data, const SliceNetTrainOptions& o,
                             const std::function<void(const SliceNetReport&)>& onReport) {
    if (o.output.empty()) throw std::invalid_argument("no output file given");
    if (o.steps < 1 || o.batch < 1 || o.sequence < 2 || o.maxShortTerm < 1)
        throw std::invalid_argument("steps and batch must be at least 1, the sequence at least 2 slices");
    std::vector<training::PreparedVolume> prepared;
    const auto targets = training::findTargets(data, o.minTargetVoxels, prepared);
    training::GroupSampler sampler(targets, prepared, o.groupWeights);

    training::StepRun<SliceNetModel> run(o, o.config, "slicenet");
    auto& model = run.model();
    const auto& cfg = model.config;
    const auto S = std::int64_t(cfg.cropSize);
    const auto device = run.device;
    spdlog::info(
        "slicenet training: {} targets in {} volumes ({} groups), steps {}..{}, batch {} x {} slices, on {}",
        targets.size(), data.size(), sampler.groups().size(), run.startStep(), o.steps, o.batch, o.sequence,
        device.str());

    SliceCounts counts;
    // Since the last report: tracked slices without the target, and those whose object score said absent.
    int absentCount = 0;
    double cleanSum = 0;
    const auto trained = [&](long step) {
        return nlohmann::json{
            {"step", step}, {"batch", o.batch}, {"sequence", o.sequence}, {"targets", targets.size()}}
            .dump();
    };
    const auto step = [&](long, std::mt19937& rng) {
        // The sequences and their prompts.
        std::vector<Sequence> batch;
        while (int(batch.size()) < o.batch) {
            Sequence q;
            q.target = sampler.pick(rng);
            const auto& t = targets[std::size_t(q.target)];
            const auto& d = data[std::size_t(t.volume)];
            q.axis = chance(rng, o.axialShare) ? 2 : std::uniform_int_distribution<int>(0, 1)(rng);
            const auto& perSlice = counts.of(t, q.target, d.grid, q.axis);
            std::vector<std::int64_t> usable;
            for (std::size_t s = 0; s < perSlice.size(); ++s)
                if (perSlice[s] >= o.minPromptPixels) usable.push_back(std::int64_t(s));
            if (usable.empty()) continue;
            const int dir = chance(rng, 0.5) ? 1 : -1;
            const int stepSlices =
                d.grid.spacing[std::size_t(q.axis)] < 2.5 && chance(rng, o.skipShare) ? 2 : 1;
            std::int64_t p;
            if (chance(rng, o.endShare)) {
                const auto k = std::uniform_int_distribution<std::size_t>(
                    0, std::min<std::size_t>(2, usable.size() - 1))(rng);
                p = dir > 0 ? usable[usable.size() - 1 - k] : usable[k];
            } else {
                p = usable[std::uniform_int_distribution<std::size_t>(0, usable.size() - 1)(rng)];
            }
            const auto n = d.grid.size[std::size_t(q.axis)];
            for (int f = 0; f < o.sequence; ++f) {
                const auto s = p + std::int64_t(dir * stepSlices * f);
                if (s < 0 || s >= n) break;
                q.slices.push_back(s);
            }
            if (q.slices.size() < 2) continue;
            q.plane = SlicePlane::of(d.grid.size, q.axis);
            q.rowMm = d.grid.spacing[q.axis == 2 ? 1 : 2];
            q.columnMm = d.grid.spacing[q.axis == 0 ? 1 : 0];
            q.plain = chance(rng, o.plainShare);
            q.shortTerm = std::uniform_int_distribution<int>(1, o.maxShortTerm)(rng);
            q.scale = std::exp(uniform(rng, -std::log1p(o.scaleRange), std::log1p(o.scaleRange)));
            q.angle = uniform(rng, -o.rotationDegrees, o.rotationDegrees) * M_PI / 180;
            q.flip = chance(rng, 0.5);
            q.gain = float(uniform(rng, 0.9, 1.1));
            q.bias = float(uniform(rng, -0.1, 0.1));
            if (d.synthetic) {
                for (auto& v : q.intensity) v = float(uniform(rng, -0.9, 0.9));
                q.fieldX = float(uniform(rng, -0.15, 0.15));
                q.fieldY = float(uniform(rng, -0.15, 0.15));
            }
            batch.push_back(std::move(q));
        }

        auto truthOn = [&](const Sequence& q, const PlaneCrop& crop, std::int64_t slice) {
            const auto& t = targets[std::size_t(q.target)];
            const auto& d = data[std::size_t(t.volume)];
            const auto& pv = prepared[std::size_t(t.volume)];
            return samplePlane(
                crop, q.plane.rows, q.plane.columns,
                [&](std::int64_t r, std::int64_t c) {
                    return pv.inTarget(d, t, std::size_t(q.plane.voxelIndex(d.grid.size, slice, r, c))) ? 1.f
                                                                                                        : 0.f;
                },
                0.f);
        };
        auto inputOf = [&](const Sequence& q, const PlaneCrop& crop, std::int64_t slice, std::int64_t before,
                           const std::vector<float>& previous) {
            const auto& t = targets[std::size_t(q.target)];
            const auto& d = data[std::size_t(t.volume)];
            const auto& scale = prepared[std::size_t(t.volume)].scale;
            const auto channels = [&](std::int64_t k) {
                return d.synthetic ? synthesised(q, d, crop, k)
                                   : sliceChannels(crop, d.image.data(), d.grid.size, q.plane, k, scale);
            };
            const auto image = channels(slice);
            const auto beforeImage = channels(before)[0];
            auto pictures = torch::cat({image.slice(0, 0, 2), beforeImage.unsqueeze(0)});
            const auto valid = image[2].unsqueeze(0);
            pictures =
                (pictures * q.gain + q.bias + 0.03 * torch::randn(pictures.sizes())) * valid + (valid - 1);
            const auto prev = torch::from_blob(const_cast<float*>(previous.data()), {1, S, S}).clone();
            return torch::cat({pictures.slice(0, 0, 2), valid, pictures.slice(0, 2, 3), prev});
        };
        auto withPose = [](const Sequence& q, PlaneCrop crop) {
            crop.angle = q.angle;
            crop.flip = q.flip;
            return crop;
        };

        // The prompts: the true mask, encoded into the first memory (with gradients).
        {
            std::vector<torch::Tensor> inputs;
            std::vector<SliceNetReads> none;
            for (auto& q : batch) {
                const auto& t = targets[std::size_t(q.target)];
                const auto& d = data[std::size_t(t.volume)];
                const auto& pv = prepared[std::size_t(t.volume)];
                const auto s = q.slices[0];
                std::vector<std::uint8_t> mask(std::size_t(q.plane.rows * q.plane.columns));
                for (std::int64_t r = 0; r < q.plane.rows; ++r)
                    for (std::int64_t c = 0; c < q.plane.columns; ++c)
                        mask[std::size_t(r * q.plane.columns + c)] =
                            pv.inTarget(d, t, std::size_t(q.plane.voxelIndex(d.grid.size, s, r, c)));
                q.crop =
                    withPose(q, cropAround(boxOf(mask, q.plane.columns), cfg, q.rowMm, q.columnMm, q.scale));
                q.previous = truthOn(q, q.crop, s);
                inputs.push_back(inputOf(q, q.crop, s, s, q.previous));
                none.push_back({{}, {}, q.crop, s});
            }
            const auto out = model.net->forward(torch::stack(inputs).to(device), none);
            for (std::size_t b = 0; b < batch.size(); ++b) {
                auto& q = batch[b];
                q.memories.push_back(model.net->encodeMemory(
                    out.bottleneck[std::int64_t(b)],
                    torch::from_blob(q.previous.data(), {S, S}).clone().to(device), q.crop, q.slices[0]));
                q.memories.back().prompt = true;
            }
        }

        // The tracked slices.
        torch::Tensor loss = torch::zeros({}, torch::TensorOptions().device(device));
        int terms = 0;
        for (int f = 1; f < o.sequence; ++f) {
            std::vector<std::size_t> active;
            for (std::size_t b = 0; b < batch.size(); ++b)
                if (f < int(batch[b].slices.size())) active.push_back(b);
            if (active.empty()) break;
            std::vector<torch::Tensor> inputs, truths;
            std::vector<SliceNetReads> reads;
            std::vector<PlaneCrop> crops;
            for (const auto b : active) {
                auto& q = batch[b];
                const auto box = boxOf(q.crop, q.previous.data(), q.plane.rows, q.plane.columns);
                const PlaneCrop crop =
                    box.empty() ? q.crop : withPose(q, cropAround(box, cfg, q.rowMm, q.columnMm, q.scale));
                const auto s = q.slices[std::size_t(f)];
                inputs.push_back(inputOf(q, crop, s, q.slices[std::size_t(f - 1)],
                                         resampleCrop(q.crop, q.previous.data(), crop)));
                const auto truth = truthOn(q, crop, s);
                auto tt =
                    torch::from_blob(const_cast<float*>(truth.data()), {1, S, S}).gt(0.5).to(torch::kFloat);
                truths.push_back(tt);
                SliceNetReads r{{&q.memories[0]}, {}, crop, s};
                // Newest first from the non-prompt memories.
                const int have = int(q.memories.size()) - 1;
                if (q.plain) {
                    for (int i = std::max(1, have + 1 - cfg.recentSlices); i <= have; ++i)
                        r.longTerm.push_back(&q.memories[std::size_t(i)]);
                } else {
                    for (int i = std::max(1, have + 1 - q.shortTerm); i <= have; ++i)
                        r.shortTerm.push_back(&q.memories[std::size_t(i)]);
                }
                reads.push_back(std::move(r));
                crops.push_back(crop);
            }
            const auto out = model.net->forward(torch::stack(inputs).to(device), reads);
            const auto truth = torch::stack(truths).to(device);
            const auto probability = torch::sigmoid(out.logits.detach());
            const auto probCpu = probability.cpu().contiguous();
            for (std::size_t i = 0; i < active.size(); ++i) {
                auto& q = batch[active[i]];
                const auto idx = std::int64_t(i);
                const auto tr = truth[idx];
                const bool present = tr.sum().item<float>() > 0;
                auto term = F::binary_cross_entropy_with_logits(out.logits[idx], tr);
                term = term + o.objectWeight *
                                  F::binary_cross_entropy_with_logits(
                                      out.object[idx], torch::full({}, present ? 1.f : 0.f, truth.options()));
                const auto pred = probability[idx].gt(0.5).to(torch::kFloat);
                if (present) {
                    term = term + training::diceLoss(out.logits[idx], tr);
                    const auto inter = (pred * tr).sum(), uni = (pred + tr).clamp_max(1).sum();
                    const auto actual = inter / uni.clamp_min(1);
                    term = term + o.iouWeight * (out.iou[idx] - actual).abs();
                    run.addDice(prepared[std::size_t(targets[std::size_t(q.target)].volume)].group,
                                (2 * inter / (pred.sum() + tr.sum()).clamp_min(1)).item<double>());
                } else {
                    cleanSum += out.object[idx].item<float>() < 0 ? 1 : 0;
                    ++absentCount;
                }
                loss = loss + term;
                ++terms;
                const auto p = probCpu[idx][0];
                q.previous.assign(p.data_ptr<float>(), p.data_ptr<float>() + p.numel());
                q.crop = crops[i];
                q.memories.push_back(model.net->encodeMemory(out.bottleneck[idx], probability[idx][0], q.crop,
                                                             q.slices[std::size_t(f)]));
            }
        }
        return loss / double(std::max(1, terms));
    };

    SliceNetReport report;
    report.targets = static_cast<int>(targets.size());
    run.run<SliceNetReport>(report, step, trained, onReport, [&](SliceNetReport& r) {
        r.absentClean = absentCount ? cleanSum / absentCount : 1;
        cleanSum = 0;
        absentCount = 0;
    });
    return report;
}

}  // namespace engram::model
