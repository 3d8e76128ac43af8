#pragma once
// The evaluation's figure: mean Dice against the number of clicks, one line per method, as a PNG.

#include <map>
#include <string>
#include <vector>

namespace engram {

// Writes atomically; throws OutputError when the file cannot be written.
void writeDiceCurvePlot(const std::map<std::string, std::vector<double>>& curves, const std::string& title,
                        const std::string& path);

}  // namespace engram
