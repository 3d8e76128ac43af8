#include <engram/model/classical/RegionGrowing.h>

#include <algorithm>
#include <cmath>

namespace engram::model {

std::vector<std::uint8_t> growRegion(const float* image, const Dims3& n, const Spacing3& spacing,
                                     const std::vector<SimulatedClick>& clicks,
                                     const RegionGrowingOptions& options) {
    const std::int64_t count = n[0] * n[1] * n[2];
    const std::int64_t stride[3] = {1, n[0], n[0] * n[1]};
    std::vector<std::uint8_t> region(static_cast<std::size_t>(count), 0);
    auto offset = [&](const std::array<std::int64_t, 3>& i) {
        return i[0] + stride[1] * i[1] + stride[2] * i[2];
    };
    auto inside = [&](const std::array<std::int64_t, 3>& q) {
        return q[0] >= 0 && q[1] >= 0 && q[2] >= 0 && q[0] < n[0] && q[1] < n[1] && q[2] < n[2];
    };

    // Per positive click: its value, and the spread of its 3x3x3 neighbourhood (scaled median absolute
    // deviation). A click near an edge has other tissue in its neighbourhood and a larger spread: the
    // smallest spread of all clicks is used.
    std::vector<double> centres, spreads;
    std::vector<double> values;
    auto median = [](std::vector<double>& x) {
        std::nth_element(x.begin(), x.begin() + std::ptrdiff_t(x.size() / 2), x.end());
        return x[x.size() / 2];
    };
    for (const auto& c : clicks) {
        if (!c.positive) continue;
        values.clear();
        for (int dz = -1; dz <= 1; ++dz)
            for (int dy = -1; dy <= 1; ++dy)
                for (int dx = -1; dx <= 1; ++dx) {
                    const std::array<std::int64_t, 3> q{c.index[0] + dx, c.index[1] + dy, c.index[2] + dz};
                    if (inside(q)) values.push_back(image[offset(q)]);
                }
        const double m = median(values);
        for (auto& v : values) v = std::abs(v - m);
        centres.push_back(image[offset(c.index)]);
        spreads.push_back(1.4826 * median(values));
    }
    if (centres.empty()) return region;
    const double half = std::max(options.multiplier * *std::min_element(spreads.begin(), spreads.end()),
                                 options.minHalfWidth);
    const double lo = *std::min_element(centres.begin(), centres.end()) - half,
                 hi = *std::max_element(centres.begin(), centres.end()) + half;

    // Voxels near a negative click are barriers.
    std::vector<std::uint8_t> blocked(static_cast<std::size_t>(count), 0);
    const double r2 = options.negativeRadiusMm * options.negativeRadiusMm;
    for (const auto& c : clicks) {
        if (c.positive) continue;
        std::int64_t reach[3];
        for (int a = 0; a < 3; ++a)
            reach[a] = static_cast<std::int64_t>(options.negativeRadiusMm / spacing[a]);
        for (std::int64_t dz = -reach[2]; dz <= reach[2]; ++dz)
            for (std::int64_t dy = -reach[1]; dy <= reach[1]; ++dy)
                for (std::int64_t dx = -reach[0]; dx <= reach[0]; ++dx) {
                    const std::array<std::int64_t, 3> q{c.index[0] + dx, c.index[1] + dy, c.index[2] + dz};
                    if (!inside(q)) continue;
                    const double d2 = std::pow(double(dx) * spacing[0], 2) +
                                      std::pow(double(dy) * spacing[1], 2) +
                                      std::pow(double(dz) * spacing[2], 2);
                    if (d2 <= r2) blocked[static_cast<std::size_t>(offset(q))] = 1;
                }
    }

    std::vector<std::int64_t> stack;
    auto admit = [&](std::int64_t o) {
        if (region[static_cast<std::size_t>(o)] || blocked[static_cast<std::size_t>(o)]) return;
        if (image[o] < lo || image[o] > hi) return;
        region[static_cast<std::size_t>(o)] = 1;
        stack.push_back(o);
    };
    for (const auto& c : clicks)
        if (c.positive) admit(offset(c.index));
    while (!stack.empty()) {
        const std::int64_t o = stack.back();
        stack.pop_back();
        const std::array<std::int64_t, 3> idx{o % n[0], (o / n[0]) % n[1], o / stride[2]};
        for (int a = 0; a < 3; ++a) {
            if (idx[static_cast<std::size_t>(a)] > 0) admit(o - stride[a]);
            if (idx[static_cast<std::size_t>(a)] < n[static_cast<std::size_t>(a)] - 1) admit(o + stride[a]);
        }
    }
    return region;
}

}  // namespace engram::model
