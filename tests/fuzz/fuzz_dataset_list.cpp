// A dataset list (engram-cli train/evaluate --data): lines of image, labels and options.
#include "FuzzSupport.h"

#include <engram/annotation/Errors.h>
#include <engram/annotation/TrainingData.h>

using namespace engram;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    fuzz::quietLogs();
    const auto path = fuzz::writeInput("list.txt", data, size);
    try {
        readDatasetList(path);
    } catch (const InputError&) {
    }
    try {
        readLabelNames(path);
    } catch (const InputError&) {
    }
    return 0;
}
