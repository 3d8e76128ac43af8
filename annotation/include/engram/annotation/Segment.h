#pragma once
// Segments: what each label value of a LabelMap means. A segment has a display name, colour, visibility and
// a DICOM coded concept (Segmented Property Category + Type, CID 7150/7151, SNOMED CT codes) that DICOM-SEG
// export writes and import reads back. AnatomyCatalog is the small built-in table of common structures;
// any concept can also be entered by hand.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace engram {

struct CodedConcept {
    std::string value;    // e.g. "10200004"
    std::string scheme;   // e.g. "SCT"
    std::string meaning;  // e.g. "Liver"
    bool operator==(const CodedConcept& o) const { return value == o.value && scheme == o.scheme; }
};

struct Rgb {
    std::uint8_t r = 0, g = 0, b = 0;
    bool operator==(const Rgb& o) const { return r == o.r && g == o.g && b == o.b; }
};

enum class SegmentAlgorithm { Manual, SemiAutomatic, Automatic };

struct Segment {
    std::uint8_t label = 0;  // value in the LabelMap, 1..255
    std::string name;
    Rgb color;
    bool visible = true;
    CodedConcept category;
    CodedConcept type;
    SegmentAlgorithm algorithm = SegmentAlgorithm::SemiAutomatic;
    std::string algorithmName = "Engram MAIS";
};

// One row of the built-in anatomy table.
struct AnatomyEntry {
    CodedConcept category;
    CodedConcept type;
    Rgb color;
};

class AnatomyCatalog {
  public:
    static const std::vector<AnatomyEntry>& entries();
    // Case-insensitive match on the code meaning ("liver", "Left kidney"); nullopt when not in the table.
    static std::optional<AnatomyEntry> find(const std::string& name);
    // The concept used when nothing better is known: category Tissue, type Tissue.
    static AnatomyEntry generic();
};

// The ordered segment list of a document. Label values are unique.
class SegmentList {
  public:
    const std::vector<Segment>& segments() const { return segments_; }
    bool empty() const { return segments_.empty(); }

    // Adds a segment for `name` on the lowest free label value, filling the concept and colour from the
    // AnatomyCatalog when the name is known. Throws std::length_error when all 255 labels are used.
    Segment& add(const std::string& name);
    // Adds or replaces the segment with segment.label. Throws std::invalid_argument for label 0.
    Segment& put(const Segment& segment);
    bool remove(std::uint8_t label);
    Segment* find(std::uint8_t label);
    const Segment* find(std::uint8_t label) const;

    // Default names/colours for label values without a segment ("Segment 7").
    static Segment defaultFor(std::uint8_t label);
    // One segment per label value in `labels` (ascending), named from `names` where it has the value, with
    // the AnatomyCatalog's concept and colour when the name is known, defaults otherwise.
    static SegmentList forLabels(const std::vector<std::uint8_t>& labels,
                                 const std::map<int, std::string>& names);

  private:
    std::vector<Segment> segments_;
};

}  // namespace engram
