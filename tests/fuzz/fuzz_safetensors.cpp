// A model file (safetensors): the header is validated on open, then every tensor is loaded, as the engine
// does with a model someone sent.
#include "FuzzSupport.h"

#include <engram/model/weights/SafeTensors.h>

using namespace engram;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    fuzz::quietLogs();
    const auto path = fuzz::writeInput("model.safetensors", data, size);
    try {
        const model::SafeTensorsFile file(path.string());
        for (const auto& [name, entry] : file.entries()) (void)file.load(name);
    } catch (const model::WeightsError&) {
    }
    return 0;
}
