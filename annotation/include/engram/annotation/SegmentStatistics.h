#pragma once
// Segment statistics, as 3D Slicer's Segment Statistics reports them: per label value present in a label
// map, its voxel count, volume, bounding box and the intensity statistics of an image on the same grid (HU
// on CT). All labels are measured in one pass over the volume. The CSV writer gives one row per segment for
// spreadsheets and scripts.
//
// Volume in mL = voxels * spacing[0] * spacing[1] * spacing[2] / 1000. The standard deviation is the
// population one (divided by the voxel count, as Slicer and numpy's default report it). Intensities are
// accumulated in double precision.
//
// Errors: segmentStatistics throws std::invalid_argument, and computes nothing, when the image is not on the
// label map's grid.

#include <engram/annotation/Geometry.h>
#include <engram/annotation/LabelMap.h>
#include <engram/annotation/Volume.h>

#include <cstdint>
#include <map>
#include <ostream>
#include <string>
#include <vector>

namespace engram {

struct SegmentStatistics {
    std::uint8_t label = 0;
    std::int64_t voxels = 0;
    double volumeMl = 0;
    double mean = 0, stddev = 0, min = 0, max = 0;  // of the image over the segment's voxels
    Index3 begin{0, 0, 0}, end{0, 0, 0};            // bounding box in voxels, end inclusive
};

// One entry per label value > 0 present in `labels`, ascending.
std::vector<SegmentStatistics> segmentStatistics(const LabelMap& labels, const Volume& image);

// Writes a header line, then one line per entry in order, the name taken from `names` (empty when it has no
// entry for the label). Fields holding a comma, a double quote or a line break are quoted (RFC 4180);
// numbers are written with a '.' decimal point whatever the locale.
void writeStatisticsCsv(std::ostream& out, const std::vector<SegmentStatistics>& statistics,
                        const std::map<int, std::string>& names);

}  // namespace engram
