// Retrieval under failure, against the live Orthanc server check_pacs.sh started (not a ctest of its own:
// the script runs it with the server's node, process id, and a stored series in the environment). Each
// test interrupts a C-GET half way (cancel, a server that stops answering, a server that dies) and checks
// that the cache holds nothing of that series afterwards: no complete-looking folder, no partial one.
#include <engram/annotation/Errors.h>
#include <engram/annotation/Pacs.h>

#include <gtest/gtest.h>
#include <spdlog/spdlog.h>

#include <csignal>
#include <cstdlib>
#include <filesystem>

namespace fs = std::filesystem;
using namespace engram;

namespace {

std::string env(const char* name) {
    const char* v = std::getenv(name);
    if (!v) throw std::runtime_error(std::string("check_pacs.sh sets ") + name);
    return v;
}

struct Live {
    DicomNode node = parseDicomNode(env("ENGRAM_PACS_NODE"));
    pid_t server = static_cast<pid_t>(std::stol(env("ENGRAM_PACS_PID")));
    std::string study = env("ENGRAM_PACS_STUDY"), series = env("ENGRAM_PACS_SERIES");
    fs::path cache = env("ENGRAM_PACS_CACHE");
};

// Nothing of the series in the cache: neither its folder nor a partial one.
void expectNothingKept(const Live& l) {
    EXPECT_FALSE(fs::exists(l.cache / l.series));
    EXPECT_FALSE(fs::exists(l.cache / (l.series + ".partial")));
}

// A reporter that runs `act` once, when a tenth of the images has arrived, and sets `fired`.
ProgressReporter afterATenth(bool& fired, const std::function<void(const ProgressReporter&)>& act) {
    fired = false;
    auto self = std::make_shared<ProgressReporter>();
    *self = ProgressReporter([self, &fired, act](double f, const std::string&) {
        if (f >= 0.1 && !fired) {
            fired = true;
            act(*self);
        }
    });
    return *self;
}

}  // namespace

TEST(PacsLive, ACancelledRetrievalKeepsNothingAndTheNextOneCompletes) {
    const Live l;
    bool fired = false;
    EXPECT_THROW(retrieveSeries(l.node, l.study, l.series, l.cache, {},
                                afterATenth(fired, [](const ProgressReporter& p) { p.cancel(); })),
                 Cancelled);
    EXPECT_TRUE(fired);
    expectNothingKept(l);
    const fs::path folder = retrieveSeries(l.node, l.study, l.series, l.cache);
    EXPECT_EQ(folder, l.cache / l.series);
    EXPECT_FALSE(fs::is_empty(folder));
    fs::remove_all(folder);
}

TEST(PacsLive, AServerThatStopsAnsweringHalfWayKeepsNothing) {
    const Live l;
    PacsOptions options;
    options.timeoutSeconds = 2;
    options.transferTimeoutSeconds = 2;
    bool fired = false;
    try {
        retrieveSeries(l.node, l.study, l.series, l.cache, options,
                       afterATenth(fired, [&](const ProgressReporter&) { kill(l.server, SIGSTOP); }));
        ADD_FAILURE() << "the retrieval from a frozen server succeeded";
    } catch (const PacsError& e) {
        EXPECT_NE(std::string(e.what()).find(l.node.describe()), std::string::npos) << e.what();
    }
    kill(l.server, SIGCONT);
    EXPECT_TRUE(fired);
    expectNothingKept(l);
}

// Last: the server is gone afterwards.
TEST(PacsLive, ZAServerThatDiesHalfWayKeepsNothing) {
    const Live l;
    bool fired = false;
    EXPECT_THROW(
        retrieveSeries(l.node, l.study, l.series, l.cache, {},
                       afterATenth(fired, [&](const ProgressReporter&) { kill(l.server, SIGKILL); })),
        PacsError);
    EXPECT_TRUE(fired);
    expectNothingKept(l);
}

int main(int argc, char** argv) {
    spdlog::set_level(spdlog::level::warn);
    ::testing::InitGoogleTest(&argc, argv);
    return RUN_ALL_TESTS();
}
