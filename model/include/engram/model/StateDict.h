#pragma once
// Strict loading of a module's parameters and buffers from a safetensors file.

#include <engram/model/SafeTensors.h>

#include <torch/nn/module.h>

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

}  // namespace engram::model
