#include <engram/annotation/AtomicFile.h>
#include <engram/annotation/Errors.h>
#include <engram/annotation/LabelTable.h>
#include <engram/annotation/VolumeIO.h>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace engram {
namespace fs = std::filesystem;

namespace {

// Names go into quoted (ITK-SNAP) or comma-separated (Slicer) fields that cannot hold a double quote.
std::string withoutQuotes(std::string s) {
    std::replace(s.begin(), s.end(), '"', '\'');
    return s;
}

std::string csvField(const std::string& s) {
    const std::string v = withoutQuotes(s);
    return v.find(',') == std::string::npos ? v : "\"" + v + "\"";
}

void writeText(const fs::path& path, const std::string& text) {
    writeFileAtomically(path, [&](const fs::path& tmp) {
        std::ofstream out(tmp, std::ios::binary);
        out << text;
        if (!out.flush()) throw OutputError("only part of it reached the disk (is the disk full?)");
    });
}

std::vector<std::string> splitCsv(const std::string& line) {
    std::vector<std::string> fields(1);
    bool quoted = false;
    for (char c : line) {
        if (c == '"')
            quoted = !quoted;
        else if (c == ',' && !quoted)
            fields.emplace_back();
        else if (c != '\r')
            fields.back() += c;
    }
    return fields;
}

[[noreturn]] void badLine(const fs::path& path, int lineNumber, const std::string& why) {
    throw InputError("Cannot read the label table " + path.string() + ": line " + std::to_string(lineNumber) +
                     " " + why + ".");
}

// A whole number 0..255: a label value or a colour component.
std::uint8_t byteValue(const std::string& text, const fs::path& path, int lineNumber) {
    std::size_t used = 0;
    long v = -1;
    try {
        v = std::stol(text, &used);
    } catch (const std::exception&) {
        used = 0;
    }
    if (used == 0 || used != text.size() || v < 0 || v > 255)
        badLine(path, lineNumber, "has '" + text + "' where a whole number 0..255 belongs");
    return static_cast<std::uint8_t>(v);
}

Segment entry(std::uint8_t label, std::string name) {
    Segment s = SegmentList::defaultFor(label);
    if (!name.empty()) s.name = std::move(name);
    s.algorithm = SegmentAlgorithm::Manual;
    s.algorithmName.clear();
    if (const auto known = AnatomyCatalog::find(s.name)) {
        s.category = known->category;
        s.type = known->type;
    }
    return s;
}

// Slicer's CSV: a header row naming the columns, one row per label value.
SegmentList readSlicerCsv(const fs::path& path, std::istream& in, const std::string& header) {
    const auto columns = splitCsv(header);
    auto column = [&](const std::string& name) -> int {
        const auto it = std::find(columns.begin(), columns.end(), name);
        return it == columns.end() ? -1 : static_cast<int>(it - columns.begin());
    };
    const int value = column("LabelValue"), name = column("Name"), r = column("Color_R"),
              g = column("Color_G"), b = column("Color_B");
    if (r < 0 || g < 0 || b < 0) badLine(path, 1, "lacks the Color_R, Color_G or Color_B column");
    auto codedConcept = [&](const std::vector<std::string>& f, const std::string& prefix) {
        CodedConcept c;
        const int scheme = column(prefix + "_CodingScheme"), code = column(prefix + "_CodeValue"),
                  meaning = column(prefix + "_CodeMeaning");
        auto at = [&](int i) { return i >= 0 && i < static_cast<int>(f.size()) ? f[std::size_t(i)] : ""; };
        c.scheme = at(scheme);
        c.value = at(code);
        c.meaning = at(meaning);
        return c;
    };
    SegmentList list;
    int lineNumber = 1;
    for (std::string line; std::getline(in, line);) {
        ++lineNumber;
        if (line.empty() || line == "\r") continue;
        const auto f = splitCsv(line);
        if (static_cast<int>(f.size()) <= std::max({value, r, g, b}))
            badLine(path, lineNumber, "has fewer fields than the header");
        const auto label = byteValue(f[std::size_t(value)], path, lineNumber);
        if (label == 0) continue;
        Segment s = entry(label, name >= 0 ? f[std::size_t(name)] : "");
        s.color = {byteValue(f[std::size_t(r)], path, lineNumber),
                   byteValue(f[std::size_t(g)], path, lineNumber),
                   byteValue(f[std::size_t(b)], path, lineNumber)};
        if (const auto t = codedConcept(f, "Type"); !t.value.empty()) {
            s.type = t;
            s.category = codedConcept(f, "Category");
        }
        list.put(s);
    }
    return list;
}

}  // namespace

LabelTablePaths labelTablePaths(const fs::path& labelFile) {
    const std::string stem = volumeFileStem(labelFile);
    return {labelFile.parent_path() / (stem + "_labels.txt"),
            labelFile.parent_path() / (stem + "_ColorTable.csv")};
}

