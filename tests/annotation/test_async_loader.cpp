#include "../support/TestSupport.h"

#include <engram/annotation/AsyncVolumeLoader.h>

#include <QCoreApplication>
#include <QElapsedTimer>

using namespace engram;
using engram::test::shared;

namespace {

int spinUntil(const std::function<bool()>& done) { return test::spinUntil(done, 30000); }

}  // namespace

TEST(AsyncVolumeLoader, LoadsOffTheCallingThreadWithProgress) {
    AsyncVolumeLoader loader;
    std::shared_ptr<Volume> loaded;
    int progressCalls = 0;
    QObject::connect(&loader, &AsyncVolumeLoader::volumeLoaded,
                     [&](std::shared_ptr<Volume> v) { loaded = v; });
    QObject::connect(&loader, &AsyncVolumeLoader::progress, [&](double, const QString&) { ++progressCalls; });
    loader.loadPath(QString::fromStdString(shared("dicom/mr-brain-120slice").string()));
    const int turns = spinUntil([&] { return loaded != nullptr; });
    ASSERT_TRUE(loaded);
    EXPECT_EQ(loaded->geometry().size[2], 120);
    EXPECT_GT(progressCalls, 100);  // per slice
    EXPECT_GT(turns, 1);            // the caller's loop kept turning while the worker decoded
}

TEST(AsyncVolumeLoader, CancelStopsTheJob) {
    AsyncVolumeLoader loader;
    bool cancelled = false, loaded = false;
    QObject::connect(&loader, &AsyncVolumeLoader::cancelled, [&] { cancelled = true; });
    QObject::connect(&loader, &AsyncVolumeLoader::volumeLoaded, [&] { loaded = true; });
    QObject::connect(&loader, &AsyncVolumeLoader::progress, [&](double f, const QString&) {
        if (f > 0.3) loader.cancel();
    });
    loader.loadPath(QString::fromStdString(shared("dicom/mr-brain-120slice").string()));
    spinUntil([&] { return cancelled || loaded; });
    EXPECT_TRUE(cancelled);
    EXPECT_FALSE(loaded);
}

TEST(AsyncVolumeLoader, FailuresArriveAsMessages) {
    AsyncVolumeLoader loader;
    QString message;
    QObject::connect(&loader, &AsyncVolumeLoader::failed, [&](const QString& m) { message = m; });
    loader.loadPath("/nonexistent/scan.nii.gz");
    spinUntil([&] { return !message.isEmpty(); });
    EXPECT_TRUE(message.contains("scan.nii.gz"));
    EXPECT_TRUE(message.contains("does not exist"));
}

TEST(AsyncVolumeLoader, ANewJobSupersedesTheOldOne) {
    AsyncVolumeLoader loader;
    std::vector<std::int64_t> slices;
    QObject::connect(&loader, &AsyncVolumeLoader::volumeLoaded,
                     [&](std::shared_ptr<Volume> v) { slices.push_back(v->geometry().size[2]); });
    loader.loadPath(QString::fromStdString(shared("dicom/mr-brain-120slice").string()));
    loader.loadPath(QString::fromStdString(shared("ct-abdomen/example_ct_sm.nii.gz").string()));
    loader.waitForFinished();
    spinUntil([&] { return !slices.empty(); });
    for (int i = 0; i < 20; ++i) QCoreApplication::processEvents();
    EXPECT_EQ(slices, std::vector<std::int64_t>{30});
}
