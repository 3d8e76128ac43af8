// A DICOM-SEG read onto a series' grid (Open Segmentation, engram-cli convert --reference): the grid is that
// of dcmqi's 3-slice CT, whose SEGs seed the corpus.
#include "FuzzSupport.h"

#include <engram/annotation/DicomSeg.h>
#include <engram/annotation/Errors.h>

using namespace engram;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    fuzz::quietLogs();
    static const ImageGeometry grid = [] {
        ImageGeometry g;
        g.size = {512, 512, 3};
        g.spacing = {0.810547, 0.810547, 1.0};
        g.origin = {-235.2, -226.8, -128.69};
        return g;
    }();
    const auto path = fuzz::writeInput("seg.dcm", data, size);
    try {
        if (isDicomSegFile(path)) {
            DicomSegImport seg = readDicomSeg(path, grid);
            (void)seg.overlappingVoxels();
            seg.separateOverlaps();
            (void)seg.toLabelMap(grid);
        }
    } catch (const InputError&) {
    }
    return 0;
}
