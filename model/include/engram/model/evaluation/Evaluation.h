#pragma once
// The evaluation protocol of the papers (docs/MODELS.md section 5), run through the application's own
// engine: for every (scan, label) target the simulated user clicks up to `clicks` times, each click from
// the current error region on the scan's own grid, and Dice, NSD and ASSD of the whole-volume mask are
// recorded after every click. Methods share the protocol, so the table compares like with like:
//   mais          the network with memory attention (sparse + dense), bank size N (`mais@N` sets N)
//   sparse, dense memory attention reading one kind of memory only (ablation)
//   none          the same network with memory off (SAM-Med3D behaviour: clicks + previous mask only)
//   mais-no-gfs   clicknet models: memory on, the grow-from-seeds input channel zeroed (ablation)
//   region-growing  confidence-connected region growing from the same clicks (RegionGrowing.h)
//   grow-from-seeds the classical click tool: a seed competition from the same clicks (GrowFromSeeds.h),
//                   warm-started from click to click as in the app
// Every target's click sequence starts from the same seeded generator for every method.

#include <engram/model/training/Training.h>

#include <functional>
#include <string>
#include <vector>

namespace engram::model {

enum class EvalKind { Model, RegionGrowing, GrowFromSeeds };

struct EvalMethod {
    std::string name;
    EvalKind kind = EvalKind::Model;
    bool needsModel() const { return kind == EvalKind::Model; }
    MemoryMode mode = MemoryMode::SparseDense;
    int capacity = 60;
    bool seedChannel = true;
};

// Throws std::invalid_argument for an unknown name.
EvalMethod parseEvalMethod(const std::string& name, int defaultCapacity = 60);

struct EvalOptions {
    std::string weights;  // model file (needed only by methods that need one)
    std::vector<EvalMethod> methods;
    int clicks = 20;
    ClickRule rule = ClickRule::RandomError;
    unsigned seed = 1;
    std::string device = "cpu";
    double nsdToleranceMm = 1.0;
    int minTargetVoxels = 20;
};

struct EvalRow {
    std::string scan;
    int label = 0;
    std::string target;  // the label's name, for tables
    std::string method;
    int click = 0;  // 1-based
    double dice = 0, nsd = 0, assd = 0;
    double milliseconds = 0;  // the method's time for this click
};

// `onTarget(done, total)` after each (target, method). Throws WeightsError / std::invalid_argument.
std::vector<EvalRow> evaluateInteractive(const std::vector<LabelledVolume>& data, const EvalOptions& options,
                                         const std::function<void(int, int)>& onTarget = {});

// Mean Dice per method at each click 1..clicks, over all targets (a target that reached a perfect mask
// keeps its last value).
std::map<std::string, std::vector<double>> meanDiceCurves(const std::vector<EvalRow>& rows);

// A fixed-width table: mean Dice (and NSD) per method at the given clicks, one line per method, for all
// targets and then per target name.
std::string formatEvaluationTable(const std::vector<EvalRow>& rows, const std::vector<int>& clicks);

// scan,label,target,method,click,dice,nsd,assd_mm,ms
std::string toCsv(const std::vector<EvalRow>& rows);

}  // namespace engram::model
