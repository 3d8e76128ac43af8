#include <engram/model/classical/GrowFromSeeds.h>
#include <engram/model/classical/RegionGrowing.h>
#include <engram/model/evaluation/Evaluation.h>
#include <engram/model/inference/MemoryBank.h>
#include <engram/model/inference/SegmentationEngine.h>

#include "training/TrainingSupport.h"

#include <spdlog/spdlog.h>

#include <chrono>
#include <cmath>
#include <iomanip>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <sstream>

namespace engram::model {

EvalMethod parseEvalMethod(const std::string& name, int defaultCapacity) {
    EvalMethod m;
    m.name = name;
    m.capacity = defaultCapacity;
    std::string base = name;
    if (const auto at = name.find('@'); at != std::string::npos) {
        base = name.substr(0, at);
        try {
            std::size_t used = 0;
            m.capacity = std::stoi(name.substr(at + 1), &used);
            if (used != name.size() - at - 1) throw std::invalid_argument(name);
        } catch (const std::exception&) {
            throw std::invalid_argument("method '" + name + "': expected a bank size after '@'");
        }
    }
    if (base == "mais")
        m.mode = MemoryMode::SparseDense;
    else if (base == "sparse")
        m.mode = MemoryMode::Sparse;
    else if (base == "dense")
        m.mode = MemoryMode::Dense;
    else if (base == "none")
        m.mode = MemoryMode::None;
    else if (base == "mais-no-gfs")
        m.seedChannel = false;
    else if (base == "region-growing")
        m.kind = EvalKind::RegionGrowing;
    else if (base == "grow-from-seeds")
        m.kind = EvalKind::GrowFromSeeds;
    else
        throw std::invalid_argument(
            "unknown method '" + name +
            "' (mais, mais@N, mais-no-gfs, sparse, dense, none, region-growing, grow-from-seeds)");
    if (m.capacity < 0 || m.capacity > MemoryBank::kMaxCapacity)
        throw std::invalid_argument("method '" + name + "': bank size must be 0..80");
    return m;
}

namespace {

struct Case {
    int volume;
    int label;
    std::vector<std::uint8_t> truth;
};

std::vector<Case> casesOf(const std::vector<LabelledVolume>& data, int minVoxels) {
    std::vector<Case> cases;
    for (int v = 0; v < static_cast<int>(data.size()); ++v) {
        const auto& d = data[static_cast<std::size_t>(v)];
        for (int label : d.labelsToUse(minVoxels)) {
            Case c{v, label, std::vector<std::uint8_t>(d.labels.size())};
            for (std::size_t o = 0; o < d.labels.size(); ++o) c.truth[o] = d.labels[o] == label;
            cases.push_back(std::move(c));
        }
    }
    return cases;
}

}  // namespace

std::vector<EvalRow> evaluateInteractive(const std::vector<LabelledVolume>& data, const EvalOptions& o,
                                         const std::function<void(int, int)>& onTarget) {
    training::requireImages(data, "evaluate");
    if (o.methods.empty()) throw std::invalid_argument("no evaluation method given");
    if (o.clicks < 1) throw std::invalid_argument("at least one click is needed");
    const auto cases = casesOf(data, o.minTargetVoxels);
    if (cases.empty()) throw std::invalid_argument("no target label to evaluate");

    std::vector<EvalRow> rows;
    int done = 0;
    const int total = static_cast<int>(cases.size() * o.methods.size());
    for (const auto& method : o.methods) {
        std::unique_ptr<SegmentationEngine> engine;
        if (method.needsModel()) {
            EngineOptions eo;
            eo.weights = o.weights;
            eo.device = o.device;
            eo.memoryMode = method.mode;
            eo.memoryCapacity = method.capacity;
            eo.seedChannel = method.seedChannel;
            engine = std::make_unique<SegmentationEngine>(eo);
        }
        int currentVolume = -1;
        for (const auto& c : cases) {
            const auto& d = data[static_cast<std::size_t>(c.volume)];
            const Dims3 dims{d.grid.size[0], d.grid.size[1], d.grid.size[2]};
            const Spacing3 spacing{d.grid.spacing[0], d.grid.spacing[1], d.grid.spacing[2]};
            if (engine && currentVolume != c.volume) {
                engine->setVolume(d.grid, d.image.data(), nullptr);
                currentVolume = c.volume;
            }
            std::unique_ptr<SegmentationSession> session;
            if (engine) session = std::make_unique<SegmentationSession>(*engine);
            std::optional<SeedGrower> grower;
            if (method.kind == EvalKind::GrowFromSeeds) grower.emplace(d.image.data(), dims, spacing);
            // The same generator for every method: the first click is identical.
            std::mt19937 rng(o.seed * 7919u + static_cast<unsigned>(c.volume) * 257u +
                             static_cast<unsigned>(c.label));
            std::vector<std::uint8_t> prediction(c.truth.size(), 0);
            std::vector<SimulatedClick> clicks;
            EvalRow last;
            for (int k = 1; k <= o.clicks; ++k) {
                const auto click = nextClick(prediction.data(), c.truth.data(), dims, spacing, o.rule, rng);
                if (!click) {  // perfect: the mask stays as it is
                    last.click = k;
                    last.milliseconds = 0;
                    rows.push_back(last);
                    continue;
                }
                clicks.push_back(*click);
                const auto start = std::chrono::steady_clock::now();
                if (session) {
                    const auto& i = click->index;
                    const auto outcome = session->addClick(
                        d.grid.indexToWorld({double(i[0]), double(i[1]), double(i[2])}), click->positive);
                    prediction = outcome.mask.toVolume(dims);
                } else if (grower) {
                    prediction = grower->grow(clicks).mask.toVolume(dims);
                } else {
                    prediction = growRegion(d.image.data(), dims, spacing, clicks);
                }
                const double ms =
                    std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
                        .count();
                const auto cmp =
                    compareMasks(prediction.data(), c.truth.data(), dims, spacing, o.nsdToleranceMm);
                last = EvalRow{d.name,   c.label, d.targetName(c.label), method.name, k, cmp.dice, cmp.nsd,
                               cmp.assd, ms};
                rows.push_back(last);
            }
            ++done;
            if (onTarget) onTarget(done, total);
        }
    }
    return rows;
}

std::map<std::string, std::vector<double>> meanDiceCurves(const std::vector<EvalRow>& rows) {
    std::map<std::string, std::vector<double>> sums, counts, curves;
    for (const auto& r : rows) {
        auto& s = sums[r.method];
        auto& n = counts[r.method];
        if (static_cast<int>(s.size()) < r.click) {
            s.resize(static_cast<std::size_t>(r.click), 0);
            n.resize(static_cast<std::size_t>(r.click), 0);
        }
        s[static_cast<std::size_t>(r.click - 1)] += r.dice;
        n[static_cast<std::size_t>(r.click - 1)] += 1;
    }
    for (const auto& [method, s] : sums) {
        auto& c = curves[method];
        for (std::size_t k = 0; k < s.size(); ++k)
            c.push_back(counts[method][k] > 0 ? s[k] / counts[method][k] : 0);
    }
    return curves;
}

std::string formatEvaluationTable(const std::vector<EvalRow>& rows, const std::vector<int>& clicks) {
    // (method, target name or "" for all) -> click -> (dice sum, nsd sum, count)
    std::map<std::pair<std::string, std::string>, std::map<int, std::array<double, 3>>> acc;
    std::vector<std::string> methods;
    std::set<std::string> targets;
    for (const auto& r : rows) {
        if (std::find(methods.begin(), methods.end(), r.method) == methods.end()) methods.push_back(r.method);
        targets.insert(r.target);
        for (const std::string& l : {std::string(), r.target}) {
            auto& a = acc[{r.method, l}][r.click];
            a[0] += r.dice;
            a[1] += r.nsd;
            a[2] += 1;
        }
    }
    std::ostringstream out;
    out << std::fixed << std::setprecision(3);
    auto block = [&](const std::string& target) {
        out << (target.empty() ? std::string("all targets") : target) << "\n";
        out << "  " << std::left << std::setw(18) << "method";
        for (int k : clicks) out << std::right << std::setw(9) << ("Dice@" + std::to_string(k));
        for (int k : clicks) out << std::right << std::setw(9) << ("NSD@" + std::to_string(k));
        out << "\n";
        for (const auto& m : methods) {
            const auto it = acc.find({m, target});
            if (it == acc.end()) continue;
            out << "  " << std::left << std::setw(18) << m;
            for (int i = 0; i < 2; ++i)
                for (int k : clicks) {
                    const auto c = it->second.find(k);
                    if (c == it->second.end())
                        out << std::right << std::setw(9) << "-";
                    else
                        out << std::right << std::setw(9)
                            << c->second[static_cast<std::size_t>(i)] / c->second[2];
                }
            out << "\n";
        }
    };
    block({});
    if (targets.size() > 1)
        for (const auto& t : targets) block(t);
    return out.str();
}

std::string toCsv(const std::vector<EvalRow>& rows) {
    std::ostringstream out;
    out << "scan,label,target,method,click,dice,nsd,assd_mm,ms\n" << std::setprecision(6);
    for (const auto& r : rows)
        out << r.scan << ',' << r.label << ',' << r.target << ',' << r.method << ',' << r.click << ','
            << r.dice << ',' << r.nsd << ','
            << (std::isnan(r.assd) ? std::string("nan") : std::to_string(r.assd)) << ',' << r.milliseconds
            << '\n';
    return out.str();
}

}  // namespace engram::model
