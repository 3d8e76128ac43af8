#include <engram/model/weights/StateDict.h>

#include <spdlog/spdlog.h>
#include <torch/csrc/autograd/grad_mode.h>

#include <algorithm>
#include <set>
#include <sstream>

namespace engram::model {
namespace {

std::string shapeOf(c10::IntArrayRef s) {
    std::ostringstream o;
    o << "[";
    for (size_t i = 0; i < s.size(); ++i) o << (i ? ", " : "") << s[i];
    o << "]";
    return o.str();
}

}  // namespace

void loadStateDict(torch::nn::Module& module, const SafeTensorsFile& file, const std::string& prefix,
                   bool strict, const std::vector<std::string>& otherPrefixes) {
    std::vector<std::pair<std::string, torch::Tensor>> targets;
    for (const auto& p : module.named_parameters(true)) targets.emplace_back(p.key(), p.value());
    for (const auto& b : module.named_buffers(true)) targets.emplace_back(b.key(), b.value());

    std::vector<std::string> problems;
    std::set<std::string> used;
    std::vector<std::pair<torch::Tensor, torch::Tensor>> copies;
    for (const auto& [name, target] : targets) {
        const std::string key = prefix + name;
        used.insert(key);
        const auto it = file.entries().find(key);
        if (it == file.entries().end()) {
            problems.push_back("missing '" + key + "' " + shapeOf(target.sizes()));
            continue;
        }
        if (c10::IntArrayRef(it->second.shape) != target.sizes()) {
            problems.push_back("'" + key + "' has shape " + shapeOf(it->second.shape) +
                               ", the network expects " + shapeOf(target.sizes()));
            continue;
        }
        const torch::Tensor t = file.load(key);
        if (t.is_floating_point() && !torch::isfinite(t).all().item<bool>()) {
            problems.push_back("'" + key + "' holds NaN or infinite values");
            continue;
        }
        copies.emplace_back(target, t);
    }
    if (strict)
        for (const auto& item : file.entries()) {
            const std::string& key = item.first;
            if (key.compare(0, prefix.size(), prefix) == 0 && !used.count(key) &&
                std::none_of(otherPrefixes.begin(), otherPrefixes.end(), [&](const std::string& other) {
                    return key.compare(prefix.size(), other.size(), other) == 0;
                }))
                problems.push_back("unexpected '" + key + "' " + shapeOf(item.second.shape));
        }
    if (!problems.empty()) {
        std::string message = "Weights " + file.path() + " do not fit the network (" +
                              std::to_string(problems.size()) + " problems):";
        for (size_t i = 0; i < problems.size() && i < 20; ++i) message += "\n  " + problems[i];
        if (problems.size() > 20) message += "\n  ...";
        throw WeightsError(message);
    }
    torch::NoGradGuard noGrad;
    for (auto& [target, source] : copies) target.copy_(source.to(target.dtype()));
    spdlog::info("loaded {} tensors from {}", copies.size(), file.path());
}

std::string modelFamily(const std::string& path) {
    const SafeTensorsFile file(path);
    const auto it = file.metadata().find("family");
    return it == file.metadata().end() ? std::string() : it->second;
}

std::string familyConfig(const SafeTensorsFile& file, const std::string& path, const std::string& family) {
    const auto& meta = file.metadata();
    const auto it = meta.find("family");
    if (it == meta.end() || it->second != family)
        throw WeightsError("Weights " + path + " are not a " + family + " model file.");
    const auto config = meta.find(family);
    return config == meta.end() ? std::string() : config->second;
}

void saveFamilyFile(const torch::nn::Module& module, const std::string& path, const std::string& format,
                    const std::string& family, const std::string& configJson,
                    const std::map<std::string, torch::Tensor>& extraTensors,
                    const std::map<std::string, std::string>& extraMetadata, bool half) {
    std::map<std::string, torch::Tensor> tensors = extraTensors;
    auto put = [&](const std::string& key, const torch::Tensor& t) {
        tensors[key] = half && t.is_floating_point() ? t.detach().cpu().to(torch::kHalf) : t.detach().cpu();
    };
    for (const auto& p : module.named_parameters()) put(p.key(), p.value());
    for (const auto& b : module.named_buffers()) put(b.key(), b.value());
    std::map<std::string, std::string> meta = extraMetadata;
    meta["format"] = format;
    meta["family"] = family;
    meta[family] = configJson;
    writeSafeTensors(path, tensors, meta);
}

}  // namespace engram::model
