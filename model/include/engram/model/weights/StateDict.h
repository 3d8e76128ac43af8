#pragma once
// Strict loading of a module's parameters and buffers from a safetensors file.

#include <engram/model/weights/SafeTensors.h>

#include <torch/nn/module.h>

#include <map>
#include <stdexcept>
#include <string>
#include <vector>

namespace engram::model {

// Copies every parameter and buffer of `module` from the tensor named `prefix + name` in `file`, converting
// float16/bfloat16 to the module's dtype. Throws WeightsError naming every missing, unexpected (under
// `prefix`, when `strict`) and mis-shaped key, and any tensor holding NaN or infinity. On error the module
// is left unchanged.
// Keys under any of `otherPrefixes` (relative to `prefix`) belong to other modules and are not unexpected.
void loadStateDict(torch::nn::Module& module, const SafeTensorsFile& file, const std::string& prefix = "",
                   bool strict = true, const std::vector<std::string>& otherPrefixes = {});

// The compact model families' files (ClickNetModel, SliceNetModel): metadata "family" names the family and
// the metadata entry of the family's name holds its configuration as JSON.
//
// The family a file names; empty for files that name none (SAM-Med3D, SAM 2). Throws WeightsError when the
// file cannot be read as safetensors.
std::string modelFamily(const std::string& path);
// The configuration JSON of `file` (read from `path`), empty when it has none. Throws WeightsError when the
// file is not of `family`.
std::string familyConfig(const SafeTensorsFile& file, const std::string& path, const std::string& family);
// A family's model file as `Model` (ClickNetModel, SliceNetModel: its Config, create(config), net), in
// inference mode; a file without a configuration gets the default one. Throws WeightsError for a file of
// another family, an unusable configuration, and missing, unexpected or mis-shaped tensors.
template <typename Model>
Model loadFamilyModel(const std::string& path, const std::string& family) {
    const SafeTensorsFile file(path);
    typename Model::Config config;
    try {
        if (const auto json = familyConfig(file, path, family); !json.empty())
            config = Model::Config::fromJson(json);
    } catch (const std::invalid_argument& e) {
        throw WeightsError("Weights " + path + ": " + e.what());
    }
    Model m = Model::create(config);
    loadStateDict(*m.net, file, "", true, {"optimizer."});
    m.net->eval();
    return m;
}
// Writes `module`'s parameters and buffers (floating ones in float16 when `half`) and `extraTensors`, with
// `extraMetadata` plus "format", "family" and the configuration.
void saveFamilyFile(const torch::nn::Module& module, const std::string& path, const std::string& format,
                    const std::string& family, const std::string& configJson,
                    const std::map<std::string, torch::Tensor>& extraTensors,
                    const std::map<std::string, std::string>& extraMetadata, bool half);

}  // namespace engram::model
