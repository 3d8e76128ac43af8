#include <engram/annotation/AtomicFile.h>
#include <engram/annotation/Errors.h>
#include <engram/annotation/Session.h>

#include <QByteArray>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>

#include <cmath>
#include <cstring>
#include <fstream>

namespace engram {
namespace {

constexpr int kFormatVersion = 1;
constexpr const char* kFormatName = "engram-session";

QJsonArray toArray(const Vec3& v) { return {v[0], v[1], v[2]}; }

Vec3 vec3(const QJsonValue& v) {
    const QJsonArray a = v.toArray();
    if (a.size() != 3) throw std::invalid_argument("expected three numbers");
    return {a[0].toDouble(), a[1].toDouble(), a[2].toDouble()};
}

QJsonObject toJson(const CodedConcept& c) {
    return {{"value", QString::fromStdString(c.value)},
            {"scheme", QString::fromStdString(c.scheme)},
            {"meaning", QString::fromStdString(c.meaning)}};
}

CodedConcept concept(const QJsonValue& v) {
    const QJsonObject o = v.toObject();
    return {o["value"].toString().toStdString(), o["scheme"].toString().toStdString(),
            o["meaning"].toString().toStdString()};
}

const char* algorithmName(SegmentAlgorithm a) {
    switch (a) {
        case SegmentAlgorithm::Manual:
            return "manual";
        case SegmentAlgorithm::Automatic:
            return "automatic";
        case SegmentAlgorithm::SemiAutomatic:
            break;
    }
    return "semiautomatic";
}

SegmentAlgorithm algorithmFrom(const QString& s) {
    if (s == "manual") return SegmentAlgorithm::Manual;
    if (s == "automatic") return SegmentAlgorithm::Automatic;
    return SegmentAlgorithm::SemiAutomatic;
}

QJsonObject gridJson(const ImageGeometry& g) {
    QJsonArray direction;
    for (int r = 0; r < 3; ++r)
        for (int c = 0; c < 3; ++c) direction.append(g.direction[r][c]);
    return {{"size", QJsonArray{double(g.size[0]), double(g.size[1]), double(g.size[2])}},
            {"spacing", toArray(g.spacing)},
            {"origin", toArray(g.origin)},
            {"direction", direction}};
}

// A whole number stored as a JSON double; std::invalid_argument when it is not one within 2^53.
std::int64_t wholeNumber(double x, const char* what) {
    if (!(std::isfinite(x) && std::abs(x) <= 9007199254740992.0 && x == std::floor(x)))
        throw std::invalid_argument(std::string("bad ") + what);
    return static_cast<std::int64_t>(x);
}

ImageGeometry gridFrom(const QJsonObject& o) {
    ImageGeometry g;
    const Vec3 size = vec3(o["size"]);
    for (int a = 0; a < 3; ++a) {
        if (!(size[a] >= 1 && size[a] <= 65536)) throw std::invalid_argument("bad grid size");
        g.size[a] = static_cast<std::int64_t>(size[a]);
    }
    requireVoxelCount(g.size, "its grid");
    g.spacing = vec3(o["spacing"]);
    g.origin = vec3(o["origin"]);
    const QJsonArray d = o["direction"].toArray();
    if (d.size() != 9) throw std::invalid_argument("bad direction");
    for (int r = 0; r < 3; ++r)
        for (int c = 0; c < 3; ++c) g.direction[r][c] = d[r * 3 + c].toDouble();
    requireUsableGeometry(g, "its grid");
    return g;
}

}  // namespace

std::vector<std::uint8_t> encodeLabelRuns(const std::vector<std::uint8_t>& labels) {
    std::vector<std::uint8_t> out;
    const std::uint8_t* p = labels.data();
    const std::size_t n = labels.size();
    for (std::size_t i = 0; i < n;) {
        const std::uint8_t value = p[i];
        // A run is followed 8 bytes at a time while whole words match, then byte by byte: label maps are
        // mostly long runs of background.
        const std::uint64_t word = 0x0101010101010101ull * value;
        std::size_t j = i + 1;
        for (std::uint64_t w; j + 8 <= n; j += 8) {
            std::memcpy(&w, p + j, 8);
            if (w != word) break;
        }
        while (j < n && p[j] == value) ++j;
        out.push_back(value);
        for (std::uint64_t run = j - i;;) {
            const auto byte = static_cast<std::uint8_t>(run & 0x7f);
            run >>= 7;
            out.push_back(run ? byte | 0x80 : byte);
            if (!run) break;
        }
        i = j;
    }
    return out;
}

std::vector<std::uint8_t> decodeLabelRuns(const std::vector<std::uint8_t>& runs, std::size_t voxels) {
    std::vector<std::uint8_t> out;
    out.reserve(voxels);
    for (std::size_t p = 0; p < runs.size();) {
        const std::uint8_t value = runs[p++];
        std::uint64_t run = 0;
        for (int shift = 0;; shift += 7) {
            if (p >= runs.size() || shift > 56) throw InputError("the label runs are truncated");
            const std::uint8_t b = runs[p++];
            run |= std::uint64_t(b & 0x7f) << shift;
            if (!(b & 0x80)) break;
        }
        if (run == 0 || run > voxels - out.size()) throw InputError("the label runs do not match the grid");
        out.insert(out.end(), run, value);
    }
    if (out.size() != voxels) throw InputError("the label runs do not cover the grid");
    return out;
}

PackedSession packSession(SessionInfo info, const LabelMap& labels) {
    PackedSession p;
    static_cast<SessionInfo&>(p) = std::move(info);
    p.grid = labels.geometry();
    p.labelRuns = encodeLabelRuns(labels.labels());
    return p;
}

void writeSession(const SessionDocument& s, const std::filesystem::path& path) {
    writeSession(packSession(s, s.labels), path);
}

void writeSession(const PackedSession& s, const std::filesystem::path& path) {
    QJsonArray segments;
    for (const auto& seg : s.segments.segments())
        segments.append(QJsonObject{{"label", seg.label},
                                    {"name", QString::fromStdString(seg.name)},
                                    {"color", QJsonArray{seg.color.r, seg.color.g, seg.color.b}},
                                    {"visible", seg.visible},
                                    {"category", toJson(seg.category)},
                                    {"type", toJson(seg.type)},
                                    {"algorithm", algorithmName(seg.algorithm)},
                                    {"algorithmName", QString::fromStdString(seg.algorithmName)}});
    QJsonArray history;
    for (const auto& h : s.history)
        history.append(QJsonObject{{"kind", h.label()},
                                   {"view", h.view},
                                   {"segment", h.segment},
                                   {"world", toArray(h.world)},
                                   {"changedVoxels", double(h.changedVoxels)},
                                   {"segmentVoxels", double(h.segmentVoxels)},
                                   {"confidence", double(h.confidence)},
                                   {"milliseconds", h.milliseconds},
                                   {"time", h.time.toString(Qt::ISODateWithMs)}});
    const QByteArray packed = qCompress(reinterpret_cast<const uchar*>(s.labelRuns.data()),
                                        static_cast<qsizetype>(s.labelRuns.size()), 6);
    QJsonObject root{
        {"format", kFormatName},
        {"version", kFormatVersion},
        {"volume", QJsonObject{{"path", QString::fromStdString(s.volumePath)},
                               {"series", QString::fromStdString(s.seriesKey)},
                               {"grid", gridJson(s.grid)}}},
        {"segments", segments},
        {"labels", QJsonObject{{"encoding", "rle-leb128+qcompress+base64"},
                               {"voxels", double(s.grid.voxelCount())},
                               {"data", QString::fromLatin1(packed.toBase64())}}},
        {"history", history},
    };
    QJsonObject view;
    if (s.cursor)
        view["cursor"] = QJsonArray{double((*s.cursor)[0]), double((*s.cursor)[1]), double((*s.cursor)[2])};
    if (s.windowLevel) {
        view["window"] = (*s.windowLevel)[0];
        view["level"] = (*s.windowLevel)[1];
    }
    root["view"] = view;
    const QByteArray bytes = QJsonDocument(root).toJson(QJsonDocument::Indented);
    writeFileAtomically(path, [&](const std::filesystem::path& tmp) {
        std::ofstream out(tmp, std::ios::binary);
        out.write(bytes.constData(), bytes.size());
        out.close();
        if (!out) throw OutputError("only part of it reached the disk (is the disk full?)");
    });
}

SessionDocument readSession(const std::filesystem::path& path) {
    QFile file(QString::fromStdString(path.string()));
    if (!file.open(QIODevice::ReadOnly))
        throw InputError("Cannot open the session " + path.string() + ": " +
                         file.errorString().toStdString());
    QJsonParseError err;
    const QJsonDocument doc = QJsonDocument::fromJson(file.readAll(), &err);
    if (doc.isNull())
        throw InputError("The session " + path.string() + " is damaged (" + err.errorString().toStdString() +
                         ").");
    const QJsonObject root = doc.object();
    if (root["format"].toString() != kFormatName)
        throw InputError(path.string() + " is not an Engram session file.");
    if (root["version"].toInt() > kFormatVersion)
        throw InputError("The session " + path.string() + " was written by a newer Engram (format version " +
                         std::to_string(root["version"].toInt()) + ").");
    try {
        SessionDocument s;
        const QJsonObject volume = root["volume"].toObject();
        std::filesystem::path vp = volume["path"].toString().toStdString();
        if (vp.empty()) throw std::invalid_argument("no volume path");
        if (vp.is_relative()) vp = path.parent_path() / vp;
        s.volumePath = vp.lexically_normal().string();
        s.seriesKey = volume["series"].toString().toStdString();
        const ImageGeometry grid = gridFrom(volume["grid"].toObject());

        const QJsonObject labels = root["labels"].toObject();
        if (labels["encoding"].toString() != "rle-leb128+qcompress+base64")
            throw std::invalid_argument("unknown label encoding");
        const QByteArray packed = QByteArray::fromBase64(labels["data"].toString().toLatin1());
        // qUncompress allocates the size the data claims (4 bytes, big-endian) first; runs take at most
        // 6 bytes per voxel (a value and a 5-byte LEB128 length each).
        if (packed.size() >= 4) {
            const auto* b = reinterpret_cast<const unsigned char*>(packed.constData());
            const std::uint64_t claimed = (std::uint64_t(b[0]) << 24) | (b[1] << 16) | (b[2] << 8) | b[3];
            if (claimed > 6 * std::uint64_t(grid.voxelCount()) + 16)
                throw std::invalid_argument("label data larger than the grid");
        }
        const QByteArray raw = qUncompress(packed);
        if (raw.isEmpty() && grid.voxelCount() > 0)
            throw std::invalid_argument("label data does not decompress");
        std::vector<std::uint8_t> runs(raw.begin(), raw.end());
        s.labels = LabelMap(grid, decodeLabelRuns(runs, static_cast<std::size_t>(grid.voxelCount())));

        for (const auto& v : root["segments"].toArray()) {
            const QJsonObject o = v.toObject();
            Segment seg;
            const int label = o["label"].toInt();
            if (label < 1 || label > 255) throw std::invalid_argument("segment label out of range");
            seg.label = static_cast<std::uint8_t>(label);
            seg.name = o["name"].toString().toStdString();
            const QJsonArray c = o["color"].toArray();
            if (c.size() == 3)
                seg.color = {std::uint8_t(c[0].toInt()), std::uint8_t(c[1].toInt()),
                             std::uint8_t(c[2].toInt())};
            seg.visible = o["visible"].toBool(true);
            seg.category = concept(o["category"]);
            seg.type = concept(o["type"]);
            seg.algorithm = algorithmFrom(o["algorithm"].toString());
            seg.algorithmName = o["algorithmName"].toString().toStdString();
            s.segments.put(seg);
        }
        for (const auto& v : root["history"].toArray()) {
            const QJsonObject o = v.toObject();
            Interaction h;
            h.setFromLabel(o["kind"].toString());
            h.view = o["view"].toString();
            h.segment = o["segment"].toInt();
            h.world = vec3(o["world"]);
            h.changedVoxels = wholeNumber(o["changedVoxels"].toDouble(), "changedVoxels");
            h.segmentVoxels = wholeNumber(o["segmentVoxels"].toDouble(), "segmentVoxels");
            h.confidence = static_cast<float>(o["confidence"].toDouble());
            h.milliseconds = o["milliseconds"].toDouble();
            h.time = QDateTime::fromString(o["time"].toString(), Qt::ISODateWithMs);
            h.restored = true;
            s.history.push_back(h);
        }
        const QJsonObject view = root["view"].toObject();
        if (view.contains("cursor")) {
            const Vec3 c = vec3(view["cursor"]);
            const Index3 cursor{wholeNumber(c[0], "cursor"), wholeNumber(c[1], "cursor"),
                                wholeNumber(c[2], "cursor")};
            if (grid.contains(cursor)) s.cursor = cursor;
        }
        if (view.contains("window"))
            s.windowLevel = std::array<double, 2>{view["window"].toDouble(), view["level"].toDouble()};
        return s;
    } catch (const std::exception& e) {
        throw InputError("The session " + path.string() + " is damaged (" + e.what() + ").");
    }
}

}  // namespace engram
