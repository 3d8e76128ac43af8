// Grow from seeds (the classical click tool, model/classical/GrowFromSeeds.h) per click on a synthetic
// abdominal CT of 512 x 512 x 300 at 0.8 x 0.8 x 1.5 mm: body, fat, muscle wall, spine, aorta, lungs, heart,
// stomach, spleen, kidneys, and a liver of about 180 x 150 x 150 mm (with vessels and a lesion) that touches
// muscle, stomach, heart and the right kidney, plus white noise. The simulated user (SimulatedClicks.h,
// largest error's centre) places the first click and the next ones: positive in a false negative, negative in
// a false positive. Cases: the liver; a left kidney (about 60 x 55 x 90 mm) alone; that kidney with the liver
// and spleen already segmented (other segments are background seeds, boxed as AnnotationController passes
// them). Per click: wall time (median over the repeats, each a fresh grower replaying the same clicks), warm
// start, region and working grid, and the Dice against the phantom organ. Plain C++ on one thread: no BLAS,
// no LibTorch, no thread settings matter.
//   engram_bench_grow_from_seeds [--clicks N] [--repeats N] [--noise HU] [--max-working VOXELS] [--margin MM]
#include <engram/model/classical/GrowFromSeeds.h>
#include <engram/model/metrics/MaskMetrics.h>
#include <engram/model/metrics/SimulatedClicks.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

using namespace engram::model;
using Clock = std::chrono::steady_clock;
using Index = std::array<std::int64_t, 3>;

