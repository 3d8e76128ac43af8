#pragma once
// The model tests' labelled phantom: two bright ellipsoids (labels 1 and 2) in noisy dark tissue, 40 x 36 x
// 30 voxels of 4 mm. `airSides`: the three outermost columns at each end of axis 0 are air (-1000), as a CT's
// surroundings are.
#include <engram/model/training/Training.h>

#include <cmath>
#include <random>
#include <string>

namespace engram::test {

inline model::LabelledVolume ellipsoidPhantom(unsigned seed, bool airSides = false) {
    model::LabelledVolume v;
    v.name = "phantom" + std::to_string(seed);
    v.grid.size = {40, 36, 30};
    v.grid.spacing = {4, 4, 4};
    const std::int64_t count = 40 * 36 * 30;
    v.image.resize(count);
    v.labels.resize(count);
    std::mt19937 rng(seed);
    std::normal_distribution<float> noise(0, 15);
    for (std::int64_t k = 0, o = 0; k < 30; ++k)
        for (std::int64_t j = 0; j < 36; ++j)
            for (std::int64_t i = 0; i < 40; ++i, ++o) {
                const double a =
                    std::pow((i - 14) / 7.0, 2) + std::pow((j - 18) / 9.0, 2) + std::pow((k - 15) / 8.0, 2);
                const double b =
                    std::pow((i - 30) / 5.0, 2) + std::pow((j - 14) / 5.0, 2) + std::pow((k - 12) / 6.0, 2);
                const std::uint8_t l = a <= 1 ? 1 : b <= 1 ? 2 : 0;
                v.labels[static_cast<std::size_t>(o)] = l;
                const float value = (l == 1 ? 160.f : l == 2 ? 260.f : 40.f) + noise(rng);
                v.image[static_cast<std::size_t>(o)] = airSides && (i < 3 || i > 36) ? -1000.f : value;
            }
    return v;
}

}  // namespace engram::test
