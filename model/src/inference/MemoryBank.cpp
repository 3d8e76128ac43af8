#include <engram/model/inference/MemoryBank.h>

#include <torch/nn/functional/pooling.h>

#include <stdexcept>
#include <string>

namespace engram::model {

MemoryBank::MemoryBank(int capacity, MemoryMode mode) : capacity_(capacity), mode_(mode) {
    if (capacity < 0 || capacity > kMaxCapacity)
        throw std::invalid_argument("memory bank capacity must be 0.." + std::to_string(kMaxCapacity) +
                                    ", not " + std::to_string(capacity));
}

void MemoryBank::push(const torch::Tensor& sparse, const torch::Tensor& dense,
                      const torch::Tensor& denseFeature) {
    if (sparse.dim() != 2 || sparse.size(0) < 1 || dense.dim() != 4)
        throw std::invalid_argument("a memory needs sparse [T, P] and dense [P, G, G, G] embeddings");
    if (sparse.size(1) != dense.size(0))
        throw std::invalid_argument("sparse and dense memory embeddings differ in width");
    if (!memories_.empty() && (memories_.back()->dense.sizes() != dense.sizes() ||
                               memories_.back()->sparse.size(1) != sparse.size(1)))
        throw std::invalid_argument("memory shapes differ from the memories already in the bank");
    if (capacity_ == 0) return;
    if (static_cast<int>(memories_.size()) == capacity_) memories_.pop_front();
    Memory m{sparse.detach(), dense.detach(), {}, {}};
    if (denseFeature.defined()) {
        m.denseFeature = denseFeature.detach();
        m.denseCoarse = torch::nn::functional::avg_pool3d(m.denseFeature.unsqueeze(0),
                                                          torch::nn::functional::AvgPool3dFuncOptions(2))
                            .squeeze(0);
    }
    memories_.push_back(std::make_shared<const Memory>(std::move(m)));
}

torch::Tensor MemoryBank::sparseStack(torch::Tensor* sparseOwner) const {
    if (memories_.empty() || mode_ == MemoryMode::None || mode_ == MemoryMode::Dense) return {};
    std::vector<torch::Tensor> parts, owners;
    for (std::size_t i = 0; i < memories_.size(); ++i) {
        parts.push_back(memories_[i]->sparse);
        owners.push_back(
            torch::full({memories_[i]->sparse.size(0)}, static_cast<std::int64_t>(i), torch::kLong));
    }
    if (sparseOwner) *sparseOwner = torch::cat(owners);
    return torch::cat(parts).unsqueeze(0);
}

torch::Tensor MemoryBank::denseStack() const {
    if (memories_.empty() || mode_ == MemoryMode::None || mode_ == MemoryMode::Sparse) return {};
    std::vector<torch::Tensor> parts;
    for (const auto& m : memories_) parts.push_back(m->dense);
    return torch::stack(parts).unsqueeze(0);
}

namespace {

torch::Tensor stackCached(const std::deque<std::shared_ptr<const Memory>>& memories, MemoryMode mode,
                          torch::Tensor Memory::*field) {
    if (memories.empty() || mode == MemoryMode::None || mode == MemoryMode::Sparse) return {};
    std::vector<torch::Tensor> parts;
    for (const auto& m : memories) {
        if (!((*m).*field).defined()) return {};
        parts.push_back((*m).*field);
    }
    return torch::stack(parts).unsqueeze(0);
}

}  // namespace

torch::Tensor MemoryBank::denseFeatureStack() const {
    return stackCached(memories_, mode_, &Memory::denseFeature);
}

torch::Tensor MemoryBank::denseCoarseStack() const {
    return stackCached(memories_, mode_, &Memory::denseCoarse);
}

}  // namespace engram::model