namespace {

enum Organ : std::uint8_t { None = 0, Liver, RightKidney, LeftKidney, Spleen, Stomach, Heart, Bone, Vessel };

struct Phantom {
    Dims3 dims{512, 512, 300};
    Spacing3 spacing{0.8, 0.8, 1.5};
    std::vector<float> image;
    std::vector<std::uint8_t> organ;
};

// An axis-aligned ellipsoid; `wobble` bends its surface by that fraction of the radius (low frequency), so
// the organ is not a plain ellipsoid.
struct Ellipsoid {
    double cx, cy, cz, rx, ry, rz, wobble = 0;
    double level(double x, double y, double z) const {  // < 1 inside
        const double u = (x - cx) / rx, v = (y - cy) / ry, w = (z - cz) / rz;
        const double r2 = u * u + v * v + w * w;
        if (wobble == 0) return r2;
        const double s =
            1 + wobble * std::sin(3 * std::atan2(v, u)) * std::cos(2.5 * w) + 0.5 * wobble * u * v;
        return r2 / (s * s);
    }
};

double segmentDistance(double x, double y, double z, const std::array<double, 6>& s) {
    const double dx = s[3] - s[0], dy = s[4] - s[1], dz = s[5] - s[2];
    const double t = std::clamp(
        ((x - s[0]) * dx + (y - s[1]) * dy + (z - s[2]) * dz) / (dx * dx + dy * dy + dz * dz), 0.0, 1.0);
    const double ex = x - s[0] - t * dx, ey = y - s[1] - t * dy, ez = z - s[2] - t * dz;
    return std::sqrt(ex * ex + ey * ey + ez * ez);
}

Phantom makePhantom(double noiseHu) {
    Phantom p;
    const auto count = static_cast<std::size_t>(p.dims[0] * p.dims[1] * p.dims[2]);
    p.image.resize(count);
    p.organ.assign(count, None);
    // mm, origin at the volume's centre; x left-right, y anterior (-) to posterior (+), z feet (-) to head
    // (+).
    const Ellipsoid lungR{-75, 10, 185, 65, 85, 95}, lungL{75, 10, 185, 65, 85, 95};
    const Ellipsoid heart{15, -25, 160, 75, 60, 55};
    const Ellipsoid stomach{55, -40, 55, 45, 35, 50};
    const Ellipsoid spleen{105, 35, 45, 32, 48, 55};
    const Ellipsoid liver{-45, -5, 40, 90, 75, 75, 0.06};
    const Ellipsoid kidneyR{-65, 62, -35, 30, 27, 45}, kidneyL{72, 62, -25, 30, 27.5, 45};
    const Ellipsoid lesion{-70, -20, 55, 14, 14, 14};
    const std::array<std::array<double, 6>, 3> hepaticVessels{
        {{-20, 20, 100, -110, -30, 30}, {-20, 20, 100, -40, -60, 10}, {-30, 30, 0, -90, 10, 60}}};
    std::mt19937 rng(7);
    std::normal_distribution<float> noise(0.f, static_cast<float>(noiseHu));
    std::size_t o = 0;
    for (std::int64_t k = 0; k < p.dims[2]; ++k) {
        const double z = (double(k) - 149.5) * p.spacing[2];
        for (std::int64_t j = 0; j < p.dims[1]; ++j) {
            const double y = (double(j) - 255.5) * p.spacing[1];
            for (std::int64_t i = 0; i < p.dims[0]; ++i, ++o) {
                const double x = (double(i) - 255.5) * p.spacing[0];
                const double body = (x / 165) * (x / 165) + (y / 125) * (y / 125);  // < 1 inside
                float hu = -1000;
                std::uint8_t label = None;
                if (body < 1) {
                    const double r = std::sqrt(body);
                    if (r > 0.9)
                        hu = -100;  // subcutaneous fat
                    else if (r > 0.83)
                        hu = 50;  // muscle wall
                    else          // bowel and mesenteric fat, a slowly varying mixture
                        hu = float(-55 +
                                   70 * (0.5 + 0.5 * std::sin(x / 9) * std::sin(y / 11) * std::sin(z / 13)));
                    const bool inner = r <= 0.83;
                    auto paint = [&](const Ellipsoid& e, float value, std::uint8_t id) {
                        if (inner && e.level(x, y, z) < 1) {
                            hu = value;
                            label = id;
                        }
                    };
                    if (inner && (std::hypot(x + 40, y - 90) < 24 || std::hypot(x - 40, y - 90) < 24))
                        hu = 50;
                    if (std::hypot(x, y - 80) < 22) {  // vertebral body
                        hu = 350;
                        label = Bone;
                    }
                    paint(lungR, -850, None);
                    paint(lungL, -850, None);
                    paint(heart, 40, Heart);
                    paint(stomach, 25, Stomach);
                    paint(spleen, 50, Spleen);
                    if (inner && liver.level(x, y, z) < 1) {
                        hu = 60;
                        label = Liver;
                        for (const auto& s : hepaticVessels)
                            if (segmentDistance(x, y, z, s) < 5) hu = 110;
                        if (lesion.level(x, y, z) < 1) hu = 25;
                    }
                    for (const auto* kidney : {&kidneyR, &kidneyL}) {
                        const double l = kidney->level(x, y, z);
                        if (inner && l < 1) {
                            hu = l > 0.55 ? 160.f : 100.f;  // cortex, medulla
                            if (l < 0.2 && (x - kidney->cx) * (kidney->cx > 0 ? -1 : 1) > 5)
                                hu = -20;  // sinus fat
                            label = kidney == &kidneyR ? RightKidney : LeftKidney;
                        }
                    }
                    if (std::hypot(x - 15, y - 50) < 12) {
                        hu = 180;  // aorta
                        label = Vessel;
                    } else if (std::hypot(x + 25, y - 45) < 12 && z < 150) {
                        hu = 140;  // inferior vena cava
                        label = Vessel;
                    }
                }
                p.image[o] = hu + noise(rng);
                p.organ[o] = label;
            }
        }
    }
    return p;
}

double ms(Clock::time_point since) {
    return std::chrono::duration<double, std::milli>(Clock::now() - since).count();
}

double median(std::vector<double> v) {
    if (v.empty()) return NAN;
    std::sort(v.begin(), v.end());
    const std::size_t n = v.size();
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

struct Box {
    Index lo, size;
    std::size_t count() const { return static_cast<std::size_t>(size[0] * size[1] * size[2]); }
};

Box boxOf(const Phantom& p, std::uint8_t id) {
    Index lo{p.dims[0], p.dims[1], p.dims[2]}, hi{-1, -1, -1};
    std::size_t o = 0;
    for (std::int64_t k = 0; k < p.dims[2]; ++k)
        for (std::int64_t j = 0; j < p.dims[1]; ++j)
            for (std::int64_t i = 0; i < p.dims[0]; ++i, ++o)
                if (p.organ[o] == id) {
                    const Index idx{i, j, k};
                    for (int a = 0; a < 3; ++a) {
                        lo[a] = std::min(lo[a], idx[a]);
                        hi[a] = std::max(hi[a], idx[a]);
                    }
                }
    return {lo, {hi[0] - lo[0] + 1, hi[1] - lo[1] + 1, hi[2] - lo[2] + 1}};
}

// Other segments as AnnotationController::competitorsOf passes them: the segment's extent and the click
// widened by two margins, cut to the other segments' extent.
std::shared_ptr<const RegionMask> competitorsOf(const Phantom& p, const std::vector<std::uint8_t>& others,
                                                const Box& othersBox, const Box* extent, const Index& click) {
    if (others.empty()) return nullptr;
    Index lo = click, hi = click;
    if (extent != nullptr)
        for (int a = 0; a < 3; ++a) {
            lo[a] = std::min(lo[a], extent->lo[a]);
            hi[a] = std::max(hi[a], extent->lo[a] + extent->size[a] - 1);
        }
    for (int a = 0; a < 3; ++a) {
        const auto reach =
            static_cast<std::int64_t>(std::ceil(2 * GrowFromSeedsOptions{}.marginMm / p.spacing[a]));
        lo[a] = std::max(std::max<std::int64_t>(0, lo[a] - reach), othersBox.lo[a]);
        hi[a] = std::min(std::min(p.dims[a] - 1, hi[a] + reach), othersBox.lo[a] + othersBox.size[a] - 1);
        if (lo[a] > hi[a]) return nullptr;
    }
    auto m = std::make_shared<RegionMask>();
    m->begin = lo;
    m->size = {hi[0] - lo[0] + 1, hi[1] - lo[1] + 1, hi[2] - lo[2] + 1};
    m->mask.resize(static_cast<std::size_t>(m->size[0] * m->size[1] * m->size[2]));
    std::size_t o = 0;
    for (std::int64_t k = lo[2]; k <= hi[2]; ++k)
        for (std::int64_t j = lo[1]; j <= hi[1]; ++j)
            for (std::int64_t i = lo[0]; i <= hi[0]; ++i, ++o)
                m->mask[o] =
                    std::find(others.begin(), others.end(),
                              p.organ[static_cast<std::size_t>(i + p.dims[0] * (j + p.dims[1] * k))]) !=
                    others.end();
    return m;
}

struct Step {
    SimulatedClick click;
    std::shared_ptr<const RegionMask> competitors;
    std::vector<double> ms;
    bool warm = false;
    Dims3 region{0, 0, 0}, working{0, 0, 0}, factor{1, 1, 1};
    double dice = 0;
};

void runCase(const Phantom& p, const char* name, std::uint8_t target, const std::vector<std::uint8_t>& others,
             const GrowFromSeedsOptions& options, int clicks, int repeats) {
    // Everything the grower can touch: the organ's box widened by 1.5 margins (the bound of a region around
    // clicks in the organ), plus a little. The simulated user and the Dice work inside it.
    const Box organBox = boxOf(p, target);
    Box eval{};
    for (int a = 0; a < 3; ++a) {
        const auto pad = static_cast<std::int64_t>(std::ceil(1.6 * options.marginMm / p.spacing[a]));
        eval.lo[a] = std::max<std::int64_t>(0, organBox.lo[a] - pad);
        eval.size[a] = std::min(p.dims[a], organBox.lo[a] + organBox.size[a] + pad) - eval.lo[a];
    }
    Box othersBox{p.dims, {0, 0, 0}};  // the other segments' extent
    {
        Index hi{-1, -1, -1};
        for (std::uint8_t id : others) {
            const Box b = boxOf(p, id);
            for (int a = 0; a < 3; ++a) {
                othersBox.lo[a] = std::min(othersBox.lo[a], b.lo[a]);
                hi[a] = std::max(hi[a], b.lo[a] + b.size[a] - 1);
            }
        }
        for (int a = 0; a < 3; ++a) othersBox.size[a] = hi[a] - othersBox.lo[a] + 1;
    }
    std::vector<std::uint8_t> truth(eval.count()), prediction(eval.count(), 0);
    std::size_t o = 0;
    for (std::int64_t k = 0; k < eval.size[2]; ++k)
        for (std::int64_t j = 0; j < eval.size[1]; ++j)
            for (std::int64_t i = 0; i < eval.size[0]; ++i, ++o)
                truth[o] =
                    p.organ[static_cast<std::size_t>(
                        (eval.lo[0] + i) + p.dims[0] * ((eval.lo[1] + j) + p.dims[1] * (eval.lo[2] + k)))] ==
                    target;
    std::printf("\n%s: organ box %lld x %lld x %lld voxels (%.0f x %.0f x %.0f mm)%s\n", name,
                static_cast<long long>(organBox.size[0]), static_cast<long long>(organBox.size[1]),
                static_cast<long long>(organBox.size[2]), double(organBox.size[0]) * p.spacing[0],
                double(organBox.size[1]) * p.spacing[1], double(organBox.size[2]) * p.spacing[2],
                others.empty() ? "" : "; other segments are background seeds");

    // The first pass places the clicks (the simulated user, untimed) and measures; the next passes replay
    // them.
    std::vector<Step> steps;
    std::vector<double> coldRecompute;
    std::mt19937 rng(1);
    for (int rep = 0; rep < repeats; ++rep) {
        SeedGrower grower(p.image.data(), p.dims, p.spacing, options);
        std::vector<SimulatedClick> applied;
        Box extent{};
        bool haveExtent = false;
        for (int c = 0; c < clicks; ++c) {
            if (rep == 0) {
                const auto next = nextClick(prediction.data(), truth.data(), eval.size, p.spacing,
                                            ClickRule::LargestErrorCentre, rng);
                if (!next) break;
                Step s;
                s.click = *next;
                for (int a = 0; a < 3; ++a) s.click.index[a] += eval.lo[a];
                s.competitors =
                    competitorsOf(p, others, othersBox, haveExtent ? &extent : nullptr, s.click.index);
                steps.push_back(std::move(s));
            }
            if (c >= static_cast<int>(steps.size())) break;
            Step& s = steps[static_cast<std::size_t>(c)];
            applied.push_back(s.click);
            const auto start = Clock::now();
            const GrowthResult r = grower.grow(applied, s.competitors.get());
            s.ms.push_back(ms(start));
            if (rep > 0) continue;
            s.warm = r.warmStart;
            s.region = r.mask.size;
            s.working = r.workingSize;
            s.factor = r.factor;
            // The result replaces the segment inside its region (regions only grow as positive clicks come).
            std::fill(prediction.begin(), prediction.end(), 0);
            std::int64_t outside = 0;
            std::size_t q = 0;
            for (std::int64_t k = 0; k < r.mask.size[2]; ++k)
                for (std::int64_t j = 0; j < r.mask.size[1]; ++j)
                    for (std::int64_t i = 0; i < r.mask.size[0]; ++i, ++q) {
                        if (!r.mask.mask[q]) continue;
                        const Index e{r.mask.begin[0] + i - eval.lo[0], r.mask.begin[1] + j - eval.lo[1],
                                      r.mask.begin[2] + k - eval.lo[2]};
                        if (e[0] < 0 || e[1] < 0 || e[2] < 0 || e[0] >= eval.size[0] ||
                            e[1] >= eval.size[1] || e[2] >= eval.size[2]) {
                            ++outside;
                            continue;
                        }
                        prediction[static_cast<std::size_t>(e[0] +
                                                            eval.size[0] * (e[1] + eval.size[1] * e[2]))] = 1;
                    }
            if (outside > 0)
                std::printf("  warning: %lld predicted voxels outside the evaluated box\n",
                            static_cast<long long>(outside));
            s.dice = dice(prediction.data(), truth.data(), static_cast<std::int64_t>(truth.size()));
            haveExtent = r.mask.positiveSize[0] > 0;
            for (int a = 0; a < 3; ++a) {
                extent.lo[a] = r.mask.begin[a] + r.mask.positiveBegin[a];
                extent.size[a] = r.mask.positiveSize[a];
            }
        }
        // The same clicks from scratch on the final region: what an undo, a moved region or an edited other
        // segment costs at the end.
        grower.forget();
        const auto start = Clock::now();
        (void)grower.grow(applied, steps.empty() ? nullptr : steps.back().competitors.get());
        coldRecompute.push_back(ms(start));
    }

    std::printf("%5s %4s %10s %5s %16s %16s %9s %7s\n", "click", "sign", "ms", "warm", "region (voxels)",
                "working grid", "factor", "Dice");
    std::vector<double> later, laterWarm, laterCold;
    for (std::size_t c = 0; c < steps.size(); ++c) {
        const Step& s = steps[c];
        const double t = median(s.ms);
        char region[48], working[48], factor[32];
        std::snprintf(region, sizeof region, "%lldx%lldx%lld", static_cast<long long>(s.region[0]),
                      static_cast<long long>(s.region[1]), static_cast<long long>(s.region[2]));
        std::snprintf(working, sizeof working, "%lldx%lldx%lld", static_cast<long long>(s.working[0]),
                      static_cast<long long>(s.working[1]), static_cast<long long>(s.working[2]));
        std::snprintf(factor, sizeof factor, "%lldx%lldx%lld", static_cast<long long>(s.factor[0]),
                      static_cast<long long>(s.factor[1]), static_cast<long long>(s.factor[2]));
        std::printf("%5zu %4s %10.1f %5s %16s %16s %9s %7.4f\n", c + 1, s.click.positive ? "+" : "-", t,
                    s.warm ? "yes" : "no", region, working, factor, s.dice);
        if (c == 0) continue;
        later.push_back(t);
        (s.warm ? laterWarm : laterCold).push_back(t);
    }
    if (steps.empty()) return;
    std::printf(
        "first click %.1f ms (target <= 2000); later clicks: median %.1f ms, max %.1f ms (target <= 300);"
        " %zu warm (median %.1f ms), %zu cold (median %.1f ms)\n",
        median(steps[0].ms), median(later),
        later.empty() ? NAN : *std::max_element(later.begin(), later.end()), laterWarm.size(),
        median(laterWarm), laterCold.size(), median(laterCold));
    std::printf("all %zu clicks from scratch on the final region: %.1f ms\n", steps.size(),
                median(coldRecompute));
}

std::string cpuName() {
    std::ifstream info("/proc/cpuinfo");
    std::string line;
    while (std::getline(info, line))
        if (line.rfind("model name", 0) == 0) return line.substr(line.find(':') + 2);
    return "unknown";
}

}  // namespace

int main(int argc, char** argv) {
    int clicks = 11, repeats = 3;
    double noiseHu = 15;
    GrowFromSeedsOptions options;
    for (int i = 1; i < argc; ++i) {
        if (!std::strcmp(argv[i], "--clicks") && i + 1 < argc)
            clicks = std::atoi(argv[++i]);
        else if (!std::strcmp(argv[i], "--repeats") && i + 1 < argc)
            repeats = std::max(1, std::atoi(argv[++i]));
        else if (!std::strcmp(argv[i], "--noise") && i + 1 < argc)
            noiseHu = std::atof(argv[++i]);
        else if (!std::strcmp(argv[i], "--max-working") && i + 1 < argc)
            options.maxWorkingVoxels = std::atoll(argv[++i]);
        else if (!std::strcmp(argv[i], "--margin") && i + 1 < argc)
            options.marginMm = std::atof(argv[++i]);
    }
    std::printf("machine: %u cores (%s); plain C++ on one thread (no BLAS, no LibTorch)\n",
                std::thread::hardware_concurrency(), cpuName().c_str());
    const auto start = Clock::now();
    const Phantom p = makePhantom(noiseHu);
    std::printf(
        "volume: synthetic abdomen 512 x 512 x 300 at 0.8 x 0.8 x 1.5 mm, noise %.0f HU (built in %.1f s);"
        " options: margin %.0f mm, working grid <= %lld voxels, smoothing %.1f mm, length cost %.2f\n",
        noiseHu, ms(start) / 1000, options.marginMm, static_cast<long long>(options.maxWorkingVoxels),
        options.smoothingMm, options.lengthCost);
    std::printf(
        "clicks: the simulated user (largest error's centre); ms = median of %d repeats, each a fresh"
        " grower replaying the clicks\n",
        repeats);
    runCase(p, "liver (~180 x 150 x 150 mm)", Liver, {}, options, clicks, repeats);
    runCase(p, "left kidney (~60 x 55 x 90 mm)", LeftKidney, {}, options, clicks, repeats);
    runCase(p, "left kidney, liver and spleen already segmented", LeftKidney, {Liver, Spleen}, options,
            clicks, repeats);
    return 0;
}
