#pragma once
// Reader for the safetensors format (8-byte little-endian header length, JSON header, raw little-endian
// tensor data): Engram's only weights format. Nothing is unpickled or executed. The header is validated
// completely on open (offsets inside the file, sizes matching dtype x shape, no overlaps), so a truncated or
// damaged file is reported by name before any tensor is used.

#include <engram/model/Types.h>

#include <torch/types.h>

#include <cstdint>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

namespace engram::model {

struct TensorEntry {
    std::string dtype;  // "F32", "F16", "BF16", "I64", ...
    std::vector<std::int64_t> shape;
    std::uint64_t begin = 0, end = 0;  // byte range within the data section
};

class SafeTensorsFile {
  public:
    // Throws WeightsError when the file is missing, truncated or its header is invalid.
    explicit SafeTensorsFile(std::string path);

    const std::string& path() const { return path_; }
    const std::map<std::string, TensorEntry>& entries() const { return entries_; }
    const std::map<std::string, std::string>& metadata() const { return metadata_; }
    bool contains(const std::string& name) const { return entries_.count(name) != 0; }

    // The tensor as stored (F32, F16, BF16, I64, I32, U8, BOOL). Throws WeightsError for an unknown name.
    torch::Tensor load(const std::string& name) const;

  private:
    std::string path_;
    std::uint64_t dataOffset_ = 0;
    std::map<std::string, TensorEntry> entries_;
    std::map<std::string, std::string> metadata_;
};

// Writes `tensors` (contiguous copies, on the CPU, in their own dtype) and `metadata` as a safetensors file,
// through a temporary file renamed over `path` on success. Throws WeightsError when it cannot be written.
void writeSafeTensors(const std::string& path, const std::map<std::string, torch::Tensor>& tensors,
                      const std::map<std::string, std::string>& metadata = {});

}  // namespace engram::model
