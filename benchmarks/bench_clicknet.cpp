// The default MAIS model's (clicknet family, model/networks/ClickNet.h) cost per click, end to end through
// the application's engine (SegmentationEngine: crop sampling, grow-from-seeds channel, network, memory
// attention, paste-back), on a synthetic CT of 512 x 512 x 300 at 0.78 x 0.78 x 1 mm with a small object (a
// 25 mm ball: the crop stays at its training size) and a large one (a 190 x 150 x 140 mm ellipsoid, liver
// sized: the crop grows to its largest). A session of 61 clicks inside the object: the time of click 1
// (empty bank), 11, 31 and 61 (bank of 10, 30, 60), memory on; and memory off for comparison. The default
// configuration with random weights, or a model file.
//   engram_bench_clicknet [--model <file>] [--device cpu|cuda]
#include <engram/model/inference/SegmentationEngine.h>
#include <engram/model/networks/ClickNet.h>

#include <torch/torch.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

using namespace engram::model;

int main(int argc, char** argv) {
    std::string model, device = "cpu";
    for (int i = 1; i < argc; ++i) {
        if (!std::strcmp(argv[i], "--model") && i + 1 < argc)
            model = argv[++i];
        else if (!std::strcmp(argv[i], "--device") && i + 1 < argc)
            device = argv[++i];
    }
    if (model.empty()) {
        model = (std::filesystem::temp_directory_path() / "engram-bench-clicknet.safetensors").string();
        torch::manual_seed(0);
        ClickNetModel::create(ClickNetConfig{}).save(model);
    }
    std::printf("torch threads: %d\n", torch::get_num_threads());

    Grid ct;
    ct.size = {512, 512, 300};
    ct.spacing = {0.78, 0.78, 1.0};
    struct Object {
        const char* name;
        double rx, ry, rz;  // mm
    };
    const Object objects[] = {{"small (25 mm ball)", 12.5, 12.5, 12.5},
                              {"large (190x150x140 mm)", 95, 75, 70}};
    std::vector<float> image(static_cast<std::size_t>(512 * 512 * 300));
    for (const auto& object : objects) {
        std::mt19937 rng(1);
        std::normal_distribution<float> noise(0, 12);
        const double cx = 256 * 0.78, cy = 256 * 0.78, cz = 150;
        std::size_t o = 0;
        for (std::int64_t k = 0; k < 300; ++k)
            for (std::int64_t j = 0; j < 512; ++j)
                for (std::int64_t i = 0; i < 512; ++i, ++o) {
                    const double x = i * 0.78 - cx, y = j * 0.78 - cy, z = k - cz;
                    const double body = (x * x + y * y) / (180.0 * 180.0);
                    const double in = x * x / (object.rx * object.rx) + y * y / (object.ry * object.ry) +
                                      z * z / (object.rz * object.rz);
                    image[o] = (body > 1 ? -1000.f : in <= 1 ? 60.f : 10.f) + noise(rng);
                }
        for (const bool memory : {true, false}) {
            EngineOptions eo;
            eo.weights = model;
            eo.device = device;
            eo.memoryMode = memory ? MemoryMode::SparseDense : MemoryMode::None;
            SegmentationEngine engine(eo);
            engine.setVolume(ct, image.data(), nullptr);
            SegmentationSession session(engine);
            std::uniform_real_distribution<double> u(-0.6, 0.6);
            std::printf("%-24s memory %-3s", object.name, memory ? "on" : "off");
            for (int click = 1; click <= 61; ++click) {
                const Point3 world{cx + u(rng) * object.rx, cy + u(rng) * object.ry, cz + u(rng) * object.rz};
                const auto outcome = session.addClick(world, click % 4 != 0);
                if (click == 1 || click == 11 || click == 31 || click == 61)
                    std::printf("  click %2d (bank %2d) %6.0f ms", click, click - 1 < 60 ? click - 1 : 60,
                                outcome.milliseconds);
            }
            std::printf("\n");
        }
    }
    return 0;
}
