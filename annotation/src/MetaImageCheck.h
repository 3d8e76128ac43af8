#pragma once
// Internal: checks a MetaImage header (.mha, .mhd) before ITK's MetaIO reads it. MetaIO loops forever on
// some damaged headers (a negative NDims, found by fuzz_mha) and trusts its sizes; this check refuses a
// header whose dimensions, sizes or spacings cannot describe an image, in plain words.

#include <filesystem>

namespace engram::detail {

// Throws InputError naming the file and the field. Looks only at the text header (up to ElementDataFile).
void checkMetaImage(const std::filesystem::path& path);

}  // namespace engram::detail
