#pragma once
#include <gtest/gtest.h>

#include <QCoreApplication>
#include <QElapsedTimer>

#include <filesystem>
#include <functional>
#include <string>

namespace engram::test {

inline std::filesystem::path shared(const std::string& rel) {
    return std::filesystem::path(ENGRAM_SHARED_DIR) / "data" / rel;
}

// A fresh, empty folder under the build tree's test-out/.
inline std::filesystem::path freshDir(const std::string& name) {
    const auto p = std::filesystem::path(ENGRAM_TEST_OUT) / name;
    std::filesystem::remove_all(p);
    std::filesystem::create_directories(p);
    return p;
}

// Runs f, expecting exception type E whose message contains every one of `parts`.
template <typename E>
void expectError(const std::function<void()>& f, std::initializer_list<std::string> parts) {
    try {
        f();
        ADD_FAILURE() << "no exception thrown";
    } catch (const E& e) {
        const std::string m = e.what();
        for (const auto& p : parts)
            EXPECT_NE(m.find(p), std::string::npos) << "message: " << m << "\nlacks: " << p;
    }
}

// Turns the Qt event loop until `done` or `timeoutMs`; returns how many times the loop turned.
inline int spinUntil(const std::function<bool()>& done, int timeoutMs) {
    QElapsedTimer t;
    t.start();
    int turns = 0;
    while (!done() && t.elapsed() < timeoutMs) {
        QCoreApplication::processEvents(QEventLoop::AllEvents, 5);
        ++turns;
    }
    return turns;
}

}  // namespace engram::test
