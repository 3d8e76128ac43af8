// Volume and label files by extension (ENGRAM_FUZZ_EXT: .nii, .nrrd, .mha, .mgh), through readVolumeFile
// and readLabelFile, as File > Open and Open Segmentation read them. For .nii and .mgh a gzip stream is
// written as .nii.gz / .mgz, so one corpus covers both.
#include "FuzzSupport.h"

#include <engram/annotation/Errors.h>
#include <engram/annotation/VolumeIO.h>

using namespace engram;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    fuzz::quietLogs();
    std::string ext = ENGRAM_FUZZ_EXT;
    if (fuzz::gzipped(data, size)) ext = ext == ".mgh" ? ".mgz" : ext == ".nii" ? ".nii.gz" : ext;
    const auto path = fuzz::writeInput("input" + ext, data, size);
    try {
        const Volume v = readVolumeFile(path);
        (void)v.valueRange();
    } catch (const InputError&) {
    }
    try {
        readLabelFile(path);
    } catch (const InputError&) {
    }
    return 0;
}
