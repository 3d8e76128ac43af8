#include <engram/model/metrics/SimulatedClicks.h>

#include <algorithm>
#include <stdexcept>

namespace engram::model {

ClickRule parseClickRule(const std::string& name) {
    if (name == "random") return ClickRule::RandomError;
    if (name == "centre" || name == "center" || name == "largest-error-centre")
        return ClickRule::LargestErrorCentre;
    throw std::invalid_argument("unknown click rule '" + name + "' (random or centre)");
}

std::string toString(ClickRule rule) { return rule == ClickRule::RandomError ? "random" : "centre"; }

namespace {

std::array<std::int64_t, 3> unravel(std::int64_t o, const Dims3& n) {
    return {o % n[0], (o / n[0]) % n[1], o / (n[0] * n[1])};
}

// Voxel offsets of the largest 6-connected component of `error`.
std::vector<std::int64_t> largestComponent(const std::vector<std::uint8_t>& error, const Dims3& n) {
    const std::int64_t count = n[0] * n[1] * n[2];
    std::vector<std::uint8_t> seen(static_cast<std::size_t>(count), 0);
    std::vector<std::int64_t> best, current, stack;
    for (std::int64_t start = 0; start < count; ++start) {
        if (!error[static_cast<std::size_t>(start)] || seen[static_cast<std::size_t>(start)]) continue;
        current.clear();
        stack.assign(1, start);
        seen[static_cast<std::size_t>(start)] = 1;
        while (!stack.empty()) {
            const std::int64_t o = stack.back();
            stack.pop_back();
            current.push_back(o);
            const auto idx = unravel(o, n);
            const std::int64_t stride[3] = {1, n[0], n[0] * n[1]};
            for (int a = 0; a < 3; ++a)
                for (int side : {-1, 1}) {
                    const std::int64_t c = idx[static_cast<std::size_t>(a)] + side;
                    if (c < 0 || c >= n[static_cast<std::size_t>(a)]) continue;
                    const std::int64_t q = o + side * stride[a];
                    if (error[static_cast<std::size_t>(q)] && !seen[static_cast<std::size_t>(q)]) {
                        seen[static_cast<std::size_t>(q)] = 1;
                        stack.push_back(q);
                    }
                }
        }
        if (current.size() > best.size()) std::swap(best, current);
    }
    return best;
}

// The voxel of `component` farthest (mm) from every voxel outside it, the grid's outside included.
std::int64_t deepestVoxel(const std::vector<std::int64_t>& component, const Dims3& n,
                          const Spacing3& spacing) {
    Dims3 lo{n[0], n[1], n[2]}, hi{-1, -1, -1};
    for (std::int64_t o : component) {
        const auto idx = unravel(o, n);
        for (std::size_t a = 0; a < 3; ++a) {
            lo[a] = std::min(lo[a], idx[a]);
            hi[a] = std::max(hi[a], idx[a]);
        }
    }
    // The box padded by one voxel of outside on every side: distances to "not in the component".
    const Dims3 bn{hi[0] - lo[0] + 3, hi[1] - lo[1] + 3, hi[2] - lo[2] + 3};
    std::vector<std::uint8_t> outside(static_cast<std::size_t>(bn[0] * bn[1] * bn[2]), 1);
    auto boxOffset = [&](const std::array<std::int64_t, 3>& idx) {
        return (idx[0] - lo[0] + 1) + bn[0] * ((idx[1] - lo[1] + 1) + bn[1] * (idx[2] - lo[2] + 1));
    };
    for (std::int64_t o : component) outside[static_cast<std::size_t>(boxOffset(unravel(o, n)))] = 0;
    const auto d = squaredDistanceToFeature(outside.data(), bn, spacing);
    std::int64_t best = component.front();
    float bestD = -1;
    for (std::int64_t o : component) {
        const float v = d[static_cast<std::size_t>(boxOffset(unravel(o, n)))];
        if (v > bestD) {
            bestD = v;
            best = o;
        }
    }
    return best;
}

}  // namespace

std::optional<SimulatedClick> nextClick(const std::uint8_t* prediction, const std::uint8_t* truth,
                                        const Dims3& n, const Spacing3& spacing, ClickRule rule,
                                        std::mt19937& rng) {
    const std::int64_t count = n[0] * n[1] * n[2];
    std::optional<SimulatedClick> click;
    if (rule == ClickRule::RandomError) {
        std::int64_t errors = 0;
        for (std::int64_t o = 0; o < count; ++o) errors += (prediction[o] != 0) != (truth[o] != 0);
        if (errors == 0) return click;
        std::int64_t pick = std::uniform_int_distribution<std::int64_t>(0, errors - 1)(rng);
        for (std::int64_t o = 0; o < count; ++o)
            if ((prediction[o] != 0) != (truth[o] != 0) && pick-- == 0) {
                click = SimulatedClick{unravel(o, n), truth[o] != 0};
                break;
            }
        return click;
    }
    std::vector<std::uint8_t> error(static_cast<std::size_t>(count));
    bool any = false;
    for (std::int64_t o = 0; o < count; ++o) {
        error[static_cast<std::size_t>(o)] = (prediction[o] != 0) != (truth[o] != 0);
        any |= error[static_cast<std::size_t>(o)] != 0;
    }
    if (!any) return click;
    const std::int64_t o = deepestVoxel(largestComponent(error, n), n, spacing);
    click = SimulatedClick{unravel(o, n), truth[o] != 0};
    return click;
}

}  // namespace engram::model
