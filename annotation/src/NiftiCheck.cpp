#include "NiftiCheck.h"

#include <engram/annotation/Errors.h>

#include "GzFile.h"

#include <cmath>
#include <cstdint>
#include <cstring>
#include <sstream>
#include <vector>

namespace engram::detail {
namespace {

template <typename T>
T field(const unsigned char* h, std::size_t offset, bool swap) {
    return loadScalar<T>(h + offset, swap);
}

}  // namespace

void checkNifti(const std::filesystem::path& path) {
    const std::string name = path.string();
    GzFile f(path);
    if (!f.ok()) throw InputError("Cannot read " + name + ": the file cannot be opened.");

    unsigned char h[348];
    if (!f.read(h, sizeof(h)))
        throw InputError("Cannot read " + name + ": the file is truncated (shorter than a NIfTI header).");
    bool swap = false;
    if (field<std::int32_t>(h, 0, false) != 348) {
        if (field<std::int32_t>(h, 0, true) != 348) return;  // NIfTI-2 or not NIfTI: ITK decides
        swap = true;
    }
    if (std::memcmp(h + 344, "n+1", 4) != 0) return;  // .hdr/.img pair: data lives elsewhere
    const auto ndim = field<std::int16_t>(h, 40, swap);
    if (ndim < 1 || ndim > 7)
        throw InputError("Cannot read " + name + ": the header declares " + std::to_string(ndim) +
                         " dimensions.");
    std::uint64_t voxels = 1;
    for (int d = 1; d <= ndim; ++d) {
        const auto n = field<std::int16_t>(h, 40 + 2 * d, swap);
        if (n < 1)
            throw InputError("Cannot read " + name + ": dimension " + std::to_string(d) + " has size " +
                             std::to_string(n) + ".");
        voxels *= static_cast<std::uint64_t>(n);
    }
    for (int d = 1; d <= std::min<int>(ndim, 3); ++d) {
        const float p = field<float>(h, 76 + 4 * d, swap);
        if (!(std::isfinite(p) && p > 0)) {
            std::ostringstream s;
            s << "Cannot read " << name << ": the voxel size in the header (pixdim[" << d << "]) is " << p
              << "; it must be a positive number of millimetres.";
            throw InputError(s.str());
        }
    }
    const auto bitpix = field<std::int16_t>(h, 72, swap);
    const float voxOffset = field<float>(h, 108, swap);
    if (bitpix <= 0 || !(voxOffset >= 348))
        throw InputError("Cannot read " + name + ": the header is damaged (bitpix or vox_offset).");
    const std::uint64_t expected =
        static_cast<std::uint64_t>(voxOffset) + voxels * static_cast<std::uint64_t>(bitpix) / 8;

    std::uint64_t total = sizeof(h);
    std::vector<char> buf(1 << 20);
    for (;;) {
        const int got = f.readSome(buf.data(), static_cast<unsigned>(buf.size()));
        if (got < 0)
            throw InputError("Cannot read " + name + ": the compressed data is damaged (" + f.error() + ").");
        if (got == 0) break;
        total += static_cast<std::uint64_t>(got);
        if (total >= expected) break;
    }
    if (total < expected) {
        std::ostringstream s;
        s << "Cannot read " << name << ": the file is truncated (" << total << " of " << expected
          << " bytes of image data).";
        throw InputError(s.str());
    }
}

}  // namespace engram::detail
