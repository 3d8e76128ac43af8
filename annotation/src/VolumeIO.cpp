#include <engram/annotation/AtomicFile.h>
#include <engram/annotation/DicomSeries.h>
#include <engram/annotation/Errors.h>
#include <engram/annotation/VolumeIO.h>

#include "ItkBridge.h"
#include "MetaImageCheck.h"
#include "MghReader.h"
#include "NiftiCheck.h"

#include <itkImageFileReader.h>
#include <itkImageFileWriter.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <limits>
#include <set>
#include <sstream>

namespace fs = std::filesystem;

namespace engram {
namespace {

using FloatImage = itk::Image<float, 3>;

bool isMgh(const fs::path& path) {
    return detail::hasSuffix(path.string(), ".mgh") || detail::hasSuffix(path.string(), ".mgz");
}

void requireReadableFile(const fs::path& path) {
    std::error_code ec;
    if (!fs::exists(path, ec))
        throw InputError("Cannot read " + path.string() + ": the file does not exist.");
    if (!fs::is_regular_file(path, ec))
        throw InputError("Cannot read " + path.string() + ": it is not a file.");
    if (fs::file_size(path, ec) == 0)
        throw InputError("Cannot read " + path.string() + ": the file is empty.");
}

// ITK's writers do not all notice a short write (the NIfTI writer only prints znzlib's "NWAD" on stderr
// when the disk is full), so what was written is read back, whole, before it may replace the target.
void verifyWritten(const fs::path& file) {
    try {
        if (detail::hasSuffix(file.string(), ".nii") || detail::hasSuffix(file.string(), ".nii.gz")) {
            detail::checkNifti(file);  // streams all the data, checking its length
            return;
        }
        auto io = detail::imageIOForReading(file.string());
        if (!io) throw InputError("unreadable");
        auto reader = itk::ImageFileReader<FloatImage>::New();
        reader->SetImageIO(io);
        reader->SetFileName(file.string());
        reader->Update();
    } catch (const std::exception& e) {  // InputError, or ITK's exception (an std::exception)
        spdlog::error("reading back {}: {}", file.string(), e.what());
        throw OutputError("only part of it reached the disk (is the disk full?)");
    }
}

template <typename T>
void writeAs(const Volume& volume, const fs::path& file, itk::ImageIOBase* io) {
    using Image = itk::Image<T, 3>;
    auto image = detail::allocateOn<Image>(volume.geometry());
    T* out = image->GetBufferPointer();
    const auto& in = volume.voxels();
    for (std::size_t i = 0; i < in.size(); ++i) out[i] = static_cast<T>(in[i]);
    auto writer = itk::ImageFileWriter<Image>::New();
    writer->SetImageIO(io);
    writer->SetFileName(file.string());
    writer->SetInput(image);
    writer->Update();
}

template <typename T>
bool fitsExactly(const std::vector<float>& v) {
    const double lo = static_cast<double>(std::numeric_limits<T>::lowest());
    const double hi = static_cast<double>(std::numeric_limits<T>::max());
    return std::all_of(v.begin(), v.end(),
                       [&](float x) { return x >= lo && x <= hi && x == std::nearbyint(x); });
}

itk::ImageIOBase::Pointer writerIO(const fs::path& path) {
    auto io = detail::imageIOForWriting(path.string());
    if (!io)
        throw OutputError("Cannot write " + path.string() +
                          ": unsupported file type (use .nii.gz, .nii, .nrrd, .nhdr, .mha or .mhd).");
    return io;
}

}  // namespace

namespace {
const char* const kVolumeExtensions[] = {".nii.gz", ".nii", ".nrrd", ".nhdr", ".mha", ".mhd", ".mgh", ".mgz"};
}

bool isVolumeFile(const fs::path& path) {
    for (const char* ext : kVolumeExtensions)
        if (detail::hasSuffix(path.string(), ext)) return true;
    return false;
}

std::string volumeFileStem(const fs::path& path) {
    const std::string name = path.filename().string();
    for (const char* ext : kVolumeExtensions)
        if (detail::hasSuffix(name, ext)) return name.substr(0, name.size() - std::string(ext).size());
    return path.stem().string();
}

Volume readVolumeFile(const fs::path& path, const ProgressReporter& progress) {
    requireReadableFile(path);
    progress.report(0.0, "Reading " + path.filename().string());
    if (isMgh(path)) {
        Volume v = detail::readMgh(path);
        requireUsableGeometry(v.geometry(), "Cannot read " + path.string());
        progress.report(1.0, "Read " + path.filename().string());
        return v;
    }
    if (detail::hasSuffix(path.string(), ".nii") || detail::hasSuffix(path.string(), ".nii.gz"))
        detail::checkNifti(path);
    if (detail::hasSuffix(path.string(), ".mha") || detail::hasSuffix(path.string(), ".mhd"))
        detail::checkMetaImage(path);
    auto io = detail::imageIOForReading(path.string());
    if (!io)
        throw InputError("Cannot read " + path.string() +
                         ": not a NIfTI, NRRD, MetaImage or MGH image (or its header is damaged).");
    VolumeMetadata meta;
    FloatImage::Pointer image;
    try {
        io->SetFileName(path.string());
        io->ReadImageInformation();
        if (io->GetNumberOfDimensions() < 1)  // ITK then has no size to ask for (found by fuzz_mha)
            throw InputError("Cannot read " + path.string() + ": its header declares no dimensions.");
        if (io->GetNumberOfComponents() != 1)
            throw InputError("Cannot read " + path.string() + ": it has " +
                             std::to_string(io->GetNumberOfComponents()) +
                             " values per voxel (a colour or vector image); Engram reads scalar volumes.");
        for (unsigned d = 3; d < io->GetNumberOfDimensions(); ++d)
            if (io->GetDimensions(d) > 1)
                throw InputError("Cannot read " + path.string() + ": it is a " +
                                 std::to_string(io->GetNumberOfDimensions()) +
                                 "D image with several volumes; Engram reads one 3D volume.");
        // ITK allocates the whole image before reading its data: the claimed size is checked first.
        requireVoxelCount(
            {static_cast<std::int64_t>(io->GetDimensions(0)),
             io->GetNumberOfDimensions() > 1 ? static_cast<std::int64_t>(io->GetDimensions(1)) : 1,
             io->GetNumberOfDimensions() > 2 ? static_cast<std::int64_t>(io->GetDimensions(2)) : 1},
            "Cannot read " + path.string() + ": it");
        // A file holding its data (.mha, .nrrd) cannot hold more than deflate's ~1032:1 allows: a header
        // claiming more is refused before ITK allocates the claim.
        if (detail::hasSuffix(path.string(), ".mha") || detail::hasSuffix(path.string(), ".nrrd")) {
            std::error_code ec;
            const auto bytes = fs::file_size(path, ec);
            const double claimed = double(io->GetImageSizeInPixels()) * double(io->GetComponentSize());
            if (!ec && claimed > 1100.0 * double(bytes))
                throw InputError("Cannot read " + path.string() + ": its header claims " +
                                 std::to_string(std::int64_t(claimed)) +
                                 " bytes of image data in a file of " + std::to_string(bytes) +
                                 " bytes (truncated or damaged).");
        }
        meta.sourcePixelType = detail::componentTypeName(io->GetComponentType());
        auto reader = itk::ImageFileReader<FloatImage>::New();
        reader->SetImageIO(io);
        reader->SetFileName(path.string());
        reader->Update();
        image = reader->GetOutput();
    } catch (const itk::ExceptionObject& e) {
        std::string reason = detail::describe(e);
        if (reason.find("orthonormal") != std::string::npos)
            reason =
                "its orientation (sform and qform) is not a rotation: the grid is sheared or degenerate, "
                "which Engram cannot display without distorting it.";
        throw InputError("Cannot read " + path.string() + ": " + reason);
    }
    progress.throwIfCancelled();
    const ImageGeometry g = detail::geometryOf(image.GetPointer());
    requireUsableGeometry(g, "Cannot read " + path.string());
    const float* buf = image->GetBufferPointer();
    std::vector<float> voxels(buf, buf + g.voxelCount());
    meta.sourcePath = path.string();
    meta.description = path.filename().string();
    progress.report(1.0, "Read " + path.filename().string());
    spdlog::info("read {}: {}", path.string(), g.describe());
    return Volume(g, std::move(voxels), std::move(meta));
}

Volume readVolume(const fs::path& path, const std::string& seriesKey, const ProgressReporter& progress) {
    std::error_code ec;
    return fs::is_directory(path, ec) ? loadDicomFolder(path, seriesKey, progress)
                                      : readVolumeFile(path, progress);
}

void writeVolumeFile(const Volume& volume, const fs::path& path) {
    auto io = writerIO(path);
    const auto& v = volume.voxels();
    // Integral sources keep an integral type: theirs if the values fit (DICOM stores unsigned values before
    // rescale, so the rescaled values may need int16 or int32 instead).
    const std::string& source = volume.metadata().sourcePixelType;
    const bool integral = !source.empty() && source.find("float") == std::string::npos;
    writeFileAtomically(path, [&](const fs::path& tmp) {
        try {
            if (integral && source == "uint8" && fitsExactly<std::uint8_t>(v))
                writeAs<std::uint8_t>(volume, tmp, io);
            else if (integral && source == "uint16" && fitsExactly<std::uint16_t>(v))
                writeAs<std::uint16_t>(volume, tmp, io);
            else if (integral && fitsExactly<std::int16_t>(v))
                writeAs<std::int16_t>(volume, tmp, io);
            else if (integral && fitsExactly<std::int32_t>(v))
                writeAs<std::int32_t>(volume, tmp, io);
            else
                writeAs<float>(volume, tmp, io);
        } catch (const itk::ExceptionObject& e) {
            throw OutputError(detail::describe(e));
        }
        verifyWritten(tmp);
    });
}

LabelFileImport readLabelFile(const fs::path& path) {
    const Volume raw = readVolumeFile(path);
    const auto& values = raw.voxels();
    std::set<std::int64_t> distinct;
    for (std::size_t i = 0; i < values.size(); ++i) {
        const float x = values[i];
        if (!(x >= 0 && x <= 2147483647.0f && x == std::nearbyint(x))) {
            std::ostringstream s;
            s << "Cannot use " << path.string() << " as labels: voxel " << i << " holds " << x
              << "; label values must be whole numbers from 0 to 2147483647.";
            throw InputError(s.str());
        }
        if (x != 0) distinct.insert(static_cast<std::int64_t>(x));
        if (distinct.size() > 255) break;
    }
    if (distinct.size() > 255)
        throw InputError("Cannot use " + path.string() +
                         " as labels: it has more than 255 different label values; Engram holds at most 255 "
                         "segments.");

    LabelFileImport out;
    const bool renumber = !distinct.empty() && *distinct.rbegin() > 255;
    if (renumber) {
        std::uint8_t next = 1;
        for (std::int64_t v : distinct) out.renumbered[v] = next++;
        spdlog::warn("{}: label values up to {} renumbered 1..{}", path.string(), *distinct.rbegin(),
                     distinct.size());
    }
    std::vector<std::uint8_t> labels(values.size());
    for (std::size_t i = 0; i < values.size(); ++i) {
        const auto v = static_cast<std::int64_t>(values[i]);
        labels[i] = v == 0 ? 0 : renumber ? out.renumbered[v] : static_cast<std::uint8_t>(v);
    }
    out.labels = LabelMap(raw.geometry(), std::move(labels));
    return out;
}

LabelFileImport readLabelFile(const fs::path& path, const ImageGeometry& grid, GridRule rule) {
    LabelFileImport in = readLabelFile(path);
    const auto mapping = sameLattice(in.labels.geometry(), grid);
    if (!mapping && rule == GridRule::Exact) {
        const std::string grids =
            "Cannot use " + path.string() +
            " as labels for this image: the grids differ.\n  labels: " + in.labels.geometry().describe() +
            "\n  image:  " + grid.describe();
        throw GridMismatch(
            grids +
                "\nTo use them, resample the labels onto the image's grid by nearest neighbour "
                "(engram-cli: --resample nearest; the app asks).",
            grids);
    }
    if (!mapping) {
        in.labels = in.labels.resampledNearest(grid, &in.labelledOutside);
        in.resampled = true;
    } else {
        if (!mapping->identity()) in.mapping = mapping->describe();
        in.labels = in.labels.mappedOnto(grid, *mapping);
    }
    if (!in.summary().empty()) spdlog::info("{}: {}", path.string(), in.summary());
    return in;
}

std::string LabelFileImport::summary() const {
    if (resampled)
        return "labels on another grid, resampled by nearest neighbour onto the image's; " +
               std::to_string(labelledOutside) + " labelled voxels lay outside it";
    if (!mapping.empty())
        return "the image's grid stored in another axis order (" + mapping + "); labels mapped exactly";
    return {};
}

void writeLabelFile(const LabelMap& labels, const fs::path& path) {
    auto io = writerIO(path);
    using LabelImage = itk::Image<std::uint8_t, 3>;
    writeFileAtomically(path, [&](const fs::path& tmp) {
        auto image = detail::allocateOn<LabelImage>(labels.geometry());
        std::copy(labels.labels().begin(), labels.labels().end(), image->GetBufferPointer());
        auto writer = itk::ImageFileWriter<LabelImage>::New();
        writer->SetImageIO(io);
        writer->SetFileName(tmp.string());
        writer->SetInput(image);
        try {
            writer->Update();
        } catch (const itk::ExceptionObject& e) {
            throw OutputError(detail::describe(e));
        }
        verifyWritten(tmp);
    });
}

}  // namespace engram
