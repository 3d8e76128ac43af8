#pragma once
// Labelled volumes for training and evaluation (engram-cli train / evaluate), read with the application's
// own readers so that geometry is handled exactly as in the app.
//
// A dataset list is a text file, one pair per line, paths relative to the list's folder:
//   <image> <labels> [targets=1,2,3,5] [names=<value<TAB>name file>] [slices=<first>:<last>] [group=<name>]
// image: any volume file or DICOM series folder; labels: a label file on the image's grid. `targets` picks
// label values (default: all); `names` gives them names for reports (TotalSegmentator's labels_total.txt
// format); `slices` keeps only index-k slices first..last (inclusive), e.g. to leave part of a scan out of
// training; `group` names the sampling group of the clicknet and slicenet trainers. The image "synthetic"
// stands for none: a label map alone, on its own grid, from which the slicenet trainer synthesises images
// (SliceNetTraining.h). '#' starts a comment.

#include <engram/annotation/LabelMap.h>
#include <engram/annotation/Volume.h>
#include <engram/model/training/Training.h>

#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace engram {

struct LabelledVolumeSpec {
    std::filesystem::path image, labels, names;
    std::vector<int> targets;
    std::string group;
    int firstSlice = 0, lastSlice = -1;  // -1: to the end
    bool synthetic = false;              // image "synthetic": labels only
};

// Throws InputError (file, line, reason) for unreadable lists, files, mismatched grids or bad options.
// "1,2,5" -> {1, 2, 5}; throws InputError naming `where` for anything but label values 1..255.
std::vector<int> parseLabelValues(const std::string& text, const std::string& where);
// A names file as dataset lists' names= take it: lines '<value> <name>' (TAB or spaces, the name one word),
// '#' lines and lines without both skipped. Throws InputError when the file cannot be read.
std::map<int, std::string> readLabelNames(const std::filesystem::path& file);
std::vector<LabelledVolumeSpec> readDatasetList(const std::filesystem::path& list);
model::LabelledVolume loadLabelledVolume(const LabelledVolumeSpec& spec);
// An annotated document as a training volume: every label value present is a target. Throws InputError,
// starting with `name`, when the labels are not on the image's grid.
model::LabelledVolume labelledVolumeOf(const Volume& image, const LabelMap& labels, std::string name);
// A saved session (.engram) as a training volume: its labels on the volume it refers to. Throws InputError
// when the session or its volume cannot be read or their grids differ.
model::LabelledVolume loadSessionForTraining(const std::filesystem::path& session);

}  // namespace engram
