// Data-layer timings: loading DICOM series and volume files, exporting DICOM-SEG and NIfTI labels.
// Run: build/dev/benchmarks/engram_bench_io  (targets: 120-slice MR series < 2 s, 120-frame SEG < 1 s)
#include <engram/annotation/AnnotationController.h>
#include <engram/annotation/DicomSeg.h>
#include <engram/annotation/DicomSeries.h>
#include <engram/annotation/Session.h>
#include <engram/annotation/VolumeIO.h>

#include <benchmark/benchmark.h>
#include <spdlog/spdlog.h>

#include <filesystem>

namespace fs = std::filesystem;
using namespace engram;

namespace {

fs::path data(const std::string& rel) { return fs::path(ENGRAM_SHARED_DIR) / "data" / rel; }
fs::path out(const std::string& name) {
    fs::create_directories(ENGRAM_BENCH_OUT);
    return fs::path(ENGRAM_BENCH_OUT) / name;
}

const Volume& mrSeries() {
    static const Volume v = loadDicomFolder(data("dicom/mr-brain-120slice"));
    return v;
}

// A label map with something on every slice, so the SEG has one frame per slice (120 frames).
LabelMap slab(const ImageGeometry& g) {
    LabelMap m(g);
    for (std::int64_t k = 0; k < g.size[2]; ++k)
        for (std::int64_t j = 200; j < 300; ++j)
            for (std::int64_t i = 150; i < 350; ++i) m.set(i, j, k, 1);
    return m;
}

void BM_ScanDicomFolder_MR120(benchmark::State& state) {
    for (auto _ : state) benchmark::DoNotOptimize(scanDicomFolder(data("dicom/mr-brain-120slice")));
}

void BM_LoadDicomSeries_MR120(benchmark::State& state) {
    for (auto _ : state) benchmark::DoNotOptimize(loadDicomFolder(data("dicom/mr-brain-120slice")));
    state.counters["slices"] = 120;
}

void BM_LoadDicomSeries_CT20_J2K(benchmark::State& state) {
    for (auto _ : state) benchmark::DoNotOptimize(loadDicomFolder(data("dicom/ct-abdomen-20slice-j2k")));
}

void BM_ReadNifti_CT112(benchmark::State& state) {
    for (auto _ : state) benchmark::DoNotOptimize(readVolumeFile(data("ct-abdomen/example_ct.nii.gz")));
}

void BM_ExportDicomSeg_MR120Frames(benchmark::State& state) {
    const Volume& mr = mrSeries();
    const LabelMap labels = slab(mr.geometry());
    SegmentList segments;
    segments.add("Brain");
    SegExportReport report;
    for (auto _ : state) report = writeDicomSeg(mr, labels, segments, out("bench.seg.dcm"));
    state.counters["frames"] = static_cast<double>(report.frames);
}

void BM_ExportNiftiLabels_MR120(benchmark::State& state) {
    const LabelMap labels = slab(mrSeries().geometry());
    for (auto _ : state) writeLabelFile(labels, out("bench.labels.nii.gz"));
}

// Writing an AI result into the label map as an undoable command: a 120 mm object in the crop region of a
// 512 x 512 x 300 CT at 0.78 x 0.78 x 1 mm, replacing the previous click's result (the engine side of a click
// is in engram_bench_mais).
void BM_ApplyAiResult_CT512(benchmark::State& state) {
    ImageGeometry g;
    g.size = {512, 512, 300};
    g.spacing = {0.78, 0.78, 1.0};
    auto volume =
        std::make_shared<const Volume>(g, std::vector<float>(static_cast<std::size_t>(g.voxelCount()), 0.0f));
    SegmentationService service;
    AnnotationController controller(service);
    controller.setVolume(volume);
    auto result = [&](double radius) {
        AiClickResult r;
        r.segment = 1;
        r.mask.begin = {133, 133, 54};
        r.mask.size = {246, 246, 192};
        r.mask.mask.assign(246 * 246 * 192, 0);
        r.mask.positiveBegin = {46, 46, 19};
        r.mask.positiveSize = {154, 154, 154};
        for (std::int64_t k = 0; k < 192; ++k)
            for (std::int64_t j = 0; j < 246; ++j)
                for (std::int64_t i = 0; i < 246; ++i) {
                    const double x = (i - 123) * 0.78, y = (j - 123) * 0.78, z = (k - 96) * 1.0;
                    r.mask.mask[std::size_t(i + 246 * (j + 246 * k))] =
                        x * x + y * y + z * z < radius * radius;
                }
        return r;
    };
    const AiClickResult a = result(60), b = result(57);
    bool flip = false;
    for (auto _ : state) controller.applyAiResult((flip = !flip) ? a : b, {0, 0, 0}, true);
    state.counters["undo_entries"] = controller.undoStack().count();
}

// A 512 x 512 x 300 CT's document: three organ-sized objects and 200 history entries.
const SessionDocument& ctSession() {
    static const SessionDocument s = [] {
        ImageGeometry g;
        g.size = {512, 512, 300};
        g.spacing = {0.78, 0.78, 1.0};
        SessionDocument d;
        d.volumePath = "/data/ct.nii.gz";
        d.labels = LabelMap(g);
        const double centres[3][3] = {{150, 250, 150}, {350, 250, 150}, {256, 180, 100}};
        for (int o = 0; o < 3; ++o)
            for (std::int64_t k = 0; k < 300; ++k)
                for (std::int64_t j = 0; j < 512; ++j)
                    for (std::int64_t i = 0; i < 512; ++i) {
                        const double x = (i - centres[o][0]) * 0.78, y = (j - centres[o][1]) * 0.78,
                                     z = (k - centres[o][2]) * 1.0;
                        if (x * x + y * y + z * z < 60 * 60) d.labels.set(i, j, k, std::uint8_t(o + 1));
                    }
        for (int o = 1; o <= 3; ++o) d.segments.put(SegmentList::defaultFor(std::uint8_t(o)));
        for (int n = 0; n < 200; ++n) {
            Interaction h;
            h.kind = InteractionKind::AiClick;
            h.segment = 1 + n % 3;
            h.time = QDateTime::currentDateTime();
            d.history.push_back(h);
        }
        return d;
    }();
    return s;
}

// The GUI thread's part of an autosave: the document packed (labels run-length coded, no copy of them).
void BM_PackSession_CT512(benchmark::State& state) {
    const SessionDocument& s = ctSession();
    for (auto _ : state) benchmark::DoNotOptimize(packSession(s, s.labels));
}

// The background part: compress and write the packed session atomically.
void BM_WriteSession_CT512(benchmark::State& state) {
    const PackedSession packed = packSession(ctSession(), ctSession().labels);
    for (auto _ : state) writeSession(packed, out("bench.engram"));
    state.counters["MiB"] = double(fs::file_size(out("bench.engram"))) / (1 << 20);
}

}  // namespace

BENCHMARK(BM_ApplyAiResult_CT512)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_ScanDicomFolder_MR120)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_LoadDicomSeries_MR120)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_LoadDicomSeries_CT20_J2K)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_ReadNifti_CT112)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_ExportDicomSeg_MR120Frames)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_ExportNiftiLabels_MR120)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_PackSession_CT512)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_WriteSession_CT512)->Unit(benchmark::kMillisecond);

int main(int argc, char** argv) {
    spdlog::set_level(spdlog::level::warn);
    benchmark::Initialize(&argc, argv);
    benchmark::RunSpecifiedBenchmarks();
    return 0;
}