void writeItkSnapLabelTable(const SegmentList& segments, const fs::path& path) {
    std::ostringstream out;
    out << "################################################\n"
           "# ITK-SNAP Label Description File, written by Engram\n"
           "# IDX   -R-  -G-  -B-  -A--  VIS MSH  LABEL\n"
           "################################################\n"
           "    0     0    0    0     0  0  0    \"Clear Label\"\n";
    for (const auto& s : segments.segments()) {
        char row[64];
        std::snprintf(row, sizeof row, "%5d %5d %4d %4d %5d  %d  %d    ", s.label, s.color.r, s.color.g,
                      s.color.b, 1, s.visible ? 1 : 0, 1);
        out << row << '"' << withoutQuotes(s.name) << "\"\n";
    }
    writeText(path, out.str());
}

void writeSlicerColorTable(const SegmentList& segments, const fs::path& path) {
    std::ostringstream out;
    out << "LabelValue,Name,Color_R,Color_G,Color_B,Color_A,Category_CodingScheme,Category_CodeValue,"
           "Category_CodeMeaning,Type_CodingScheme,Type_CodeValue,Type_CodeMeaning\n";
    for (const auto& s : segments.segments()) {
        out << int(s.label) << ',' << csvField(s.name) << ',' << int(s.color.r) << ',' << int(s.color.g)
            << ',' << int(s.color.b) << ",255";
        // Slicer wants a category with every type: both or neither.
        const bool coded = !s.type.value.empty() && !s.category.value.empty();
        for (const CodedConcept* c : {&s.category, &s.type})
            out << ',' << (coded ? csvField(c->scheme) : "") << ',' << (coded ? csvField(c->value) : "")
                << ',' << (coded ? csvField(c->meaning) : "");
        out << '\n';
    }
    writeText(path, out.str());
}

void writeLabelTables(const SegmentList& segments, const LabelMap& labels, const fs::path& labelFile) {
    SegmentList present;
    for (const auto label : labels.labelsPresent())
        present.put(segments.find(label) ? *segments.find(label) : SegmentList::defaultFor(label));
    const auto paths = labelTablePaths(labelFile);
    writeItkSnapLabelTable(present, paths.itkSnap);
    writeSlicerColorTable(present, paths.slicer);
    spdlog::info("wrote label tables {} and {}", paths.itkSnap.string(), paths.slicer.string());
}

SegmentList readLabelTable(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw InputError("Cannot read the label table " + path.string() + ".");
    std::string line;
    int lineNumber = 0;
    // The first line that is not a comment tells the format.
    while (std::getline(in, line)) {
        ++lineNumber;
        if (!line.empty() && line != "\r" && line[0] != '#') break;
    }
    if (line.rfind("LabelValue", 0) == 0) {
        if (lineNumber != 1) badLine(path, lineNumber, "is a CSV header after comment lines");
        return readSlicerCsv(path, in, line);
    }
    // ITK-SNAP: IDX R G B A VIS MSH "LABEL"; Slicer's .ctbl: IDX name R G B A (spaces in names as '_').
    SegmentList list;
    do {
        if (line.empty() || line == "\r" || line[0] == '#') continue;
        std::istringstream fields(line);
        std::vector<std::string> f;
        std::string name;
        const bool itkSnap = line.find('"') != std::string::npos;
        if (const auto quote = line.find('"'); quote != std::string::npos) {
            const auto end = line.find('"', quote + 1);
            if (end == std::string::npos) badLine(path, lineNumber, "has an unclosed quote");
            name = line.substr(quote + 1, end - quote - 1);
            fields.str(line.substr(0, quote));
            for (std::string w; fields >> w;) f.push_back(w);
            if (f.size() != 7) badLine(path, lineNumber, "is not 'IDX R G B A VIS MSH \"LABEL\"'");
        } else {
            for (std::string w; fields >> w;) f.push_back(w);
            if (f.size() < 5) badLine(path, lineNumber, "is not 'index name R G B A'");
            name = f[1];
            std::replace(name.begin(), name.end(), '_', ' ');
            f.erase(f.begin() + 1);
        }
        const auto label = byteValue(f[0], path, lineNumber);
        if (label == 0) continue;
        Segment s = entry(label, name);
        s.color = {byteValue(f[1], path, lineNumber), byteValue(f[2], path, lineNumber),
                   byteValue(f[3], path, lineNumber)};
        if (itkSnap) s.visible = f[5] != "0";  // the VIS column
        list.put(s);
    } while (++lineNumber, std::getline(in, line));
    return list;
}

std::optional<fs::path> findLabelTable(const fs::path& labelFile) {
    const auto own = labelTablePaths(labelFile);
    const fs::path folder = labelFile.parent_path();
    const std::string stem = volumeFileStem(labelFile);
    std::error_code ec;
    for (const fs::path& p : {own.itkSnap, own.slicer, folder / (stem + ".ctbl")})
        if (fs::is_regular_file(p, ec)) return p;
    return std::nullopt;
}

}  // namespace engram
