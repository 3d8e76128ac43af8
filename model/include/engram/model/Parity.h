#pragma once
// Parity check of the SAM-Med3D network against a reference case (shared/parity/README.md format): builds
// the network from the case's config, loads its `model.*` weights strictly, runs the case's inputs and
// compares every `expected.*` tensor. No Torch types here: used by engram-cli and the ctest alike.

#include <string>
#include <vector>

namespace engram::model {

struct ParityResult {
    std::string name;
    double maxAbsDiff = 0;
    double tolerance = 0;
    bool pass() const { return maxAbsDiff <= tolerance; }
};

struct ParityOptions {
    bool literalEncoder = false;  // the reference's padded windowed attention instead of the exact fast path
    double tolerance = 1e-4;
    std::string device = "cpu";  // "cpu" or "cuda"
    std::string dtype = "f32";   // "f32", "bf16" or "f16": the network and inputs are cast to it
};

// Throws WeightsError when the case file cannot be used.
std::vector<ParityResult> runSamMed3DParity(const std::string& casePath, const ParityOptions& options = {});

// One line per tensor with its max abs difference, then "N passed, M failed".
std::string formatParityReport(const std::vector<ParityResult>& results);

}  // namespace engram::model
