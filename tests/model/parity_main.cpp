// engram_parity <case.safetensors> [--literal]: runs a SAM-Med3D parity case (shared/parity/README.md) and
// exits non-zero when any expected tensor differs by more than 1e-4.
#include <engram/model/Parity.h>
#include <engram/model/SafeTensors.h>

#include <cstdio>
#include <cstring>

int main(int argc, char** argv) {
    if (argc < 2) {
        std::fprintf(stderr, "usage: engram_parity <case.safetensors> [--literal]\n");
        return 2;
    }
    engram::model::ParityOptions options;
    options.literalEncoder = argc > 2 && std::strcmp(argv[2], "--literal") == 0;
    try {
        const auto results = engram::model::runSamMed3DParity(argv[1], options);
        int failed = 0;
        for (const auto& r : results) {
            std::printf("%-40s max abs diff %.3g  %s\n", r.name.c_str(), r.maxAbsDiff,
                        r.pass() ? "ok" : "FAIL");
            failed += !r.pass();
        }
        std::printf("%zu passed, %d failed\n", results.size() - failed, failed);
        return failed == 0 && results.size() >= 10 ? 0 : 1;
    } catch (const engram::model::WeightsError& e) {
        std::fprintf(stderr, "%s\n", e.what());
        return 3;
    }
}
