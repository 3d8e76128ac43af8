#include "MetaImageCheck.h"

#include <engram/annotation/Errors.h>

#include <zlib.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

namespace engram::detail {
namespace {

std::string trimmed(const std::string& s) {
    const auto b = s.find_first_not_of(" \t\r");
    const auto e = s.find_last_not_of(" \t\r");
    return b == std::string::npos ? std::string() : s.substr(b, e - b + 1);
}

std::string lowered(std::string s) {
    for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
}

// A MetaImage yes/no value as MetaIO reads it: true when it starts with T, t or 1 ("Tru%" is true).
bool metaTrue(const std::string& value) {
    return !value.empty() && (value[0] == 'T' || value[0] == 't' || value[0] == '1');
}

// The numbers of a field, or nullopt-like empty when any is not a number.
std::vector<double> numbers(const std::string& text) {
    std::istringstream in(text);
    std::vector<double> out;
    for (std::string w; in >> w;) {
        std::size_t used = 0;
        double v = 0;
        try {
            v = std::stod(w, &used);
        } catch (const std::exception&) {
            return {};
        }
        if (used != w.size()) return {};
        out.push_back(v);
    }
    return out;
}

// Bytes per value of a MetaImage element type; 0 for types whose size this check does not rely on.
std::uintmax_t elementBytes(const std::string& type) {
    static const std::map<std::string, std::uintmax_t> sizes{
        {"MET_CHAR", 1}, {"MET_UCHAR", 1}, {"MET_SHORT", 2},     {"MET_USHORT", 2},     {"MET_INT", 4},
        {"MET_UINT", 4}, {"MET_FLOAT", 4}, {"MET_LONG_LONG", 8}, {"MET_ULONG_LONG", 8}, {"MET_DOUBLE", 8}};
    const auto it = sizes.find(type);
    return it == sizes.end() ? 0 : it->second;
}

// Whether the zlib stream of `size` bytes at `offset` in `file` inflates cleanly to its end, to exactly
// `expected` bytes (0: any number up to `limit`). Reads in chunks; keeps nothing.
bool inflatesCleanly(const std::filesystem::path& file, std::uintmax_t offset, std::uintmax_t size,
                     std::uintmax_t expected, std::uintmax_t limit) {
    std::ifstream in(file, std::ios::binary);
    in.seekg(static_cast<std::streamoff>(offset));
    if (!in) return false;
    z_stream z{};
    if (inflateInit(&z) != Z_OK) return false;
    constexpr std::size_t chunk = 1 << 16;
    std::vector<unsigned char> input(chunk), output(chunk);
    std::uintmax_t left = size, produced = 0;
    int rc = Z_OK;
    while (rc == Z_OK || (rc == Z_BUF_ERROR && z.avail_in == 0)) {
        if (z.avail_in == 0) {
            if (left == 0) break;  // the data ends before the stream does
            in.read(reinterpret_cast<char*>(input.data()),
                    std::streamsize(std::min<std::uintmax_t>(left, chunk)));
            const auto got = static_cast<std::uintmax_t>(in.gcount());
            if (got == 0) break;
            left -= got;
            z.next_in = input.data();
            z.avail_in = static_cast<uInt>(got);
        }
        z.next_out = output.data();
        z.avail_out = static_cast<uInt>(chunk);
        rc = inflate(&z, Z_NO_FLUSH);
        produced += chunk - z.avail_out;
        if (produced > (expected ? expected : limit)) break;
    }
    inflateEnd(&z);
    return rc == Z_STREAM_END && (expected == 0 || produced == expected);
}

}  // namespace

void checkMetaImage(const std::filesystem::path& path) {
    const std::string name = path.string();
    std::ifstream in(path, std::ios::binary);
    if (!in) throw InputError("Cannot read " + name + ": the file cannot be opened.");
    std::map<std::string, std::string> fields;
    std::string line;
    std::size_t read = 0;
    bool dataFile = false;
    auto bad = [&](const std::string& why) { throw InputError("Cannot read " + name + ": " + why + "."); };
    // The header is text lines "Key = Value" up to ElementDataFile: MetaIO copies keys and values into
    // fixed buffers (a long binary line overflowed one, found by fuzz_mha), so anything else is refused.
    while (!dataFile && read < (64u << 10) && std::getline(in, line)) {
        read += line.size() + 1;
        if (line.size() > 1024)
            bad("its header has a line of " + std::to_string(line.size()) + " characters");
        for (const unsigned char c : line)
            if (!(c == '\t' || c == '\r' || (c >= 0x20 && c < 0x7f))) bad("its header is not text");
        const auto eq = line.find('=');
        if (eq == std::string::npos) {
            if (!trimmed(line).empty())
                bad("its header line '" + line.substr(0, 40) + "' is not 'Key = Value'");
            continue;
        }
        const std::string key = trimmed(line.substr(0, eq));
        if (key.empty() || key.size() > 64 ||
            key.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_") !=
                std::string::npos)
            bad("its header key '" + key.substr(0, 40) + "' is not a MetaImage key");
        std::string value = trimmed(line.substr(eq + 1));
        // MetaIO copies Comment, ObjectType, Name, AcquisitionDate, ... into 255-byte buffers inside a heap
        // object, unchecked (a longer value corrupted the heap without a report until the allocator noticed:
        // found by fuzz_mha).
        if (value.size() > 254)
            bad("its header value for " + key + " is " + std::to_string(value.size()) +
                " characters long (MetaImage allows 254)");
        // MetaIO reads the header in order, sizing an array by the count in force at that line: a huge
        // NDims followed later by a sane one made it read DimSize forever (fuzz_mha). No writer repeats a
        // key, so a repeated one is refused and this check sees what MetaIO sees.
        if (fields.count(key)) bad("its header gives " + key + " twice");
        fields[key] = std::move(value);
        dataFile = key == "ElementDataFile";
    }
    if (!fields.count("NDims") || !fields.count("DimSize") || !dataFile)
        bad("not a MetaImage header (NDims, DimSize and ElementDataFile are needed)");
    // The data in one place: this file (LOCAL) or one named file. A volume spread over a LIST of files or a
    // file-name pattern ("slice%03d.raw 1 40 1") is refused: MetaIO divides by the pattern's numbers
    // unchecked (a crash, found by fuzz_mha), and such volumes are rare outside MetaIO's own tests.
    const std::string& data = fields["ElementDataFile"];
    if (lowered(data.substr(0, 4)) == "list" || data.find('%') != std::string::npos)
        bad("its data is split over several files (ElementDataFile = " + data.substr(0, 40) +
            "), which Engram does not read; save it as one .mha, or as an .mhd with one data file");
    // Data stored as text (BinaryData = False): MetaIO 5.2 then frees the buffer ITK gave it (a bad free,
    // found by fuzz_mha). Such files are rare; binary is MetaIO's default and what every writer uses.
    if (fields.count("BinaryData") && !metaTrue(fields["BinaryData"]))
        bad("its voxels are stored as text (BinaryData = " + fields["BinaryData"].substr(0, 40) +
            "), which Engram does not read; save it with binary data");
    // The data is in this file (LOCAL) or in one file beside it, which must be there: MetaIO measured an
    // unnamed data file as -1 bytes and allocated 2^63 for it (found by fuzz_mha).
    const bool local = data == "LOCAL" || data == "Local" || data == "local";  // MetaIO's spellings
    const std::filesystem::path dataPath = local ? path : path.parent_path() / std::filesystem::path(data);
    std::error_code error;
    if (!local && (data.empty() || !std::filesystem::is_regular_file(dataPath, error)))
        bad("its data file '" + data.substr(0, 80) + "' (ElementDataFile) is missing");
    if (fields.count("HeaderSize")) {
        const auto h = numbers(fields["HeaderSize"]);
        if (h.size() != 1 || h[0] != std::floor(h[0]) || h[0] < -1)
            bad("its HeaderSize '" + fields["HeaderSize"].substr(0, 40) + "' is not a size (or -1)");
    }
    const auto ndims = numbers(fields["NDims"]);
    if (ndims.size() != 1 || ndims[0] != std::floor(ndims[0]) || ndims[0] < 1 || ndims[0] > 4)
        bad("its header declares " + fields["NDims"] + " dimensions (NDims must be 1 to 4)");
    const auto n = static_cast<std::size_t>(ndims[0]);
    const auto sizes = numbers(fields["DimSize"]);
    if (sizes.size() != n)
        bad("its DimSize '" + fields["DimSize"] + "' does not give " + std::to_string(n) + " sizes");
    for (double s : sizes)
        if (s != std::floor(s) || s < 1 || s > (1 << 20))
            bad("its DimSize '" + fields["DimSize"] + "' is not a size");
    for (const char* key : {"ElementSpacing", "ElementSize"})
        if (fields.count(key)) {
            const auto v = numbers(fields[key]);
            bool ok = v.size() == n;
            for (double x : v) ok &= std::isfinite(x) && x > 0;
            if (!ok)
                bad(std::string("its ") + key + " '" + fields[key] + "' is not " + std::to_string(n) +
                    " positive numbers");
        }
    if (fields.count("ElementNumberOfChannels")) {
        const auto c = numbers(fields["ElementNumberOfChannels"]);
        if (c.size() != 1 || c[0] != std::floor(c[0]) || c[0] < 1 || c[0] > 64)
            bad("its ElementNumberOfChannels '" + fields["ElementNumberOfChannels"] + "' is not 1 to 64");
    }
    // MetaIO's inflate loop never ends on a stream that stops early or asks for a preset dictionary (found by
    // fuzz_mha: a 273-byte file hung the reader), so a compressed volume is inflated once here, in chunks:
    // it must end cleanly with exactly the voxels its header declares.
    if (fields.count("CompressedData") && metaTrue(fields["CompressedData"])) {
        if (fields.count("HeaderSize") && numbers(fields["HeaderSize"]) != std::vector<double>{0})
            bad("its compressed data follows a skipped header (HeaderSize), which Engram does not read");
        const std::uintmax_t offset = local ? read : 0;
        const std::uintmax_t fileSize = std::filesystem::file_size(dataPath, error);
        if (error || offset > fileSize) bad("its compressed data cannot be read");
        std::uintmax_t bytes = fileSize - offset;
        // MetaIO allocates CompressedDataSize bytes before reading them: a claim of 100 GB (or of -5, taken
        // as 2^64 - 5) in a 300-byte file was allocated as claimed. The claim must fit in the data's file.
        if (fields.count("CompressedDataSize")) {
            const auto claim = numbers(fields["CompressedDataSize"]);
            if (claim.size() != 1 || claim[0] != std::floor(claim[0]) || claim[0] < 0 ||
                claim[0] > double(fileSize))
                bad("its CompressedDataSize '" + fields["CompressedDataSize"].substr(0, 40) +
                    "' is not a size within its data file of " + std::to_string(fileSize) + " bytes");
            bytes = std::min<std::uintmax_t>(bytes, std::uintmax_t(claim[0]));
        }
        double declared = double(elementBytes(fields["ElementType"]));
        if (fields.count("ElementNumberOfChannels"))
            declared *= numbers(fields["ElementNumberOfChannels"])[0];
        for (double d : sizes) declared *= d;
        constexpr double limit = double(std::uintmax_t(1) << 36);  // larger claims meet the size limits later
        const auto expected = static_cast<std::uintmax_t>(declared);
        if (declared <= limit && !inflatesCleanly(dataPath, offset, bytes, expected, std::uintmax_t(limit)))
            bad("its compressed voxels are damaged (they do not inflate to the " +
                (expected ? std::to_string(expected) + " bytes its header declares" : std::string("end")) +
                ")");
    }
}

}  // namespace engram::detail
