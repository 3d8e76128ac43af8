#include <engram/model/SliceMemory.h>

#include <torch/torch.h>

#include <algorithm>

namespace engram::model {

std::vector<ChosenMemory> chooseRecent(const std::map<std::int64_t, SliceMemory>& recent, std::int64_t t,
                                       int dir, int numMaskmem) {
    std::vector<ChosenMemory> chosen;
    for (int slot = 1; slot < numMaskmem; ++slot) {
        const auto it = recent.find(t - dir * (numMaskmem - slot));
        if (it != recent.end()) chosen.push_back({slot, &it->second});
    }
    return chosen;
}

bool SelfSortingBank::offer(const SliceMemory& m) {
    if (!m.present || m.iou < admissionIou_ || capacity_ < 1) return false;
    if (int(entries_.size()) < capacity_) {
        entries_.push_back(m);
        return true;
    }
    const auto candidate = m.features.flatten();
    std::size_t redundant = 0;
    float highest = -2;
    for (std::size_t i = 0; i < entries_.size(); ++i) {
        const float similarity =
            torch::cosine_similarity(candidate, entries_[i].features.flatten(), 0).item<float>();
        if (similarity > highest) {
            highest = similarity;
            redundant = i;
        }
    }
    entries_[redundant] = m;
    return true;
}

std::vector<ChosenMemory> SelfSortingBank::choose(const torch::Tensor& descriptor, std::int64_t t,
                                                  int numMaskmem) const {
    std::vector<std::pair<float, const SliceMemory*>> ranked;
    for (const auto& m : entries_)
        ranked.push_back({torch::cosine_similarity(descriptor, m.descriptor, 0).item<float>(), &m});
    std::stable_sort(ranked.begin(), ranked.end(),
                     [](const auto& a, const auto& b) { return a.first > b.first; });
    std::vector<ChosenMemory> chosen;
    for (std::size_t i = 0; i < ranked.size() && int(i) < numMaskmem - 1; ++i) {
        const auto distance = std::abs(t - ranked[i].second->slice);
        chosen.push_back(
            {int(std::clamp<std::int64_t>(numMaskmem - distance, 1, numMaskmem - 1)), ranked[i].second});
    }
    return chosen;
}

}  // namespace engram::model
