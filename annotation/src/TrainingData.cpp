#include <engram/annotation/Errors.h>
#include <engram/annotation/Session.h>
#include <engram/annotation/TrainingData.h>
#include <engram/annotation/VolumeIO.h>

#include <fstream>
#include <sstream>

namespace engram {
namespace {

// The whole of `text` as a non-negative integer, or -1.
int wholeNumber(const std::string& text) {
    std::size_t used = 0;
    int v = -1;
    try {
        v = std::stoi(text, &used);
    } catch (const std::exception&) {
        return -1;
    }
    return used == text.size() && v >= 0 ? v : -1;
}

int parseSlice(const std::string& text, const std::string& where) {
    const int v = wholeNumber(text);
    if (v < 0) throw InputError(where + ": bad slice index '" + text + "'.");
    return v;
}

}  // namespace

std::map<int, std::string> readLabelNames(const std::filesystem::path& file) {
    std::ifstream in(file);
    if (!in) throw InputError("Cannot read label names from " + file.string() + ".");
    std::map<int, std::string> names;
    std::string line;
    while (std::getline(in, line)) {
        if (line.empty() || line[0] == '#') continue;
        std::stringstream fields(line);
        int value = 0;
        std::string name;
        if (fields >> value >> name) names[value] = name;
    }
    return names;
}

std::vector<int> parseLabelValues(const std::string& text, const std::string& where) {
    std::vector<int> values;
    std::stringstream in(text);
    for (std::string item; std::getline(in, item, ',');) {
        const int v = wholeNumber(item);
        if (v < 1 || v > 255) throw InputError(where + ": '" + item + "' is not a label value 1..255.");
        values.push_back(v);
    }
    return values;
}

std::vector<LabelledVolumeSpec> readDatasetList(const std::filesystem::path& list) {
    std::ifstream in(list);
    if (!in) throw InputError("Cannot read the dataset list " + list.string() + ".");
    const auto folder = list.parent_path();
    std::vector<LabelledVolumeSpec> specs;
    std::string line;
    for (int lineNo = 1; std::getline(in, line); ++lineNo) {
        if (const auto hash = line.find('#'); hash != std::string::npos) line.erase(hash);
        std::stringstream fields(line);
        std::string image, labels, option;
        if (!(fields >> image)) continue;
        const std::string where = list.string() + " line " + std::to_string(lineNo);
        if (!(fields >> labels)) throw InputError(where + ": expected '<image> <labels> [options]'.");
        LabelledVolumeSpec spec;
        spec.synthetic = image == "synthetic";
        spec.image = spec.synthetic ? std::filesystem::path(image) : folder / image;
        spec.labels = folder / labels;
        while (fields >> option) {
            const auto eq = option.find('=');
            const std::string key = option.substr(0, eq),
                              value = eq == std::string::npos ? "" : option.substr(eq + 1);
            if (key == "targets") {
                spec.targets = parseLabelValues(value, where);
            } else if (key == "names") {
                spec.names = folder / value;
            } else if (key == "slices") {
                const auto colon = value.find(':');
                if (colon == std::string::npos) throw InputError(where + ": slices=<first>:<last> expected.");
                spec.firstSlice = parseSlice(value.substr(0, colon), where);
                spec.lastSlice = parseSlice(value.substr(colon + 1), where);
                if (spec.lastSlice < spec.firstSlice) throw InputError(where + ": the slice range is empty.");
            } else if (key == "group" && !value.empty()) {
                spec.group = value;
            } else {
                throw InputError(where + ": unknown option '" + option +
                                 "' (targets=, names=, slices=, group=).");
            }
        }
        specs.push_back(spec);
    }
    if (specs.empty()) throw InputError(list.string() + " lists no image/label pairs.");
    return specs;
}

model::LabelledVolume loadLabelledVolume(const LabelledVolumeSpec& spec) {
    Volume image;
    LabelMap labels;
    if (spec.synthetic) {  // the labels alone, on their own grid
        labels = readLabelFile(spec.labels).labels;
        image = Volume(labels.geometry(), std::vector<float>(labels.labels().size(), 0.f));
    } else {
        image = readVolume(spec.image);
        labels = readLabelFile(spec.labels, image.geometry()).labels;
    }
    ImageGeometry g = image.geometry();
    const int last = spec.lastSlice < 0 ? int(g.size[2]) - 1 : spec.lastSlice;
    if (spec.firstSlice >= g.size[2] || last >= g.size[2])
        throw InputError(spec.image.string() + ": slices " + std::to_string(spec.firstSlice) + ".." +
                         std::to_string(last) + " lie outside its " + std::to_string(g.size[2]) + " slices.");
    const std::int64_t plane = g.size[0] * g.size[1];
    const std::int64_t begin = spec.firstSlice * plane, end = (last + 1) * plane;
    model::LabelledVolume v;
    v.name =
        spec.synthetic ? "synthetic from " + spec.labels.filename().string() : spec.image.filename().string();
    v.synthetic = spec.synthetic;
    if (spec.firstSlice != 0 || last != g.size[2] - 1) {
        v.name += " [slices " + std::to_string(spec.firstSlice) + ":" + std::to_string(last) + "]";
        g.origin = g.indexToWorld({0.0, 0.0, double(spec.firstSlice)});
        g.size[2] = last - spec.firstSlice + 1;
    }
    v.grid = toModelGrid(g);
    v.image.assign(image.voxels().begin() + begin, image.voxels().begin() + end);
    v.labels.assign(labels.labels().begin() + begin, labels.labels().begin() + end);
    v.targets = spec.targets;
    v.group = spec.group;
    if (!spec.names.empty()) v.labelNames = readLabelNames(spec.names);
    return v;
}

model::LabelledVolume labelledVolumeOf(const Volume& image, const LabelMap& labels, std::string name) {
    if (!labels.geometry().sameGrid(image.geometry()))
        throw InputError(name + ": the labels are not on the volume's grid (has the volume changed?).");
    model::LabelledVolume v;
    v.name = std::move(name);
    v.grid = toModelGrid(image.geometry());
    v.image = image.voxels();
    v.labels = labels.labels();
    return v;
}

model::LabelledVolume loadSessionForTraining(const std::filesystem::path& session) {
    const SessionDocument s = readSession(session);
    return labelledVolumeOf(readVolume(s.volumePath, s.seriesKey), s.labels,
                            "The session " + session.string() + " (volume " + s.volumePath + ")");
}

}  // namespace engram
