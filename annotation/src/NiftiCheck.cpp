#include "NiftiCheck.h"

#include <engram/annotation/Errors.h>
#include <engram/annotation/Geometry.h>

#include "GzFile.h"

#include <array>
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

// Bytes per voxel of a NIfTI-1 datatype code; 0 for a code the standard does not define.
int bytesOfDatatype(int code) {
    switch (code) {
        case 2:
        case 256:
            return 1;  // uint8, int8
        case 4:
        case 512:
            return 2;  // int16, uint16
        case 8:
        case 16:
        case 768:
            return 4;  // int32, float32, uint32
        case 64:
        case 1024:
        case 1280:
            return 8;  // float64, int64, uint64
        case 32:
            return 8;  // complex64
        case 128:
            return 3;  // RGB24
        case 2304:
            return 4;  // RGBA32
        case 1536:
        case 1792:
            return 16;  // float128, complex128
        case 2048:
            return 32;  // complex256
        default:
            return 0;
    }
}

}  // namespace

void checkNifti(const std::filesystem::path& path) {
    const std::string name = path.string();
    GzFile f(path);
    if (!f.ok()) throw InputError("Cannot read " + name + ": the file cannot be opened.");

    unsigned char h[348];
    if (!f.read(h, sizeof(h)))
        throw InputError("Cannot read " + name + ": the file is truncated (shorter than a NIfTI header).");
    const bool nifti1Magic = std::memcmp(h + 344, "n+1", 4) == 0 || std::memcmp(h + 344, "ni1", 4) == 0;
    if (field<std::int32_t>(h, 0, false) != 348 && field<std::int32_t>(h, 0, true) != 348) {
        for (bool swapped : {false, true})
            if (field<std::int32_t>(h, 0, swapped) == 540 && std::memcmp(h + 4, "n+2", 4) == 0)
                throw InputError("Cannot read " + name +
                                 ": it is a NIfTI-2 file, which Engram does not read; save it as "
                                 "NIfTI-1 (nibabel: Nifti1Image; dcm2niix writes NIfTI-1).");
        if (!nifti1Magic) return;  // not NIfTI: ITK decides
        // A NIfTI-1 mark with a damaged sizeof_hdr: niftilib still reads it, so it is checked as NIfTI.
    }
    // The byte order as niftilib finds it, from dim[0] (not from sizeof_hdr: a file whose sizeof_hdr was
    // damaged was read by niftilib in the byte order this check did not use, and a NaN in its sform
    // aborted ITK; found by fuzz_nifti).
    const auto dim0 = field<std::int16_t>(h, 40, false);
    const bool swap = !(dim0 >= 1 && dim0 <= 7);
    // A .nii without the single-file magic is an Analyze or .hdr/.img header, or damaged: niftilib would
    // look for its data elsewhere after ITK had allocated the size it claims (3.7 GB for a 1 KB file,
    // found by fuzz_nifti), so it is refused here.
    if (std::memcmp(h + 344, "n+1", 4) != 0)
        throw InputError("Cannot read " + name +
                         ": its header lacks the single-file NIfTI-1 mark ('n+1'): it is an Analyze or "
                         ".hdr/.img header, or a damaged file.");
    const auto ndim = field<std::int16_t>(h, 40, swap);
    if (ndim < 1 || ndim > 7)
        throw InputError("Cannot read " + name + ": the header declares " + std::to_string(ndim) +
                         " dimensions.");
    std::array<std::int64_t, 3> size{1, 1, 1};
    for (int d = 1; d <= ndim; ++d) {
        const auto n = field<std::int16_t>(h, 40 + 2 * d, swap);
        if (n < 1)
            throw InputError("Cannot read " + name + ": dimension " + std::to_string(d) + " has size " +
                             std::to_string(n) + ".");
        if (d <= 3)
            size[std::size_t(d - 1)] = n;
        else if (n > 1)
            throw InputError("Cannot read " + name + ": it is a " + std::to_string(ndim) +
                             "D image with several volumes; Engram reads one 3D volume.");
    }
    requireVoxelCount(size, "Cannot read " + name + ": it");
    const std::uint64_t voxels = std::uint64_t(size[0] * size[1] * size[2]);
    for (int d = 1; d <= std::min<int>(ndim, 3); ++d) {
        const float p = field<float>(h, 76 + 4 * d, swap);
        if (!(std::isfinite(p) && p > 0)) {
            std::ostringstream s;
            s << "Cannot read " << name << ": the voxel size in the header (pixdim[" << d << "]) is " << p
              << "; it must be a positive number of millimetres.";
            throw InputError(s.str());
        }
    }
    // The orientation ITK reads (the quaternion when qform_code is set, the affine rows when sform_code
    // is): a value there that is not a number made ITK's matrix code abort the process (fuzz_nifti).
    const auto requireFinite = [&](std::size_t offset, int count, const char* what) {
        for (int i = 0; i < count; ++i)
            if (!std::isfinite(field<float>(h, offset + 4 * std::size_t(i), swap)))
                throw InputError("Cannot read " + name + ": the header's " + what +
                                 " holds a value that is not a number.");
    };
    if (field<std::int16_t>(h, 252, swap) > 0) {
        requireFinite(76, 1, "orientation (qfac)");
        requireFinite(256, 6, "orientation (quatern, qoffset)");
    }
    if (field<std::int16_t>(h, 254, swap) > 0) requireFinite(280, 12, "affine (srow)");
    // The data's size follows from the datatype, which ITK reads by; bitpix must agree with it.
    const auto datatype = field<std::int16_t>(h, 70, swap);
    const auto bitpix = field<std::int16_t>(h, 72, swap);
    const int bytes = bytesOfDatatype(datatype);
    if (bytes == 0)
        throw InputError("Cannot read " + name + ": the header's data type " + std::to_string(datatype) +
                         " is not a NIfTI data type.");
    if (bitpix != 8 * bytes)
        throw InputError("Cannot read " + name + ": the header is damaged (bitpix " + std::to_string(bitpix) +
                         " for data type " + std::to_string(datatype) + ").");
    const float voxOffset = field<float>(h, 108, swap);
    if (!(voxOffset >= 348 && voxOffset < 1099511627776.0f))
        throw InputError("Cannot read " + name + ": the header is damaged (vox_offset).");
    const std::uint64_t expected = static_cast<std::uint64_t>(voxOffset) + voxels * std::uint64_t(bytes);

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
