#include "MghReader.h"

#include <engram/annotation/Errors.h>

#include "GzFile.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <memory>

namespace engram::detail {
namespace {

constexpr int kHeaderBytes = 284;

template <typename T>
T bigEndian(const unsigned char* p) {
    return loadScalar<T>(p, true);  // x86-64 and ARM64 hosts are little-endian
}

}  // namespace

Volume readMgh(const std::filesystem::path& path) {
    const std::string name = path.string();
    GzFile in(path);  // gzread reads plain .mgh files transparently too
    unsigned char h[kHeaderBytes];
    if (!in.ok() || !in.read(h, sizeof(h)))
        throw InputError("Cannot read " + name + ": the file is too short to be an MGH image.");

    const auto version = bigEndian<std::int32_t>(h);
    std::int32_t dims[3] = {bigEndian<std::int32_t>(h + 4), bigEndian<std::int32_t>(h + 8),
                            bigEndian<std::int32_t>(h + 12)};
    const auto frames = bigEndian<std::int32_t>(h + 16);
    const auto type = bigEndian<std::int32_t>(h + 20);
    const auto goodRas = bigEndian<std::int16_t>(h + 28);
    if (version != 1)
        throw InputError("Cannot read " + name + ": not an MGH file (version " + std::to_string(version) +
                         ").");
    for (int d : dims)
        if (d <= 0 || d > 65536)
            throw InputError("Cannot read " + name + ": invalid image dimensions in the header.");
    if (frames != 1)
        throw InputError("Cannot read " + name + ": it holds " + std::to_string(frames) +
                         " frames; Engram reads single-frame (3D) MGH images.");
    requireVoxelCount({dims[0], dims[1], dims[2]}, "Cannot read " + name + ": it");

    ImageGeometry g;
    // Default (goodRASflag <= 0): FreeSurfer's conformed LIA orientation, 1 mm, centred.
    double mdc[3][3] = {{-1, 0, 0}, {0, 0, -1}, {0, 1, 0}};  // mdc[axis][ras]
    double cras[3] = {0, 0, 0};
    if (goodRas > 0) {
        for (int a = 0; a < 3; ++a) g.spacing[a] = bigEndian<float>(h + 30 + 4 * a);
        for (int a = 0; a < 3; ++a)
            for (int r = 0; r < 3; ++r) mdc[a][r] = bigEndian<float>(h + 42 + 12 * a + 4 * r);
        for (int r = 0; r < 3; ++r) cras[r] = bigEndian<float>(h + 78 + 4 * r);
    }
    for (int a = 0; a < 3; ++a) {
        if (!(std::isfinite(g.spacing[a]) && g.spacing[a] > 0))
            throw InputError("Cannot read " + name + ": voxel size " + std::to_string(g.spacing[a]) +
                             " mm along axis " + std::to_string(a) + " is not a positive number.");
        g.size[a] = dims[a];
    }
    double p0[3];
    for (int r = 0; r < 3; ++r) {
        p0[r] = cras[r];
        for (int a = 0; a < 3; ++a) p0[r] -= mdc[a][r] * g.spacing[a] * (dims[a] / 2.0);
    }
    // RAS -> LPS: negate the first two world components.
    for (int r = 0; r < 3; ++r) {
        const double flip = r < 2 ? -1.0 : 1.0;
        g.origin[r] = flip * p0[r];
        for (int a = 0; a < 3; ++a) g.direction[r][a] = flip * mdc[a][r];
    }
    if (!g.hasOrthonormalDirection(1e-3))
        throw InputError("Cannot read " + name +
                         ": its direction cosines are not orthonormal (sheared grid).");

    std::size_t bytesPerVoxel = 0;
    std::string typeName;
    switch (type) {
        case 0:
            bytesPerVoxel = 1;
            typeName = "uint8";
            break;
        case 1:
            bytesPerVoxel = 4;
            typeName = "int32";
            break;
        case 3:
            bytesPerVoxel = 4;
            typeName = "float32";
            break;
        case 4:
            bytesPerVoxel = 2;
            typeName = "int16";
            break;
        default:
            throw InputError("Cannot read " + name + ": MGH voxel type " + std::to_string(type) +
                             " is not supported.");
    }
    const auto n = static_cast<std::size_t>(g.voxelCount());
    // The buffer grows with the data that really arrives (64 MiB at a time), so a short file claiming a
    // large grid is refused without first allocating the whole claim.
    std::vector<unsigned char> raw;
    for (std::size_t want = n * bytesPerVoxel; raw.size() < want;) {
        const std::size_t chunk = std::min<std::size_t>(want - raw.size(), std::size_t(64) << 20);
        const std::size_t at = raw.size();
        raw.resize(at + chunk);
        if (!in.read(raw.data() + at, chunk))
            throw InputError("Cannot read " + name +
                             ": the file is truncated (fewer voxels than the header declares).");
    }

    std::vector<float> voxels(n);
    const unsigned char* p = raw.data();
    for (std::size_t i = 0; i < n; ++i, p += bytesPerVoxel) {
        switch (type) {
            case 0:
                voxels[i] = *p;
                break;
            case 1:
                voxels[i] = static_cast<float>(bigEndian<std::int32_t>(p));
                break;
            case 3:
                voxels[i] = bigEndian<float>(p);
                break;
            default:
                voxels[i] = bigEndian<std::int16_t>(p);
                break;
        }
    }
    VolumeMetadata meta;
    meta.sourcePath = name;
    meta.sourcePixelType = typeName;
    meta.description = path.filename().string();
    return Volume(g, std::move(voxels), std::move(meta));
}

}  // namespace engram::detail
