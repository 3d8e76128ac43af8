// engram-cli: scriptable entry points. Exit codes (stable, for scripts):
//   0 success, 2 usage error, 3 unusable input, 4 output could not be written.
#include <engram/annotation/AtomicFile.h>
#include <engram/annotation/DicomSeg.h>
#include <engram/annotation/DicomSeries.h>
#include <engram/annotation/Errors.h>
#include <engram/annotation/LabelTable.h>
#include <engram/annotation/Pacs.h>
#include <engram/annotation/SegmentStatistics.h>
#include <engram/annotation/TrainingData.h>
#include <engram/annotation/VolumeIO.h>
#include <engram/model/evaluation/Evaluation.h>
#include <engram/model/evaluation/Parity.h>
#include <engram/model/inference/Propagation.h>
#include <engram/model/training/ClickNetTraining.h>
#include <engram/model/training/PropagationTraining.h>
#include <engram/model/training/SliceNetTraining.h>
#include <engram/model/weights/SafeTensors.h>

#include "DiceCurvePlot.h"

#include <spdlog/spdlog.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

namespace fs = std::filesystem;
using namespace engram;

namespace {

constexpr int kOk = 0, kUsage = 2, kBadInput = 3, kWriteFailed = 4, kNetwork = 5;

const char* kUsageText =
    "usage: engram-cli <command> [options]\n"
    "  info <path> [--reference <dir>]  summary of a volume file, of the DICOM series in a folder, or of a\n"
    "                                   DICOM-SEG's segments on its series\n"
    "  convert <in> <out>               volume (file or single-series DICOM folder) to NIfTI/NRRD/MHA;\n"
    "      [--reference <dicom dir>]    <in> is a DICOM-SEG: its segments as labels 1.. on that series, "
    "with\n"
    "                                   ITK-SNAP and Slicer label tables beside <out> (names, colours)\n"
    "      [--overlaps separate|first]  a SEG whose segments overlap: overlaps as labels of their own, or\n"
    "                                   each voxel in its first segment (refused without this)\n"
    "      [--labels]                   treat <in> as a label map (written as uint8)\n"
    "      [--series <key>]             pick a series of a DICOM folder (keys from 'info')\n"
    "  export-seg --image <dicom dir> --labels <labels file> --out <seg.dcm>\n"
    "      [--segment-names <file>]     lines 'value name' (e.g. '1 Liver'); known anatomy gets its SNOMED "
    "code\n"
    "      [--series <key>] [--description <text>]\n"
    "      [--resample nearest]         labels on another grid: resample them onto the image's (also for\n"
    "                                   propagate and stats; the same grid in another axis order needs "
    "none)\n"
    "  check-parity <case.safetensors> [--literal]\n"
    "                                   run a SAM-Med3D parity case; exit 1 when a tensor differs > 1e-4\n"
    "  train (--data <list> | --image <f> --labels <f> [--targets 1,2]) --out <model.safetensors>\n"
    "      [--architecture small|tiny|vit_b_ori|<json>] [--init <model>] [--resume <checkpoint>]\n"
    "      [--epochs 20] [--samples <per epoch>] [--clicks 6] [--rule random|centre] [--seed 1]\n"
    "      [--lr-decoder 8e-5] [--lr-memory 8e-4] [--lr-encoder 8e-5] [--milestones e1,e2]\n"
    "      [--warmup <samples>] [--bce 1] [--device cpu|cuda] [--freeze-encoder|--train-encoder]\n"
    "      [--no-augment] [--half] [--min-size <mL>] [--keep last|best]\n"
    "                                   train MAIS from scratch, or fine-tune --init (frozen encoder)\n"
    "  train-clicknet (--data <list> | --image <f> --labels <f>) --out <model.safetensors>\n"
    "      [--resume <checkpoint> | --init <model>] [--steps 20000] [--batch 2] [--clicks 12]\n"
    "      [--long-clicks 20] [--lr 1e-3] [--warmup 200] [--crop 48] [--large-crop <share>]\n"
    "      [--widths 16,32,64,128] [--single-click 0.25] [--memory-off 0.3] [--seeds-off 0.25]\n"
    "      [--groups name=weight,...] [--checkpoint-every 100] [--seed 1] [--device cpu|cuda] [--half]\n"
    "                                   train the compact default MAIS model (clicknet family)\n"
    "  evaluate [--model <model>] (--data <list> | --image <f> --labels <f> [--targets 1,2])\n"
    "      [--clicks 50] [--rule random|centre] [--methods mais,none,grow-from-seeds,region-growing]\n"
    "      [--capacity 60] [--csv <out.csv>] [--plot <out.png>] [--seed 1] [--device cpu|cuda]\n"
    "                                   simulated-click evaluation: Dice/NSD/ASSD per click and method\n"
    "  propagate [--model <model>] --image <f> --labels <f> --label N --slice K --out <labels>\n"
    "      [--axis axial|coronal|sagittal] [--memory slm|plain] [--self-sorting] [--device cpu|cuda]\n"
    "                                   carry label N's mask on slice K through the volume (default:\n"
    "                                   the bundled slicenet propagator)\n"
    "  train-propagator (--data <list> | --image <f> --labels <f> [--targets 1,2]) --out <sam2>\n"
    "      [--architecture mini|tiny|<json>] [--init <sam2>] [--plain] [--epochs 10] [--samples <n>]\n"
    "      [--sequence 8] [--axis axial|coronal|sagittal] [--lr 1e-4] [--warmup <samples>] [--seed 1]\n"
    "      [--device cpu|cuda] [--half]\n"
    "                                   train the slice propagator (from scratch or fine-tuning --init)\n"
    "  train-slicenet (--data <list> | --image <f> --labels <f>) --out <model.safetensors>\n"
    "      [--resume <checkpoint> | --init <model>] [--steps 4000] [--batch 8] [--sequence 8]\n"
    "      [--lr 1e-3] [--warmup 100] [--crop 64] [--widths 16,32,64,128] [--plain-share 0.4]\n"
    "      [--end-share 0.3] [--groups name=weight,...] [--checkpoint-every 100] [--seed 1]\n"
    "      [--device cpu|cuda] [--half]\n"
    "                                   train the compact default slice propagator (slicenet family)\n"
    "  evaluate-propagation [--model <model>] (--data <list> | --image <f> --labels <f> [--targets 1,2])\n"
    "      [--methods slm,plain,self-sorting,copy,grow-from-seeds] [--axis axial|coronal|sagittal]\n"
    "      [--csv <out.csv>]\n"
    "                                   propagation from each structure's central slice: Dice, ASSD,\n"
    "                                   present-slice Dice, absent slices left empty\n"
    "  stats --image <volume file or DICOM folder> --labels <labels file>\n"
    "      [--names <file>] [--csv <out.csv>]\n"
    "                                   per segment: voxels, mL, mean/std/min/max intensity, bounding box;\n"
    "                                   --names: lines 'value<TAB>name' (TotalSegmentator labels_total.txt)\n"
    "  pacs echo|find|get|store --node <AE@host:port> [--aet ENGRAM] [--timeout 10]\n"
    "      echo                         check that the node answers (C-ECHO)\n"
    "      find [--patient-name <n>] [--patient-id <id>] [--date <YYYYMMDD[-YYYYMMDD]>] [--modality CT]\n"
    "           [--accession <n>]       list matching studies (C-FIND); with --study <uid>: its series\n"
    "      get --study <uid> --series <uid> --cache <dir>\n"
    "                                   retrieve one series (C-GET) into <dir>/<series uid>/ (complete or\n"
    "                                   not kept)\n"
    "      store <file or folder>...    send DICOM files (e.g. an exported SEG) to the node (C-STORE)\n"
    "  dataset lists: one '<image> <labels> [targets=1,2] [names=<file>] [slices=a:b]' per line\n"
    "exit codes: 0 ok, 1 parity failure, 2 usage, 3 unusable input, 4 cannot write output, 5 network\n";

struct UsageError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

struct Args {
    std::vector<std::string> positional;
    std::map<std::string, std::string> options;
    std::vector<std::string> flags;
    bool flag(const std::string& f) const { return std::find(flags.begin(), flags.end(), f) != flags.end(); }
    std::string option(const std::string& name, bool required = false) const {
        auto it = options.find(name);
        if (it == options.end()) {
            if (required) throw UsageError("missing --" + name);
            return {};
        }
        return it->second;
    }
};

Args parse(int argc, char** argv, const std::vector<std::string>& flagNames) {
    Args a;
    for (int i = 2; i < argc; ++i) {
        std::string s = argv[i];
        if (s.rfind("--", 0) == 0) {
            const std::string name = s.substr(2);
            if (std::find(flagNames.begin(), flagNames.end(), name) != flagNames.end()) {
                a.flags.push_back(name);
            } else {
                if (i + 1 >= argc) throw UsageError("option " + s + " needs a value");
                a.options[name] = argv[++i];
            }
        } else {
            a.positional.push_back(s);
        }
    }
    return a;
}

void printVolume(const Volume& v) {
    const auto& g = v.geometry();
    const auto [lo, hi] = v.valueRange();
    std::cout << "  geometry:  " << g.describe() << "\n";
    std::cout << "  direction: ";
    for (int r = 0; r < 3; ++r)
        std::cout << "[" << g.direction[r][0] << " " << g.direction[r][1] << " " << g.direction[r][2] << "] ";
    std::cout << "\n  type:      " << v.metadata().sourcePixelType << ", values " << lo << " .. " << hi
              << "\n";
    if (!v.metadata().modality.empty()) std::cout << "  modality:  " << v.metadata().modality << "\n";
    for (const auto& w : v.metadata().warnings) std::cout << "  warning:   " << w << "\n";
}

// A DICOM-SEG on the grid of the series it segments (--reference, --series).
DicomSegImport readSegOnReference(const Args& a, const fs::path& seg, ImageGeometry& grid) {
    const std::string reference = a.option("reference");
    if (reference.empty())
        throw UsageError(
            seg.string() +
            " is a DICOM object: a DICOM-SEG needs --reference <the DICOM folder of the series it "
            "segments>");
    const Volume series = readVolume(reference, a.option("series"));
    DicomSegImport in = readDicomSeg(seg, series.geometry());
    const auto& dicom = series.metadata().dicom;
    if (dicom && !dicom->seriesInstanceUid.empty() && !in.referencedSeriesUid.empty() &&
        dicom->seriesInstanceUid != in.referencedSeriesUid)
        throw InputError(seg.string() + " segments the series " + in.referencedSeriesUid + ", not " + reference +
                         " (series " + dicom->seriesInstanceUid + ").");
    grid = series.geometry();
    return in;
}

// A DICOM-SEG's segments as labels 1.., with --overlaps deciding what voxels in several segments become.
LabelMap segAsLabels(const Args& a, const fs::path& seg, DicomSegImport& in, const ImageGeometry& grid) {
    const std::string rule = a.option("overlaps");
    if (!rule.empty() && rule != "separate" && rule != "first")
        throw UsageError("--overlaps takes separate or first, not '" + rule + "'");
    if (const auto overlapping = in.overlappingVoxels(); overlapping > 0) {
        if (rule.empty())
            throw InputError(seg.string() + ": " + std::to_string(overlapping) +
                             " voxels belong to more than one segment, which one label map cannot hold. "
                             "--overlaps separate gives each overlap a label of its own; --overlaps first "
                             "keeps each voxel in the first segment listed.");
        if (rule == "separate") in.separateOverlaps();
        std::cout << "note: " << overlapping << " voxels belong to more than one segment: "
                  << (rule == "separate" ? "each overlap has a label of its own\n"
                                         : "each keeps the first segment's label\n");
    }
    return in.toLabelMap(grid);
}

// The labels file of --labels on the image's grid; --resample nearest resamples one on another grid.
LabelMap labelsOnImage(const Args& a, const ImageGeometry& grid) {
    const std::string resample = a.option("resample");
    if (!resample.empty() && resample != "nearest")
        throw UsageError("--resample takes nearest, not '" + resample + "'");
    const auto in = readLabelFile(a.option("labels", true), grid,
                                  resample.empty() ? GridRule::Exact : GridRule::ResampleNearest);
    if (!in.summary().empty()) std::cout << "note: " << in.summary() << "\n";
    return in.labels;
}

int info(const Args& a) {
    if (a.positional.size() != 1) throw UsageError("info takes one path");
    const fs::path p = a.positional[0];
    if (isDicomFile(p)) {
        ImageGeometry grid;
        const auto seg = readSegOnReference(a, p, grid);
        std::cout << p.string() << ": DICOM-SEG \"" << seg.seriesDescription << "\", " << seg.segments.size()
                  << " segments, referenced series " << seg.referencedSeriesUid << "\n";
        for (std::size_t i = 0; i < seg.segments.size(); ++i) {
            const auto& s = seg.segments[i];
            std::cout << "  segment " << s.segmentNumber << " -> label " << i + 1 << ": " << s.segment.name
                      << ", " << s.voxelCount << " voxels\n";
        }
        if (const auto overlapping = seg.overlappingVoxels(); overlapping > 0)
            std::cout << "  " << overlapping << " voxels belong to more than one segment\n";
        return kOk;
    }
    if (fs::is_directory(p)) {
        const auto series = scanDicomFolder(p);
        std::cout << p.string() << ": " << series.size() << " series\n";
        for (const auto& s : series) {
            std::cout << "series " << s.key << "\n  " << s.summary() << "\n";
            if (s.isSegmentation) continue;
            try {
                printVolume(loadDicomSeries(s));
            } catch (const InputError& e) {
                std::cout << "  cannot load: " << e.what() << "\n";
            }
        }
        return kOk;
    }
    const Volume v = readVolumeFile(p);
    std::cout << p.string() << "\n";
    printVolume(v);
    return kOk;
}

int convert(const Args& a) {
    if (a.positional.size() != 2) throw UsageError("convert takes <in> <out>");
    if (isDicomFile(a.positional[0])) {
        ImageGeometry grid;
        DicomSegImport seg = readSegOnReference(a, a.positional[0], grid);
        const LabelMap labels = segAsLabels(a, a.positional[0], seg, grid);
        writeLabelFile(labels, a.positional[1]);
        writeLabelTables(seg.segmentList(), labels, a.positional[1]);
        const auto tables = labelTablePaths(a.positional[1]);
        std::cout << "label tables (names, colours): " << tables.itkSnap.string() << ", "
                  << tables.slicer.string() << "\n";
    } else if (a.flag("labels")) {
        writeLabelFile(readLabelFile(a.positional[0]).labels, a.positional[1]);
    } else {
        writeVolumeFile(readVolume(a.positional[0], a.option("series")), a.positional[1]);
    }
    std::cout << "wrote " << a.positional[1] << "\n";
    return kOk;
}

SegmentList segmentsFor(const LabelMap& labels, const std::string& namesFile) {
    std::map<int, std::string> names;
    if (!namesFile.empty()) {
        std::ifstream in(namesFile);
        if (!in) throw InputError("Cannot read segment names from " + namesFile + ".");
        std::string line;
        int lineNo = 0;
        while (std::getline(in, line)) {
            ++lineNo;
            if (line.empty() || line[0] == '#') continue;
            std::size_t pos = 0;
            int value = -1;
            try {
                value = std::stoi(line, &pos);
            } catch (const std::exception&) {
                pos = 0;
            }
            if (pos == 0 || value < 1 || value > 255)
                throw InputError(namesFile + " line " + std::to_string(lineNo) +
                                 ": expected '<label 1-255> <name>'.");
            std::string name = line.substr(pos);
            name.erase(0, name.find_first_not_of(" \t"));
            names[value] = name;
        }
    }
    return SegmentList::forLabels(labels.labelsPresent(), names);
}

int checkParity(const Args& a) {
    if (a.positional.size() != 1) throw UsageError("check-parity takes one case file");
    model::ParityOptions options;
    options.literalEncoder = a.flag("literal");
    const auto results = model::runParity(a.positional[0], options);
    std::cout << model::formatParityReport(results);
    const bool allPass = std::all_of(results.begin(), results.end(), [](const auto& r) { return r.pass(); });
    return allPass ? kOk : 1;
}

int exportSeg(const Args& a) {
    const Volume image = loadDicomFolder(a.option("image", true), a.option("series"));
    const LabelMap labels = labelsOnImage(a, image.geometry());
    SegExportOptions options;
    if (const auto d = a.option("description"); !d.empty()) options.seriesDescription = d;
    const auto report = writeDicomSeg(image, labels, segmentsFor(labels, a.option("segment-names")),
                                      a.option("out", true), options);
    std::cout << "wrote " << a.option("out") << ": " << report.segments << " segments, " << report.frames
              << " frames\n";
    return kOk;
}

std::vector<model::LabelledVolume> loadData(const Args& a) {
    std::vector<LabelledVolumeSpec> specs;
    if (const auto list = a.option("data"); !list.empty()) {
        specs = readDatasetList(list);
    } else {
        LabelledVolumeSpec spec;
        spec.image = a.option("image", true);
        spec.labels = a.option("labels", true);
        spec.targets = parseLabelValues(a.option("targets"), "--targets");
        specs.push_back(spec);
    }
    std::vector<model::LabelledVolume> data;
    for (const auto& spec : specs) {
        data.push_back(loadLabelledVolume(spec));
        std::cout << "loaded " << data.back().name << "\n";
    }
    return data;
}

template <typename T>
T number(const Args& a, const std::string& name, T fallback) {
    const auto text = a.option(name);
    if (text.empty()) return fallback;
    try {
        std::size_t used = 0;
        const double v = std::stod(text, &used);
        if (used != text.size()) throw std::invalid_argument(text);
        return static_cast<T>(v);
    } catch (const std::exception&) {
        throw UsageError("--" + name + " needs a number, not '" + text + "'");
    }
}

std::vector<int> intList(const std::string& text) {
    std::vector<int> values;
    std::stringstream in(text);
    for (std::string item; std::getline(in, item, ',');) {
        std::size_t used = 0;
        try {
            values.push_back(std::stoi(item, &used));
        } catch (const std::exception&) {
            used = 0;
        }
        if (used == 0 || used != item.size()) throw UsageError("'" + item + "' is not a whole number");
    }
    return values;
}

std::string minutes(double seconds) {
    char text[32];
    std::snprintf(text, sizeof text, "%d:%02d", int(seconds) / 60, int(seconds) % 60);
    return text;
}

model::ClickRule parseRuleOrUsage(const std::string& name) {
    try {
        return model::parseClickRule(name);
    } catch (const std::invalid_argument& e) {
        throw UsageError(e.what());
    }
}

void printEpoch(const model::TrainProgress& p) {
    std::printf("epoch %3d/%d  loss %.4f  Dice %.3f  lr %.1e  %5.1f s  ETA %s\n", p.epoch, p.epochs, p.loss,
                p.dice, p.learningRate, p.seconds, minutes(p.etaSeconds).c_str());
    std::fflush(stdout);
}

void printSummary(const model::TrainSummary& s, const char* unit, const std::string& output) {
    std::printf(
        "trained %d epochs x %d %s on %d targets (%s) in %s: loss %.4f -> %.4f, final Dice %.3f\nwrote %s\n",
        s.epochs, s.samples, unit, s.targets, s.device.c_str(), minutes(s.seconds).c_str(), s.firstLoss,
        s.lastLoss, s.lastDice, output.c_str());
}

int train(const Args& a) {
    model::TrainOptions o;
    o.output = a.option("out", true);
    o.architecture = a.option("architecture").empty() ? o.architecture : a.option("architecture");
    o.initialWeights = a.option("init");
    o.resume = a.option("resume");
    o.epochs = number(a, "epochs", o.epochs);
    o.samplesPerEpoch = number(a, "samples", o.samplesPerEpoch);
    o.clicks = number(a, "clicks", o.clicks);
    o.seed = number(a, "seed", o.seed);
    o.lrDecoder = number(a, "lr-decoder", o.lrDecoder);
    o.lrMemory = number(a, "lr-memory", o.lrMemory);
    o.lrEncoder = number(a, "lr-encoder", o.lrEncoder);
    o.bceWeight = number(a, "bce", o.bceWeight);
    o.milestones = intList(a.option("milestones"));
    o.warmupSamples = number(a, "warmup", o.warmupSamples);
    if (const auto rule = a.option("rule"); !rule.empty()) o.rule = parseRuleOrUsage(rule);
    if (const auto d = a.option("device"); !d.empty()) o.device = d;
    if (a.flag("freeze-encoder")) o.freezeEncoder = true;
    if (a.flag("train-encoder")) o.freezeEncoder = false;
    o.flips = o.intensity = !a.flag("no-augment");
    o.half = a.flag("half");
    o.minTargetMillilitres = number(a, "min-size", o.minTargetMillilitres);
    if (const auto keep = a.option("keep"); keep == "best")
        o.keepBest = true;
    else if (!keep.empty() && keep != "last")
        throw UsageError("--keep must be last or best, not '" + keep + "'");
    const auto data = loadData(a);
    const auto summary = model::trainMais(data, o, printEpoch);
    printSummary(summary, "samples", o.output);
    if (o.keepBest) std::printf("kept epoch %d (highest training Dice)\n", summary.keptEpoch);
    return kOk;
}

std::map<std::string, double> groupWeights(const std::string& text) {
    std::map<std::string, double> weights;
    std::stringstream in(text);
    for (std::string item; std::getline(in, item, ',');) {
        const auto eq = item.find('=');
        char* end = nullptr;
        const double w = eq == std::string::npos ? -1 : std::strtod(item.c_str() + eq + 1, &end);
        if (eq == 0 || eq == std::string::npos || !end || *end != '\0' || !(w >= 0))
            throw UsageError("--groups takes name=weight pairs, not '" + item + "'");
        weights[item.substr(0, eq)] = w;
    }
    return weights;
}

// What every step-based run takes (StepRunOptions), and the network's crop size and widths.
template <typename Options>
void readStepRun(const Args& a, Options& o) {
    o.output = a.option("out", true);
    o.resume = a.option("resume");
    o.initialWeights = a.option("init");
    o.steps = number(a, "steps", o.steps);
    o.batch = number(a, "batch", o.batch);
    o.lr = number(a, "lr", o.lr);
    o.warmupSteps = number(a, "warmup", o.warmupSteps);
    o.checkpointEvery = std::max(1, number(a, "checkpoint-every", o.checkpointEvery));
    o.seed = number(a, "seed", o.seed);
    o.config.cropSize = number(a, "crop", o.config.cropSize);
    if (const auto w = a.option("widths"); !w.empty()) o.config.widths = intList(w);
    try {
        o.config = decltype(o.config)::fromJson(o.config.toJson());
    } catch (const std::invalid_argument& e) {
        throw UsageError(e.what());
    }
    o.groupWeights = groupWeights(a.option("groups"));
    if (const auto d = a.option("device"); !d.empty()) o.device = d;
    o.half = a.flag("half");
}

// One report line: "step", loss, Dice, the family's `extra` figures, learning rate, speed, Dice per group.
void printReport(const model::StepReport& r, const std::string& extra) {
    std::printf("step %6ld/%ld  loss %.4f  Dice %.3f  %slr %.1e  %.2f s/step ", r.step, r.steps, r.loss,
                r.dice, extra.c_str(), r.learningRate, r.secondsPerStep);
    for (const auto& [group, dice] : r.groupDice) std::printf(" %s %.3f", group.c_str(), dice);
    std::printf("\n");
    std::fflush(stdout);
}

int trainClickNet(const Args& a) {
    model::ClickNetTrainOptions o;
    readStepRun(a, o);
    o.maxClicks = number(a, "clicks", o.maxClicks);
    o.longClicks = std::max(o.maxClicks, number(a, "long-clicks", o.longClicks));
    o.largeCropShare = number(a, "large-crop", o.largeCropShare);
    o.memoryOffShare = number(a, "memory-off", o.memoryOffShare);
    o.singleClickShare = number(a, "single-click", o.singleClickShare);
    o.seedsOffShare = number(a, "seeds-off", o.seedsOffShare);
    const auto last =
        model::trainClickNet(loadData(a), o, [](const model::ClickNetReport& r) { printReport(r, ""); });
    std::printf("trained %ld steps on %d targets; wrote %s\n", last.step, last.targets, o.output.c_str());
    return kOk;
}

int trainSliceNet(const Args& a) {
    model::SliceNetTrainOptions o;
    readStepRun(a, o);
    o.sequence = number(a, "sequence", o.sequence);
    o.plainShare = number(a, "plain-share", o.plainShare);
    o.endShare = number(a, "end-share", o.endShare);
    const auto last = model::trainSliceNet(loadData(a), o, [](const model::SliceNetReport& r) {
        char extra[32];
        std::snprintf(extra, sizeof extra, "absent-clean %.3f  ", r.absentClean);
        printReport(r, extra);
    });
    std::printf("trained %ld steps on %d targets; wrote %s\n", last.step, last.targets, o.output.c_str());
    return kOk;
}

int axisOption(const Args& a) {
    const auto name = a.option("axis");
    if (name.empty() || name == "axial") return 2;
    if (name == "coronal") return 1;
    if (name == "sagittal") return 0;
    throw UsageError("--axis must be axial, coronal or sagittal, not '" + name + "'");
}

void writeText(const std::string& path, const std::string& text) {
    writeFileAtomically(path, [&](const fs::path& temporary) {
        std::ofstream out(temporary, std::ios::binary);
        out << text;
        if (!out.flush()) throw OutputError("Cannot write " + temporary.string() + ".");
    });
    std::cout << "wrote " << path << "\n";
}

#ifndef ENGRAM_DEFAULT_PROPAGATOR
#define ENGRAM_DEFAULT_PROPAGATOR ""
#endif

// --model, else the bundled default propagator (next to an installed engram-cli, else the build's).
std::string propagationModel(const Args& a) {
    if (auto m = a.option("model"); !m.empty()) return m;
    const auto installed = std::filesystem::read_symlink("/proc/self/exe").parent_path() /
                           "../share/engram/models" /
                           std::filesystem::path(ENGRAM_DEFAULT_PROPAGATOR).filename();
    if (std::filesystem::exists(installed)) return installed.string();
    if (std::filesystem::exists(ENGRAM_DEFAULT_PROPAGATOR)) return ENGRAM_DEFAULT_PROPAGATOR;
    throw UsageError("no --model given and no default propagation model is installed");
}

int propagate(const Args& a) {
    const Volume image = readVolume(a.option("image", true));
    const LabelMap labels = labelsOnImage(a, image.geometry());
    const int label = number(a, "label", -1);
    if (label < 1 || label > 255) throw UsageError("--label must be a label value 1..255");
    const auto slice = number<std::int64_t>(a, "slice", -1);
    const std::string out = a.option("out", true);
    const int axis = axisOption(a);
    const auto& g = image.geometry();
    const std::array<std::int64_t, 3> size{g.size[0], g.size[1], g.size[2]};
    if (slice < 0 || slice >= size[std::size_t(axis)])
        throw InputError("--slice " + std::to_string(slice) + " lies outside the volume's " +
                         std::to_string(size[std::size_t(axis)]) + " slices.");
    const auto plane = model::SlicePlane::of(size, axis);
    const model::SlicePrompt prompt{slice, plane.maskOf(labels.labels().data(), size, slice, label)};
    model::PropagationOptions o;
    o.axis = axis;
    const auto memory = a.option("memory");
    if (memory == "plain")
        o.memory = model::PropagationMemory::Plain;
    else if (!memory.empty() && memory != "slm")
        throw UsageError("--memory must be slm or plain");
    o.selfSorting = a.flag("self-sorting");
    o.progress = [](int done, int total) {
        std::printf("\r%d/%d slices", done, total);
        std::fflush(stdout);
    };
    model::SlicePropagator propagator(propagationModel(a),
                                      a.option("device").empty() ? "cpu" : a.option("device"));
    const auto r = propagator.propagate(
        {size, image.voxels().data(), {g.spacing[0], g.spacing[1], g.spacing[2]}}, {prompt}, o);
    std::printf("\n");
    if (!r.notice.empty()) std::cout << r.notice << "\n";
    LabelMap result(g);
    for (std::size_t i = 0; i < r.mask.size(); ++i) result.labels()[i] = r.mask[i] ? std::uint8_t(label) : 0;
    writeLabelFile(result, out);
    std::printf("label %d on slices %lld..%lld (%d slices segmented, %.2f s per slice); wrote %s\n", label,
                static_cast<long long>(r.first), static_cast<long long>(r.last), r.slicesSegmented,
                r.slicesSegmented ? r.seconds / r.slicesSegmented : 0.0, out.c_str());
    return kOk;
}

int trainPropagator(const Args& a) {
    model::PropagatorTrainOptions o;
    o.output = a.option("out", true);
    if (const auto arch = a.option("architecture"); !arch.empty()) o.architecture = arch;
    o.initialWeights = a.option("init");
    o.shortTermMemory = !a.flag("plain");
    o.epochs = number(a, "epochs", o.epochs);
    o.samplesPerEpoch = number(a, "samples", o.samplesPerEpoch);
    o.sequenceLength = number(a, "sequence", o.sequenceLength);
    o.axis = axisOption(a);
    o.learningRate = number(a, "lr", o.learningRate);
    o.warmupSamples = number(a, "warmup", o.warmupSamples);
    o.seed = number(a, "seed", o.seed);
    if (const auto d = a.option("device"); !d.empty()) o.device = d;
    o.half = a.flag("half");
    const auto data = loadData(a);
    const auto summary = model::trainPropagator(data, o, printEpoch);
    printSummary(summary, "sequences", o.output);
    return kOk;
}

int evaluatePropagation(const Args& a) {
    model::PropagationEvalOptions o;
    o.model = a.option("model");
    o.axis = axisOption(a);
    if (const auto d = a.option("device"); !d.empty()) o.device = d;
    if (const auto m = a.option("methods"); !m.empty()) {
        o.methods.clear();
        std::stringstream list(m);
        for (std::string name; std::getline(list, name, ',');) o.methods.push_back(name);
    } else {  // the networks' memories (with a model) beside the classical baselines
        if (o.model.empty()) o.methods.clear();
        o.methods.insert(o.methods.end(), {"copy", "grow-from-seeds"});
    }
    for (const auto& m : o.methods) {
        const bool classical = m == "copy" || m == "grow-from-seeds";
        if (!classical && m != "slm" && m != "plain" && m != "self-sorting" && m != "slm+self-sorting")
            throw UsageError("unknown method '" + m +
                             "' (slm, plain, self-sorting, slm+self-sorting, copy, grow-from-seeds)");
        if (!classical && o.model.empty()) throw UsageError("method '" + m + "' needs --model");
    }
    const auto data = loadData(a);
    const auto rows = model::evaluatePropagation(data, o, [](const model::PropagationEvalRow& r) {
        std::printf("%s %s %s: Dice %.3f\n", r.scan.c_str(), r.target.c_str(), r.method.c_str(), r.dice);
        std::fflush(stdout);
    });
    std::cout << model::formatPropagationTable(rows);
    if (const auto csv = a.option("csv"); !csv.empty()) writeText(csv, model::toCsv(rows));
    return kOk;
}

int evaluate(const Args& a) {
    model::EvalOptions o;
    o.weights = a.option("model");
    o.clicks = number(a, "clicks", 50);
    o.seed = number(a, "seed", o.seed);
    if (const auto rule = a.option("rule"); !rule.empty()) o.rule = parseRuleOrUsage(rule);
    if (const auto d = a.option("device"); !d.empty()) o.device = d;
    const int capacity = number(a, "capacity", 60);
    std::stringstream methods(a.option("methods").empty()
                                  ? (a.option("model").empty() ? "grow-from-seeds,region-growing"
                                                               : "mais,none,grow-from-seeds,region-growing")
                                  : a.option("methods"));
    for (std::string m; std::getline(methods, m, ',');) {
        try {
            o.methods.push_back(model::parseEvalMethod(m, capacity));
        } catch (const std::invalid_argument& e) {
            throw UsageError(e.what());
        }
        if (o.methods.back().needsModel() && o.weights.empty())
            throw UsageError("method '" + m + "' needs --model");
    }
    const auto data = loadData(a);
    const auto rows = model::evaluateInteractive(data, o, [](int done, int total) {
        std::printf("\r%d/%d targets x methods", done, total);
        std::fflush(stdout);
    });
    std::printf("\n");
    std::vector<int> shown;
    for (int k : {1, 5, 10, 20, 50})
        if (k < o.clicks) shown.push_back(k);
    shown.push_back(o.clicks);
    std::cout << "clicks: " << model::toString(o.rule) << " rule, seed " << o.seed << "\n"
              << model::formatEvaluationTable(rows, shown);
    if (const auto csv = a.option("csv"); !csv.empty()) writeText(csv, model::toCsv(rows));
    if (const auto plot = a.option("plot"); !plot.empty()) {
        writeDiceCurvePlot(model::meanDiceCurves(rows),
                           "Mean Dice vs clicks (" + model::toString(o.rule) + " rule)", plot);
        std::cout << "wrote " << plot << "\n";
    }
    return kOk;
}

// One fixed-width line per segment; names missing from `names` show as "-".
std::string formatStatisticsTable(const std::vector<SegmentStatistics>& statistics,
                                  const std::map<int, std::string>& names) {
    const auto nameOf = [&](int label) {
        const auto it = names.find(label);
        return it == names.end() || it->second.empty() ? std::string("-") : it->second;
    };
    int width = 4, digits = 1;  // of the name column, of the widest voxel index
    for (const auto& s : statistics) {
        width = std::max(width, int(nameOf(s.label).size()));
        for (const std::int64_t e : s.end) digits = std::max(digits, int(std::to_string(e).size()));
    }
    std::string table;
    std::vector<char> line(std::size_t(width) + 256);
    std::snprintf(line.data(), line.size(), "%5s  %-*s %10s %10s %9s %9s %8s %8s  %s\n", "label", width,
                  "name", "voxels", "mL", "mean", "std", "min", "max", "bounding box (voxels, inclusive)");
    table += line.data();
    for (const auto& s : statistics) {
        std::snprintf(line.data(), line.size(), "%5d  %-*s %10lld %10.2f %9.1f %9.1f %8.1f %8.1f ",
                      int(s.label), width, nameOf(s.label).c_str(), static_cast<long long>(s.voxels),
                      s.volumeMl, s.mean, s.stddev, s.min, s.max);
        table += line.data();
        for (int axis = 0; axis < 3; ++axis) {
            std::snprintf(line.data(), line.size(), " %c %*lld..%-*lld", "ijk"[axis], digits,
                          static_cast<long long>(s.begin[axis]), axis < 2 ? digits : 0,
                          static_cast<long long>(s.end[axis]));
            table += line.data();
        }
        table += "\n";
    }
    return table;
}

int stats(const Args& a) {
    const std::string imageFile = a.option("image", true), labelsFile = a.option("labels", true);
    const auto namesFile = a.option("names");
    const auto names = namesFile.empty() ? std::map<int, std::string>{} : readLabelNames(namesFile);
    const Volume image = readVolume(imageFile);
    const LabelMap labels = labelsOnImage(a, image.geometry());
    const auto statistics = segmentStatistics(labels, image);
    if (statistics.empty())
        std::cout << labelsFile << ": no segments (every voxel is 0)\n";
    else
        std::cout << formatStatisticsTable(statistics, names);
    if (const auto csv = a.option("csv"); !csv.empty()) {
        std::ostringstream text;
        writeStatisticsCsv(text, statistics, names);
        writeText(csv, text.str());
    }
    return kOk;
}

int pacs(const Args& a) {
    if (a.positional.empty()) throw UsageError("pacs needs echo, find, get or store");
    const std::string verb = a.positional[0];
    DicomNode node;
    PacsOptions options;
    try {
        node = parseDicomNode(a.option("node", true));
        if (const auto aet = a.option("aet"); !aet.empty()) options.callingAeTitle = aet;
        checkAeTitle(options.callingAeTitle);
    } catch (const PacsError& e) {
        throw UsageError(e.what());
    }
    options.timeoutSeconds = number(a, "timeout", 10);
    if (options.timeoutSeconds < 1 || options.timeoutSeconds > 3600)
        throw UsageError("--timeout takes 1 to 3600 seconds");
    options.transferTimeoutSeconds = std::max(options.transferTimeoutSeconds, options.timeoutSeconds);
    if (verb == "echo") {
        echo(node, options);
        std::cout << node.describe() << " answers\n";
        return kOk;
    }
    if (verb == "find" && a.option("study").empty()) {
        StudyQuery q{a.option("patient-name"), a.option("patient-id"), a.option("date"), a.option("modality"),
                     a.option("accession")};
        const auto studies = findStudies(node, q, options);
        std::cout << studies.size() << " studies\n";
        for (const auto& s : studies)
            std::cout << "study " << s.studyInstanceUid << "\n  " << s.patientName << " (" << s.patientId
                      << "), " << s.studyDate << ", " << s.modalities << ", \"" << s.studyDescription
                      << "\", accession " << s.accessionNumber << ", " << s.series << " series, "
                      << s.instances << " images\n";
        return kOk;
    }
    if (verb == "find") {
        const auto series = findSeries(node, a.option("study"), options);
        std::cout << series.size() << " series\n";
        for (const auto& s : series)
            std::cout << "series " << s.seriesInstanceUid << "\n  #" << s.seriesNumber << " " << s.modality
                      << " \"" << s.seriesDescription << "\", " << s.instances << " images\n";
        return kOk;
    }
    if (verb == "get") {
        const auto folder = retrieveSeries(node, a.option("study", true), a.option("series", true),
                                           a.option("cache", true), options);
        std::cout << "retrieved into " << folder.string() << "\n";
        return kOk;
    }
    if (verb == "store") {
        std::vector<fs::path> files;
        for (std::size_t i = 1; i < a.positional.size(); ++i) {
            const fs::path p = a.positional[i];
            if (fs::is_directory(p)) {
                for (const auto& e : fs::recursive_directory_iterator(p))
                    if (e.is_regular_file() && isDicomFile(e.path())) files.push_back(e.path());
            } else {
                files.push_back(p);
            }
        }
        if (files.empty()) throw UsageError("pacs store needs DICOM files or folders holding them");
        std::sort(files.begin(), files.end());
        const auto report = storeFiles(node, files, options);
        std::cout << "stored " << report.stored << " files on " << node.describe() << "\n";
        return kOk;
    }
    throw UsageError("pacs takes echo, find, get or store, not '" + verb + "'");
}

}  // namespace

