// Every input the fuzz targets (tests/fuzz) ever found a crash, hang or sanitizer report with is kept in
// tests/fuzz/regressions/<target>/ and read here as that target reads it: each must get a plain message
// (InputError) or be read, never crash. The files are inputs the fuzzers derived from the project's own
// seeds.
#include "../support/TestSupport.h"

#include <engram/annotation/DicomSeg.h>
#include <engram/annotation/DicomSeries.h>
#include <engram/annotation/Errors.h>
#include <engram/annotation/Session.h>
#include <engram/annotation/VolumeIO.h>

#include <filesystem>

namespace fs = std::filesystem;
using namespace engram;
using engram::test::freshDir;

namespace {

const fs::path kRegressions = fs::path(ENGRAM_SOURCE_DIR) / "tests/fuzz/regressions";

// Reads `input` the way `target` does, from a copy named as that target names its inputs.
void readAs(const std::string& target, const fs::path& input, const fs::path& dir) {
    auto copyAs = [&](const std::string& name) {
        const fs::path p = dir / name;
        fs::copy_file(input, p, fs::copy_options::overwrite_existing);
        return p;
    };
    try {
        if (target == "fuzz_nifti" || target == "fuzz_nrrd" || target == "fuzz_mha" || target == "fuzz_mgh") {
            const std::string ext = target == "fuzz_nifti"  ? ".nii"
                                    : target == "fuzz_nrrd" ? ".nrrd"
                                    : target == "fuzz_mha"  ? ".mha"
                                                            : ".mgh";
            const fs::path p = copyAs("input" + ext);
            try {
                readVolumeFile(p);
            } catch (const InputError&) {
            }
            readLabelFile(p);
        } else if (target == "fuzz_dicom") {
            fs::create_directories(dir / "series");
            fs::copy_file(input, dir / "series/image.dcm", fs::copy_options::overwrite_existing);
            for (const auto& s : scanDicomFolder(dir / "series"))
                if (!s.isSegmentation) loadDicomSeries(s);
        } else if (target == "fuzz_session") {
            readSession(copyAs("input.engram"));
        } else {
            ADD_FAILURE() << "no reader for the regressions of " << target;
        }
    } catch (const InputError&) {
    }
}

}  // namespace

TEST(FuzzRegressions, EveryFoundInputGetsAPlainMessage) {
    ASSERT_TRUE(fs::is_directory(kRegressions));
    const fs::path dir = freshDir("fuzz-regressions");
    int inputs = 0;
    for (const auto& target : fs::directory_iterator(kRegressions))
        for (const auto& input : fs::directory_iterator(target.path())) {
            SCOPED_TRACE(input.path().string());
            readAs(target.path().filename().string(), input.path(), dir);
            ++inputs;
        }
    EXPECT_GT(inputs, 0);
}
