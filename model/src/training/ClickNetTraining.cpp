#include <engram/model/classical/GrowFromSeeds.h>
#include <engram/model/networks/ClickNet.h>
#include <engram/model/training/ClickNetTraining.h>
#include <engram/model/weights/SafeTensors.h>

#include "TrainingSupport.h"

#include <spdlog/spdlog.h>
#include <torch/nn/functional/loss.h>
#include <torch/optim/adam.h>
#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <deque>
#include <optional>
#include <random>

namespace engram::model {
namespace {

namespace F = torch::nn::functional;
using training::chance;
using training::PreparedVolume;
using training::Target;
using training::uniform;

// An augmented crop frame around `centre`: RAS axes, rotated, flipped, scaled.
CropFrame augmentedFrame(const Point3& centre, std::int64_t size, double spacing,
                         const ClickNetTrainOptions& o, std::mt19937& rng) {
    const double s = spacing * std::exp(uniform(rng, -std::log1p(o.scaleRange), std::log1p(o.scaleRange)));
    const double r = o.rotationDegrees * M_PI / 180;
    const double a = uniform(rng, -r, r), b = uniform(rng, -r, r), c = uniform(rng, -r, r);
    const double ca = std::cos(a), sa = std::sin(a), cb = std::cos(b), sb = std::sin(b), cc = std::cos(c),
                 sc = std::sin(c);
    // R = Rz(a) Ry(b) Rx(c)
    const double R[9] = {ca * cb,
                         ca * sb * sc - sa * cc,
                         ca * sb * cc + sa * sc,
                         sa * cb,
                         sa * sb * sc + ca * cc,
                         sa * sb * cc - ca * sc,
                         -sb,
                         cb * sc,
                         cb * cc};
    const double base[3] = {-1, -1, 1};  // RAS in LPS
    CropFrame f;
    f.size = {size, size, size};
    for (int col = 0; col < 3; ++col) {
        const double flip = chance(rng, 0.5) ? -1 : 1;
        for (int row = 0; row < 3; ++row)
            f.axes[std::size_t(row * 3 + col)] = R[row * 3 + col] * base[col] * flip * s;
    }
    f.origin = {0, 0, 0};
    const Point3 mid = f.toWorld({double(size / 2), double(size / 2), double(size / 2)});
    for (int k = 0; k < 3; ++k) f.origin[std::size_t(k)] = centre[std::size_t(k)] - mid[std::size_t(k)];
    return f;
}

struct Sample {
    CropFrame frame;
    torch::Tensor image;     // [3, S, S, S]
    std::vector<float> raw;  // the crop's intensities (grow from seeds works on them)
    std::vector<std::uint8_t> truth;
    int target = 0;
    bool seeds = true;
    ClickRule rule = ClickRule::LargestErrorCentre;
    std::optional<SeedGrower> grower;
    std::vector<SimulatedClick> clicks;
    std::vector<std::uint8_t> prediction;
    torch::Tensor gfs, previous;  // [1, S, S, S]
    struct Raw {
        torch::Tensor bottleneck, probability;
        Point3 click;
        bool positive;
    };
    std::vector<Raw> bank;
};

}  // namespace

ClickNetReport trainClickNet(const std::vector<LabelledVolume>& data, const ClickNetTrainOptions& o,
                             const std::function<void(const ClickNetReport&)>& onReport) {
    training::requireImages(data, "train-clicknet");
    if (o.output.empty()) throw std::invalid_argument("no output file given");
    if (o.steps < 1 || o.batch < 1 || o.maxClicks < 1 || o.longClicks < o.maxClicks)
        throw std::invalid_argument("steps, batch and clicks must be at least 1 (long clicks >= clicks)");
    std::vector<PreparedVolume> prepared;
    const auto targets = training::findTargets(data, o.minTargetVoxels, prepared);
    training::GroupSampler sampler(targets, prepared, o.groupWeights);

    training::StepRun<ClickNetModel> run(o, o.config, "clicknet");
    auto& model = run.model();
    const auto& cfg = model.config;
    const auto device = run.device;
    spdlog::info(
        "clicknet training: {} targets in {} volumes ({} groups), steps {}..{} of {}, batch {}, on {}",
        targets.size(), data.size(), sampler.groups().size(), run.startStep(), o.steps, o.steps, o.batch,
        device.str());

    const auto trained = [&](long step) {
        return nlohmann::json{
            {"step", step}, {"batch", o.batch}, {"targets", targets.size()}, {"max_clicks", o.maxClicks}}
            .dump();
    };
    const auto step = [&](long, std::mt19937& rng) {
        const std::int64_t S = chance(rng, o.largeCropShare)
                                   ? (cfg.cropSize * 4 / 3 + cfg.factor() - 1) / cfg.factor() * cfg.factor()
                                   : cfg.cropSize;
        const bool memoryOn = !chance(rng, o.memoryOffShare);
        const bool single = chance(rng, o.singleClickShare);
        const int K = single ? 1
                      : chance(rng, o.longShare) && o.longClicks > o.maxClicks
                          ? std::uniform_int_distribution<int>(o.maxClicks + 1, o.longClicks)(rng)
                          : std::uniform_int_distribution<int>(1, o.maxClicks)(rng);
        const Dims3 dims{S, S, S};

        std::vector<Sample> batch(static_cast<std::size_t>(o.batch));
        for (auto& s : batch) {
            s.target = sampler.pick(rng);
            const auto& t = targets[static_cast<std::size_t>(s.target)];
            const auto& d = data[static_cast<std::size_t>(t.volume)];
            const auto& pv = prepared[static_cast<std::size_t>(t.volume)];
            const auto off =
                t.voxels[std::uniform_int_distribution<std::size_t>(0, t.voxels.size() - 1)(rng)];
            const auto& n = d.grid.size;
            Point3 centre = d.grid.indexToWorld(
                {double(off % n[0]), double((off / n[0]) % n[1]), double(off / (n[0] * n[1]))});
            const double shift = double(S) * cfg.spacing / 4;
            for (auto& c : centre) c += uniform(rng, -shift, shift);
            s.frame = augmentedFrame(centre, S, cfg.spacing, o, rng);
            s.image = imageChannels(s.frame, d.grid, d.image.data(), pv.scale);
            const float gain = float(uniform(rng, 0.9, 1.1)), bias = float(uniform(rng, -0.1, 0.1));
            const auto valid = s.image[2].unsqueeze(0);
            s.image.slice(0, 0, 2) =
                (s.image.slice(0, 0, 2) * gain + bias + 0.03 * torch::randn({2, S, S, S})) * valid +
                (valid - 1);
            s.raw = sampleCrop(
                s.frame, d.grid, [&](std::int64_t v) { return d.image[std::size_t(v)]; },
                pv.scale.ct ? -1000.f : pv.scale.low);
            const auto truth = sampleCrop(
                s.frame, d.grid,
                [&](std::int64_t v) { return pv.inTarget(d, t, std::size_t(v)) ? 1.f : 0.f; }, 0.f);
            s.truth.resize(truth.size());
            for (std::size_t i = 0; i < truth.size(); ++i) s.truth[i] = truth[i] > 0.5f;
            s.seeds = !chance(rng, o.seedsOffShare);
            s.rule = chance(rng, o.randomRuleShare) ? ClickRule::RandomError : ClickRule::LargestErrorCentre;
            s.prediction.assign(s.truth.size(), 0);
            s.previous = torch::zeros({1, S, S, S});
            s.gfs = torch::zeros({1, S, S, S});
            if (s.seeds) {
                const double sp = std::hypot(s.frame.axes[0], s.frame.axes[3], s.frame.axes[6]);
                s.grower.emplace(s.raw.data(), dims, Spacing3{sp, sp, sp});
            }
        }

        torch::Tensor loss;
        for (int k = 0; k < K; ++k) {
            const bool last = k == K - 1;
            std::vector<torch::Tensor> inputs;
            std::vector<std::vector<ClickMemory>> memories(batch.size());
            std::vector<CropFrame> frames;
            for (std::size_t b = 0; b < batch.size(); ++b) {
                auto& s = batch[b];
                std::optional<SimulatedClick> click;
                if (k == 0 && chance(rng, o.negativeFirstShare)) {
                    for (int tries = 0; tries < 50 && !click; ++tries) {
                        SimulatedClick c;
                        for (auto& i : c.index)
                            i = std::uniform_int_distribution<std::int64_t>(S / 4, S - 1 - S / 4)(rng);
                        c.positive = false;
                        if (!s.truth[std::size_t(c.index[0] + S * (c.index[1] + S * c.index[2]))]) click = c;
                    }
                }
                if (!click)
                    click = nextClick(s.prediction.data(), s.truth.data(), dims,
                                      {cfg.spacing, cfg.spacing, cfg.spacing}, s.rule, rng);
                if (click) s.clicks.push_back(*click);
                if (s.grower && click) {
                    const auto g = s.grower->grow(s.clicks).mask.toVolume(dims);
                    s.gfs = torch::from_blob(const_cast<std::uint8_t*>(g.data()), {1, S, S, S}, torch::kUInt8)
                                .to(torch::kFloat);
                }
                std::vector<std::pair<Point3, bool>> world;
                for (const auto& c : s.clicks)
                    world.emplace_back(
                        s.frame.toWorld({double(c.index[0]), double(c.index[1]), double(c.index[2])}),
                        c.positive);
                inputs.push_back(
                    torch::cat({s.image, clickChannels(s.frame, world, cfg.clickSigma), s.previous, s.gfs}));
                frames.push_back(s.frame);
                if (memoryOn) {
                    // Encoded again at every step; with gradients at the trained one, so that the memory
                    // encoder learns.
                    std::optional<torch::NoGradGuard> noGrad;
                    if (!last) noGrad.emplace();
                    for (const auto& m : s.bank)
                        memories[b].push_back(model.net->encodeMemory(m.bottleneck, m.probability, s.frame,
                                                                      m.click, m.positive));
                }
            }
            const auto input = torch::stack(inputs).to(device);
            if (!last) {
                torch::NoGradGuard noGrad;
                const auto out = model.net->forward(input, memories, frames);
                const auto prob = torch::sigmoid(out.logits).cpu();
                for (std::size_t b = 0; b < batch.size(); ++b) {
                    auto& s = batch[b];
                    const auto bin = prob[std::int64_t(b)].gt(0.5).to(torch::kUInt8).contiguous();
                    s.prediction.assign(bin.data_ptr<std::uint8_t>(),
                                        bin.data_ptr<std::uint8_t>() + bin.numel());
                    s.previous = bin.to(torch::kFloat);
                    if (!s.clicks.empty()) {
                        const auto& c = s.clicks.back();
                        s.bank.push_back(
                            {out.bottleneck[std::int64_t(b)].detach(), prob[std::int64_t(b)][0].to(device),
                             s.frame.toWorld({double(c.index[0]), double(c.index[1]), double(c.index[2])}),
                             c.positive});
                    }
                }
                continue;
            }
            const auto out = model.net->forward(input, memories, frames);
            std::vector<torch::Tensor> truths;
            for (const auto& s : batch)
                truths.push_back(
                    torch::from_blob(const_cast<std::uint8_t*>(s.truth.data()), {1, S, S, S}, torch::kUInt8)
                        .to(torch::kFloat));
            const auto truth = torch::stack(truths).to(device);
            loss = F::binary_cross_entropy_with_logits(out.logits, truth);
            for (std::int64_t b = 0; b < out.logits.size(0); ++b)
                loss = loss + training::diceLoss(out.logits[b], truth[b]) / double(out.logits.size(0));
            const auto pred = out.logits.detach().gt(0).cpu();
            for (std::size_t b = 0; b < batch.size(); ++b) {
                const auto p = pred[std::int64_t(b)].to(torch::kUInt8).contiguous();
                run.addDice(prepared[std::size_t(targets[std::size_t(batch[b].target)].volume)].group,
                            dice(p.data_ptr<std::uint8_t>(), batch[b].truth.data(), p.numel()));
            }
        }
        return loss;
    };

    ClickNetReport report;
    report.targets = static_cast<int>(targets.size());
    run.run<ClickNetReport>(report, step, trained, onReport, {});
    return report;
}

}  // namespace engram::model