int main(int argc, char** argv) {
    spdlog::set_level(spdlog::level::warn);
    if (argc < 2) {
        std::cerr << kUsageText;
        return kUsage;
    }
    const std::string command = argv[1];
    try {
        if (command == "info") return info(parse(argc, argv, {}));
        if (command == "convert") return convert(parse(argc, argv, {"labels"}));
        if (command == "export-seg") return exportSeg(parse(argc, argv, {}));
        if (command == "check-parity") return checkParity(parse(argc, argv, {"literal"}));
        if (command == "train")
            return train(parse(argc, argv, {"freeze-encoder", "train-encoder", "no-augment", "half"}));
        if (command == "train-clicknet") return trainClickNet(parse(argc, argv, {"half"}));
        if (command == "train-slicenet") return trainSliceNet(parse(argc, argv, {"half"}));
        if (command == "evaluate") return evaluate(parse(argc, argv, {}));
        if (command == "propagate") return propagate(parse(argc, argv, {"self-sorting"}));
        if (command == "train-propagator") return trainPropagator(parse(argc, argv, {"plain", "half"}));
        if (command == "evaluate-propagation") return evaluatePropagation(parse(argc, argv, {}));
        if (command == "stats") return stats(parse(argc, argv, {}));
        if (command == "pacs") return pacs(parse(argc, argv, {}));
        if (command == "--help" || command == "-h" || command == "help") {
            std::cout << kUsageText;
            return kOk;
        }
        throw UsageError("unknown command '" + command + "'");
    } catch (const UsageError& e) {
        std::cerr << "engram-cli: " << e.what() << "\n" << kUsageText;
        return kUsage;
    } catch (const InputError& e) {
        std::cerr << "engram-cli: " << e.what() << "\n";
        return kBadInput;
    } catch (const model::WeightsError& e) {
        std::cerr << "engram-cli: " << e.what() << "\n";
        return kBadInput;
    } catch (const OutputError& e) {
        std::cerr << "engram-cli: " << e.what() << "\n";
        return kWriteFailed;
    } catch (const PacsError& e) {
        std::cerr << "engram-cli: " << e.what() << "\n";
        return kNetwork;
    } catch (const std::filesystem::filesystem_error& e) {  // a folder that cannot be listed, say
        std::cerr << "engram-cli: " << e.what() << "\n";
        return kBadInput;
    } catch (const std::invalid_argument& e) {  // training / evaluation options the data cannot satisfy
        std::cerr << "engram-cli: " << e.what() << "\n";
        return kBadInput;
    }
}
