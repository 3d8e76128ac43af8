#include <engram/annotation/Segment.h>

#include <algorithm>
#include <cctype>
#include <stdexcept>

namespace engram {
namespace {

const CodedConcept kAnatomicalStructure{"123037004", "SCT", "Anatomical Structure"};
const CodedConcept kTissue{"85756007", "SCT", "Tissue"};
const CodedConcept kAbnormal{"49755003", "SCT", "Morphologically Altered Structure"};

std::string lower(std::string s) {
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
    return s;
}

// A palette that keeps neighbouring labels distinguishable on grey-scale images.
const Rgb kPalette[] = {{230, 25, 75},   {60, 180, 75},   {255, 225, 25},  {0, 130, 200},   {245, 130, 48},
                        {145, 30, 180},  {70, 240, 240},  {240, 50, 230},  {210, 245, 60},  {250, 190, 212},
                        {0, 128, 128},   {220, 190, 255}, {170, 110, 40},  {255, 250, 200}, {128, 0, 0},
                        {170, 255, 195}, {128, 128, 0},   {255, 215, 180}, {0, 0, 128},     {128, 128, 128}};

}  // namespace

const std::vector<AnatomyEntry>& AnatomyCatalog::entries() {
    // SNOMED CT codes as used by DICOM CID 7151 (Segmentation Property Types); colours follow common
    // radiology conventions (organs in their usual atlas hues).
    static const std::vector<AnatomyEntry> table = {
        {kAnatomicalStructure, {"10200004", "SCT", "Liver"}, {221, 130, 101}},
        {kAnatomicalStructure, {"78961009", "SCT", "Spleen"}, {157, 108, 162}},
        {kAnatomicalStructure, {"64033007", "SCT", "Kidney"}, {185, 102, 83}},
        {kAnatomicalStructure, {"9846003", "SCT", "Right kidney"}, {185, 102, 83}},
        {kAnatomicalStructure, {"18639004", "SCT", "Left kidney"}, {185, 102, 83}},
        {kAnatomicalStructure, {"15776009", "SCT", "Pancreas"}, {249, 180, 111}},
        {kAnatomicalStructure, {"69695003", "SCT", "Stomach"}, {216, 132, 105}},
        {kAnatomicalStructure, {"28231008", "SCT", "Gallbladder"}, {139, 150, 98}},
        {kAnatomicalStructure, {"23451007", "SCT", "Adrenal gland"}, {244, 214, 49}},
        {kAnatomicalStructure, {"32849002", "SCT", "Esophagus"}, {211, 171, 143}},
        {kAnatomicalStructure, {"38848004", "SCT", "Duodenum"}, {255, 253, 229}},
        {kAnatomicalStructure, {"30315005", "SCT", "Small intestine"}, {205, 167, 142}},
        {kAnatomicalStructure, {"71854001", "SCT", "Colon"}, {204, 168, 143}},
        {kAnatomicalStructure, {"89837001", "SCT", "Urinary bladder"}, {222, 154, 132}},
        {kAnatomicalStructure, {"41216001", "SCT", "Prostate"}, {230, 158, 140}},
        {kAnatomicalStructure, {"15825003", "SCT", "Aorta"}, {224, 97, 76}},
        {kAnatomicalStructure, {"64131007", "SCT", "Inferior vena cava"}, {0, 151, 206}},
        {kAnatomicalStructure, {"32764006", "SCT", "Portal vein"}, {0, 122, 171}},
        {kAnatomicalStructure, {"80891009", "SCT", "Heart"}, {206, 110, 84}},
        {kAnatomicalStructure, {"39607008", "SCT", "Lung"}, {197, 165, 145}},
        {kAnatomicalStructure, {"44567001", "SCT", "Trachea"}, {182, 228, 255}},
        {kAnatomicalStructure, {"12738006", "SCT", "Brain"}, {250, 250, 225}},
        {kAnatomicalStructure, {"421060004", "SCT", "Vertebral column"}, {241, 213, 144}},
        {kAnatomicalStructure, {"113197003", "SCT", "Rib"}, {241, 214, 145}},
        {kAnatomicalStructure, {"272673000", "SCT", "Bone"}, {241, 214, 145}},
        {kTissue, {"127954009", "SCT", "Skeletal muscle"}, {192, 104, 88}},
        {kTissue, {"55603005", "SCT", "Adipose tissue"}, {230, 220, 70}},
        {kAbnormal, {"108369006", "SCT", "Neoplasm"}, {144, 238, 144}},
        {kAbnormal, {"52988006", "SCT", "Lesion"}, {255, 128, 0}},
        {kAbnormal, {"79654002", "SCT", "Edema"}, {112, 128, 255}},
    };
    return table;
}

std::optional<AnatomyEntry> AnatomyCatalog::find(const std::string& name) {
    const std::string key = lower(name);
    for (const auto& e : entries())
        if (lower(e.type.meaning) == key) return e;
    return std::nullopt;
}

AnatomyEntry AnatomyCatalog::generic() { return {kTissue, kTissue, {128, 174, 128}}; }

Segment SegmentList::defaultFor(std::uint8_t label) {
    Segment s;
    s.label = label;
    s.name = "Segment " + std::to_string(label);
    const AnatomyEntry g = AnatomyCatalog::generic();
    s.category = g.category;
    s.type = g.type;
    s.color = kPalette[(label - 1) % (sizeof(kPalette) / sizeof(kPalette[0]))];
    return s;
}

namespace {

Segment named(std::uint8_t label, const std::string& name) {
    Segment s = SegmentList::defaultFor(label);
    s.name = name;
    if (auto entry = AnatomyCatalog::find(name)) {
        s.category = entry->category;
        s.type = entry->type;
        s.color = entry->color;
    }
    return s;
}

}  // namespace

Segment& SegmentList::add(const std::string& name) {
    int label = 1;
    while (label < 256 && find(static_cast<std::uint8_t>(label))) ++label;
    if (label == 256) throw std::length_error("all 255 segment labels are in use");
    return put(named(static_cast<std::uint8_t>(label), name));
}

SegmentList SegmentList::forLabels(const std::vector<std::uint8_t>& labels,
                                   const std::map<int, std::string>& names) {
    SegmentList list;
    for (std::uint8_t v : labels) {
        const auto it = names.find(v);
        list.put(it == names.end() ? defaultFor(v) : named(v, it->second));
    }
    return list;
}

Segment& SegmentList::put(const Segment& segment) {
    if (segment.label == 0) throw std::invalid_argument("segment label 0 is the background");
    if (Segment* existing = find(segment.label)) {
        *existing = segment;
        return *existing;
    }
    auto it = std::lower_bound(segments_.begin(), segments_.end(), segment.label,
                               [](const Segment& s, std::uint8_t l) { return s.label < l; });
    return *segments_.insert(it, segment);
}

bool SegmentList::remove(std::uint8_t label) {
    auto it =
        std::find_if(segments_.begin(), segments_.end(), [&](const Segment& s) { return s.label == label; });
    if (it == segments_.end()) return false;
    segments_.erase(it);
    return true;
}

Segment* SegmentList::find(std::uint8_t label) {
    for (auto& s : segments_)
        if (s.label == label) return &s;
    return nullptr;
}

const Segment* SegmentList::find(std::uint8_t label) const {
    return const_cast<SegmentList*>(this)->find(label);
}

}  // namespace engram
