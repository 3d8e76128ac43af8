#include <engram/model/weights/SafeTensors.h>

#include "JsonValues.h"

#include <spdlog/spdlog.h>

#include <unistd.h>
#include <algorithm>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>

namespace engram::model {
namespace {

struct DtypeInfo {
    const char* name;
    torch::ScalarType type;
    std::size_t bytes;
};

constexpr DtypeInfo kDtypes[] = {
    {"F32", torch::kFloat32, 4}, {"F16", torch::kFloat16, 2}, {"BF16", torch::kBFloat16, 2},
    {"F64", torch::kFloat64, 8}, {"I64", torch::kInt64, 8},   {"I32", torch::kInt32, 4},
    {"I16", torch::kInt16, 2},   {"I8", torch::kInt8, 1},     {"U8", torch::kUInt8, 1},
    {"BOOL", torch::kBool, 1},
};

const DtypeInfo* dtypeInfo(const std::string& name) {
    for (const auto& d : kDtypes)
        if (name == d.name) return &d;
    return nullptr;
}

constexpr std::uint64_t kMaxHeaderBytes = 100ull << 20;

}  // namespace

SafeTensorsFile::SafeTensorsFile(std::string path) : path_(std::move(path)) {
    std::error_code ec;
    const auto fileSize = std::filesystem::file_size(path_, ec);
    if (ec) throw WeightsError("Cannot open weights " + path_ + ": " + ec.message());
    std::ifstream in(path_, std::ios::binary);
    if (!in) throw WeightsError("Cannot open weights " + path_);
    unsigned char lenBytes[8];
    if (fileSize < 8 || !in.read(reinterpret_cast<char*>(lenBytes), 8))
        throw WeightsError("Weights " + path_ + " are truncated: no safetensors header.");
    std::uint64_t headerLen = 0;
    for (int i = 7; i >= 0; --i) headerLen = (headerLen << 8) | lenBytes[i];
    if (headerLen == 0 || headerLen > kMaxHeaderBytes || 8 + headerLen > fileSize)
        throw WeightsError("Weights " + path_ + " have an invalid header length (" +
                           std::to_string(headerLen) + " bytes in a file of " + std::to_string(fileSize) +
                           "): not a safetensors file, or truncated.");
    std::string header(headerLen, '\0');
    in.read(header.data(), static_cast<std::streamsize>(headerLen));
    dataOffset_ = 8 + headerLen;
    const std::uint64_t dataSize = fileSize - dataOffset_;

    nlohmann::json j;
    try {
        j = nlohmann::json::parse(header);
    } catch (const nlohmann::json::exception& e) {
        throw WeightsError("Weights " + path_ + " have a damaged header: " + e.what());
    }
    if (!j.is_object()) throw WeightsError("Weights " + path_ + " have a damaged header: not a JSON object.");

    std::vector<std::pair<std::uint64_t, std::uint64_t>> ranges;
    for (auto it = j.begin(); it != j.end(); ++it) {
        const std::string& name = it.key();
        if (name == "__metadata__") {
            if (!it->is_object()) throw WeightsError("Weights " + path_ + ": __metadata__ is not an object.");
            for (auto m = it->begin(); m != it->end(); ++m)
                if (m->is_string()) metadata_[m.key()] = m->get<std::string>();
            continue;
        }
        const auto& v = *it;
        try {
            TensorEntry e;
            e.dtype = json::at<std::string>(v, "dtype");
            e.shape = json::at<std::vector<std::int64_t>>(v, "shape");
            const auto offsets = json::at<std::vector<std::uint64_t>>(v, "data_offsets");
            if (offsets.size() != 2) throw WeightsError("data_offsets must have two entries");
            e.begin = offsets[0];
            e.end = offsets[1];
            const DtypeInfo* d = dtypeInfo(e.dtype);
            if (!d) throw WeightsError("unsupported dtype " + e.dtype);
            if (e.shape.size() > 16) throw WeightsError("more than 16 dimensions");
            // The shape's bytes must equal the byte range, which lies inside the file: computed without
            // overflow, so no shape can claim more memory than the file holds.
            std::uint64_t bytes = d->bytes;
            for (auto s : e.shape) {
                if (s < 0) throw WeightsError("negative dimension");
                if (s != 0 && bytes > std::numeric_limits<std::uint64_t>::max() / std::uint64_t(s))
                    throw WeightsError("a shape too large to hold");
                bytes *= static_cast<std::uint64_t>(s);
            }
            if (e.end < e.begin || e.end - e.begin != bytes)
                throw WeightsError("byte range does not match its dtype and shape");
            if (e.end > dataSize)
                throw WeightsError("data lies beyond the end of the file (truncated file?)");
            ranges.emplace_back(e.begin, e.end);
            entries_.emplace(name, std::move(e));
        } catch (const std::invalid_argument& ex) {
            throw WeightsError("Weights " + path_ + ", tensor '" + name + "': malformed entry (" + ex.what() +
                               ")");
        } catch (const WeightsError& ex) {
            throw WeightsError("Weights " + path_ + ", tensor '" + name + "': " + ex.what());
        }
    }
    std::sort(ranges.begin(), ranges.end());
    for (std::size_t i = 1; i < ranges.size(); ++i)
        if (ranges[i].first < ranges[i - 1].second)
            throw WeightsError("Weights " + path_ + " have overlapping tensor data: the header is damaged.");
    spdlog::debug("opened {}: {} tensors", path_, entries_.size());
}

torch::Tensor SafeTensorsFile::load(const std::string& name) const {
    const auto it = entries_.find(name);
    if (it == entries_.end()) throw WeightsError("Weights " + path_ + " have no tensor '" + name + "'.");
    const TensorEntry& e = it->second;
    const DtypeInfo* d = dtypeInfo(e.dtype);
    torch::Tensor t = torch::empty(e.shape, torch::TensorOptions().dtype(d->type));
    std::ifstream in(path_, std::ios::binary);
    in.seekg(static_cast<std::streamoff>(dataOffset_ + e.begin));
    if (!in.read(static_cast<char*>(t.data_ptr()), static_cast<std::streamsize>(e.end - e.begin)))
        throw WeightsError("Weights " + path_ + ": cannot read tensor '" + name +
                           "' (file changed or truncated).");
    return t;
}

void writeSafeTensors(const std::string& path, const std::map<std::string, torch::Tensor>& tensors,
                      const std::map<std::string, std::string>& metadata) {
    nlohmann::json header;
    if (!metadata.empty()) header["__metadata__"] = metadata;
    std::vector<torch::Tensor> blobs;
    std::uint64_t offset = 0;
    for (const auto& [name, tensor] : tensors) {
        const auto t = tensor.detach().to(torch::kCPU).contiguous();
        const DtypeInfo* d = nullptr;
        for (const auto& candidate : kDtypes)
            if (candidate.type == t.scalar_type()) d = &candidate;
        if (!d)
            throw WeightsError("Cannot write " + path + ": tensor '" + name + "' has an unsupported dtype.");
        const std::uint64_t bytes = static_cast<std::uint64_t>(t.numel()) * d->bytes;
        header[name] = {
            {"dtype", d->name}, {"shape", t.sizes().vec()}, {"data_offsets", {offset, offset + bytes}}};
        offset += bytes;
        blobs.push_back(t);
    }
    std::string h = header.dump();
    h.append((8 - h.size() % 8) % 8, ' ');
    const std::string tmp = path + ".tmp-" + std::to_string(::getpid());
    {
        std::ofstream out(tmp, std::ios::binary);
        std::uint64_t n = h.size();
        unsigned char len[8];
        for (int i = 0; i < 8; ++i) len[i] = static_cast<unsigned char>((n >> (8 * i)) & 0xff);
        out.write(reinterpret_cast<const char*>(len), 8);
        out.write(h.data(), static_cast<std::streamsize>(h.size()));
        for (const auto& t : blobs)
            out.write(static_cast<const char*>(t.data_ptr()),
                      static_cast<std::streamsize>(t.numel() * t.element_size()));
        if (!out) {
            std::remove(tmp.c_str());
            throw WeightsError("Cannot write " + path + ": the disk refused the data.");
        }
    }
    std::error_code ec;
    std::filesystem::rename(tmp, path, ec);
    if (ec) {
        std::remove(tmp.c_str());
        throw WeightsError("Cannot write " + path + ": " + ec.message());
    }
}

}  // namespace engram::model
