#pragma once
// Shared by the fuzz targets: each input is written to a file (the readers under test take paths, as the
// app does), in one folder per process, and every exception type a reader may throw for bad input is
// caught. Anything else (a crash, a sanitizer report, another exception type, a hang) is a finding.

#include <unistd.h>

#include <spdlog/spdlog.h>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

namespace engram::fuzz {

inline const std::filesystem::path& workDir() {
    static const std::filesystem::path dir = [] {
        auto d = std::filesystem::temp_directory_path() / ("engram-fuzz-" + std::to_string(::getpid()));
        std::filesystem::create_directories(d);
        return d;
    }();
    return dir;
}

// Writes the input to workDir()/name and returns the path.
inline std::filesystem::path writeInput(const std::string& name, const std::uint8_t* data, std::size_t size) {
    const auto path = workDir() / name;
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
    return path;
}

// Readers log what they refuse; a fuzzer's millions of refusals are not worth printing.
inline void quietLogs() {
    static const bool once = (spdlog::set_level(spdlog::level::off), true);
    (void)once;
}

inline bool gzipped(const std::uint8_t* data, std::size_t size) {
    return size >= 2 && data[0] == 0x1f && data[1] == 0x8b;
}

}  // namespace engram::fuzz
