// engram-cli: scriptable entry points. Exit codes (stable, for scripts):
//   0 success, 2 usage error, 3 unusable input, 4 output could not be written.
#include <engram/annotation/DicomSeg.h>
#include <engram/annotation/DicomSeries.h>
#include <engram/annotation/Errors.h>
#include <engram/annotation/VolumeIO.h>
#include <engram/model/Parity.h>
#include <engram/model/SafeTensors.h>

#include <spdlog/spdlog.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <string>
#include <vector>

namespace fs = std::filesystem;
using namespace engram;

namespace {

constexpr int kOk = 0, kUsage = 2, kBadInput = 3, kWriteFailed = 4;

const char* kUsageText =
    "usage: engram-cli <command> [options]\n"
    "  info <path>                      summary of a volume file or of the DICOM series in a folder\n"
    "  convert <in> <out>               volume (file or single-series DICOM folder) to NIfTI/NRRD/MHA;\n"
    "      [--labels]                   treat <in> as a label map (written as uint8)\n"
    "      [--series <key>]             pick a series of a DICOM folder (keys from 'info')\n"
    "  export-seg --image <dicom dir> --labels <labels file> --out <seg.dcm>\n"
    "      [--segment-names <file>]     lines 'value name' (e.g. '1 Liver'); known anatomy gets its SNOMED "
    "code\n"
    "      [--series <key>] [--description <text>]\n"
    "  check-parity <case.safetensors> [--literal]\n"
    "                                   run a SAM-Med3D parity case; exit 1 when a tensor differs > 1e-4\n"
    "exit codes: 0 ok, 1 parity failure, 2 usage, 3 unusable input, 4 cannot write output\n";

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

int info(const Args& a) {
    if (a.positional.size() != 1) throw UsageError("info takes one path");
    const fs::path p = a.positional[0];
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
    if (a.flag("labels")) {
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
    const auto results = model::runSamMed3DParity(a.positional[0], options);
    std::cout << model::formatParityReport(results);
    const bool allPass = std::all_of(results.begin(), results.end(), [](const auto& r) { return r.pass(); });
    return allPass ? kOk : 1;
}

int exportSeg(const Args& a) {
    const Volume image = loadDicomFolder(a.option("image", true), a.option("series"));
    const LabelMap labels = readLabelFile(a.option("labels", true), image.geometry()).labels;
    SegExportOptions options;
    if (const auto d = a.option("description"); !d.empty()) options.seriesDescription = d;
    const auto report = writeDicomSeg(image, labels, segmentsFor(labels, a.option("segment-names")),
                                      a.option("out", true), options);
    std::cout << "wrote " << a.option("out") << ": " << report.segments << " segments, " << report.frames
              << " frames\n";
    return kOk;
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
    }
}
