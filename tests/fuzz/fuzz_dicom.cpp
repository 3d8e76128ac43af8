// One DICOM file in a folder: the folder scan (File > Open DICOM Folder) and loading each series found.
#include "FuzzSupport.h"

#include <engram/annotation/DicomSeries.h>
#include <engram/annotation/Errors.h>

using namespace engram;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    fuzz::quietLogs();
    const auto folder = fuzz::workDir() / "series";
    std::filesystem::create_directories(folder);
    fuzz::writeInput("series/image.dcm", data, size);
    try {
        for (const auto& s : scanDicomFolder(folder)) {
            if (s.isSegmentation) continue;
            const Volume v = loadDicomSeries(s);
            (void)v.valueRange();
        }
    } catch (const InputError&) {
    }
    return 0;
}
