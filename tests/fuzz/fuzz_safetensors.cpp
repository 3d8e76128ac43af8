// A model file (safetensors): the header is validated on open, then every tensor is loaded, as the engine
// does with a model someone sent.
#include "FuzzSupport.h"

#include <engram/model/SafeTensors.h>

#include <spdlog/spdlog.h>

using namespace engram;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static const bool quiet = (spdlog::set_level(spdlog::level::off), true);
    (void)quiet;
    const auto path = fuzz::writeInput("model.safetensors", data, size);
    try {
        const model::SafeTensorsFile file(path.string());
        for (const auto& [name, entry] : file.entries()) (void)file.load(name);
    } catch (const model::WeightsError&) {
    }
    return 0;
}
