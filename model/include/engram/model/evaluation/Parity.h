#pragma once
// Parity checks of the networks against reference cases (shared/parity/README.md formats): build the network
// from the case's config, load its `model.*` weights strictly, run the case's inputs and compare every
// `expected.*` tensor. SAM-Med3D cases, and SAM 2 module cases (metadata format "sam2-module-parity/1":
// image encoder + neck, SAM heads, memory encoder, memory attention). No Torch types here: used by
// engram-cli and the ctests alike.

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
std::vector<ParityResult> runSam2Parity(const std::string& casePath, const ParityOptions& options = {});
// Either of the two, by the case's metadata format.
std::vector<ParityResult> runParity(const std::string& casePath, const ParityOptions& options = {});

// One line per tensor with its max abs difference, then "N passed, M failed".
std::string formatParityReport(const std::vector<ParityResult>& results);

}  // namespace engram::model
