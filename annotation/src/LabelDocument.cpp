#include <engram/annotation/LabelDocument.h>

namespace engram {

LabelDocument::LabelDocument(LabelMap labels, SegmentList segments)
    : labels_(std::move(labels)), segments_(std::move(segments)) {
    // One pass: the count and the box of every label value.
    const auto& g = labels_.geometry();
    std::size_t n = 0;
    for (std::int64_t k = 0; k < g.size[2]; ++k)
        for (std::int64_t j = 0; j < g.size[1]; ++j)
            for (std::int64_t i = 0; i < g.size[0]; ++i, ++n) {
                const auto l = labels_.labels()[n];
                ++counts_[l];
                if (l) extents_[l].add({i, j, k});
            }
    for (int l = 1; l < 256; ++l)
        if (counts_[std::size_t(l)] > 0) ensureSegment(std::uint8_t(l));
}

bool LabelDocument::ensureSegment(std::uint8_t label) {
    if (segments_.find(label)) return false;
    segments_.put(SegmentList::defaultFor(label));
    return true;
}

void LabelDocument::apply(const SegmentEdit& edit, bool forward) {
    applyEdit(labels_, edit, forward);
    const auto& now = forward ? edit.after : edit.before;
    const auto& old = forward ? edit.before : edit.after;
    std::array<bool, 256> gained{};
    for (std::size_t v = 0; v < now.size(); ++v)
        if (now[v] != old[v]) {
            --counts_[old[v]];
            ++counts_[now[v]];
            gained[now[v]] = true;
        }
    for (int l = 1; l < 256; ++l)
        if (gained[std::size_t(l)]) extents_[std::size_t(l)].unite(edit.box());
}

}  // namespace engram
