// engram_parity <case.safetensors> [--literal] [--device cuda] [--dtype bf16|f16] [--tolerance T]: runs a
// SAM-Med3D parity case (shared/parity/README.md); exits non-zero when a tensor differs by more than T
// (1e-4).
#include <engram/model/evaluation/Parity.h>
#include <engram/model/weights/SafeTensors.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>

int main(int argc, char** argv) {
    if (argc < 2) {
        std::fprintf(stderr, "usage: engram_parity <case.safetensors> [--literal]\n");
        return 2;
    }
    engram::model::ParityOptions options;
    for (int i = 2; i < argc; ++i) {
        if (!std::strcmp(argv[i], "--literal"))
            options.literalEncoder = true;
        else if (!std::strcmp(argv[i], "--device") && i + 1 < argc)
            options.device = argv[++i];
        else if (!std::strcmp(argv[i], "--dtype") && i + 1 < argc)
            options.dtype = argv[++i];
        else if (!std::strcmp(argv[i], "--tolerance") && i + 1 < argc)
            options.tolerance = std::atof(argv[++i]);
    }
    try {
        const auto results = engram::model::runParity(argv[1], options);
        std::fputs(engram::model::formatParityReport(results).c_str(), stdout);
        const bool allPass =
            std::all_of(results.begin(), results.end(), [](const auto& r) { return r.pass(); });
        return allPass && results.size() >= 10 ? 0 : 1;
    } catch (const engram::model::WeightsError& e) {
        std::fprintf(stderr, "%s\n", e.what());
        return 3;
    } catch (const std::exception& e) {  // a device or dtype the LibTorch build does not support
        std::fprintf(stderr, "engram_parity: %s\n", e.what());
        return 4;
    }
}
