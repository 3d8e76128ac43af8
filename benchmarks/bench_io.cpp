// Data-layer timings: loading DICOM series and volume files, exporting DICOM-SEG and NIfTI labels.
// Run: build/dev/benchmarks/engram_bench_io  (targets: 120-slice MR series < 2 s, 120-frame SEG < 1 s)
#include <engram/annotation/DicomSeg.h>
#include <engram/annotation/DicomSeries.h>
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

}  // namespace

BENCHMARK(BM_ScanDicomFolder_MR120)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_LoadDicomSeries_MR120)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_LoadDicomSeries_CT20_J2K)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_ReadNifti_CT112)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_ExportDicomSeg_MR120Frames)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_ExportNiftiLabels_MR120)->Unit(benchmark::kMillisecond);

int main(int argc, char** argv) {
    spdlog::set_level(spdlog::level::warn);
    benchmark::Initialize(&argc, argv);
    benchmark::RunSpecifiedBenchmarks();
    return 0;
}
