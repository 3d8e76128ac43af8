#include <gtest/gtest.h>
#include <spdlog/spdlog.h>
#include <QCoreApplication>

// The async loader tests need a Qt event loop on the main thread.
int main(int argc, char** argv) {
    QCoreApplication app(argc, argv);
    spdlog::set_level(spdlog::level::warn);
    ::testing::InitGoogleTest(&argc, argv);
    return RUN_ALL_TESTS();
}
