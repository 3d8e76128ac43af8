#pragma once
// Internal: reading gzip-compressed or plain files (zlib reads both), and scalars of either byte order.

#include <zlib.h>

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <filesystem>
#include <string>

namespace engram::detail {

class GzFile {
  public:
    explicit GzFile(const std::filesystem::path& path) : file_(gzopen(path.c_str(), "rb")) {}
    ~GzFile() {
        if (file_) gzclose(file_);
    }
    GzFile(const GzFile&) = delete;
    GzFile& operator=(const GzFile&) = delete;

    bool ok() const { return file_ != nullptr; }
    // Up to n bytes; 0 at the end; -1 on a decompression error (see error()).
    int readSome(void* out, unsigned n) { return gzread(file_, out, n); }
    // Exactly n bytes, or false on a short read or a decompression error.
    bool read(void* out, std::size_t n) {
        auto* p = static_cast<unsigned char*>(out);
        while (n > 0) {
            const int got = readSome(p, static_cast<unsigned>(std::min<std::size_t>(n, 1u << 30)));
            if (got <= 0) return false;
            p += got;
            n -= static_cast<std::size_t>(got);
        }
        return true;
    }
    std::string error() {
        int code = 0;
        return gzerror(file_, &code);
    }

  private:
    gzFile file_;
};

// A scalar stored at p, with its bytes reversed when `swap` (e.g. big-endian data on this little-endian
// host).
template <typename T>
T loadScalar(const unsigned char* p, bool swap) {
    unsigned char b[sizeof(T)];
    std::memcpy(b, p, sizeof(T));
    if (swap) std::reverse(b, b + sizeof(T));
    T v;
    std::memcpy(&v, b, sizeof(T));
    return v;
}

}  // namespace engram::detail
