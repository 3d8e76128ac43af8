#include <engram/annotation/SegmentStatistics.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <locale>
#include <sstream>
#include <stdexcept>

namespace engram {
namespace {

// Sums are taken about the label's first value, so the variance does not lose digits to a large mean.
struct Accumulator {
    std::int64_t count = 0;
    double shift = 0, sum = 0, sumSquares = 0;
    float min = 0, max = 0;
    Index3 lo{0, 0, 0}, hi{0, 0, 0};
};

std::string csvField(const std::string& s) {
    if (s.find_first_of(",\"\r\n") == std::string::npos) return s;
    std::string q = "\"";
    for (char c : s) {
        if (c == '"') q += '"';
        q += c;
    }
    return q + '"';
}

}  // namespace

std::vector<SegmentStatistics> segmentStatistics(const LabelMap& labels, const Volume& image) {
    const ImageGeometry& g = labels.geometry();
    if (!image.geometry().sameGrid(g))
        throw std::invalid_argument("The image is on another grid (" + image.geometry().describe() +
                                    ") than the labels (" + g.describe() + ").");
    std::array<Accumulator, 256> acc{};
    const std::uint8_t* l = labels.labels().data();
    const float* v = image.voxels().data();
    for (std::int64_t k = 0; k < g.size[2]; ++k)
        for (std::int64_t j = 0; j < g.size[1]; ++j)
            for (std::int64_t i = 0; i < g.size[0]; ++i, ++l, ++v) {
                if (*l == 0) continue;
                Accumulator& a = acc[*l];
                if (a.count++ == 0) {
                    a.shift = *v;
                    a.min = a.max = *v;
                    a.lo = a.hi = {i, j, k};
                } else {
                    a.min = std::min(a.min, *v);
                    a.max = std::max(a.max, *v);
                    a.lo = {std::min(a.lo[0], i), std::min(a.lo[1], j), a.lo[2]};
                    a.hi = {std::max(a.hi[0], i), std::max(a.hi[1], j), k};
                }
                const double d = double(*v) - a.shift;
                a.sum += d;
                a.sumSquares += d * d;
            }
    const double voxelMl = g.spacing[0] * g.spacing[1] * g.spacing[2] / 1000.0;
    std::vector<SegmentStatistics> out;
    for (int label = 1; label < 256; ++label) {
        const Accumulator& a = acc[std::size_t(label)];
        if (a.count == 0) continue;
        SegmentStatistics s;
        s.label = static_cast<std::uint8_t>(label);
        s.voxels = a.count;
        s.volumeMl = double(a.count) * voxelMl;
        const double n = double(a.count), m = a.sum / n;
        s.mean = a.shift + m;
        s.stddev = std::sqrt(std::max(0.0, a.sumSquares / n - m * m));
        s.min = a.min;
        s.max = a.max;
        s.begin = a.lo;
        s.end = a.hi;
        out.push_back(s);
    }
    return out;
}

void writeStatisticsCsv(std::ostream& out, const std::vector<SegmentStatistics>& statistics,
                        const std::map<int, std::string>& names) {
    std::ostringstream s;
    s.imbue(std::locale::classic());
    s.precision(10);
    s << "label,name,voxels,volume_ml,mean,std,min,max,begin_i,begin_j,begin_k,end_i,end_j,end_k\n";
    for (const SegmentStatistics& st : statistics) {
        const auto name = names.find(st.label);
        s << int(st.label) << ',' << csvField(name == names.end() ? std::string() : name->second) << ','
          << st.voxels << ',' << st.volumeMl << ',' << st.mean << ',' << st.stddev << ',' << st.min << ','
          << st.max;
        for (std::int64_t b : st.begin) s << ',' << b;
        for (std::int64_t e : st.end) s << ',' << e;
        s << '\n';
    }
    out << s.str();
}

}  // namespace engram
