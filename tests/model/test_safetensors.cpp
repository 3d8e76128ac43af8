#include <engram/model/weights/SafeTensors.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

namespace fs = std::filesystem;
using engram::model::SafeTensorsFile;
using engram::model::WeightsError;

namespace {

const fs::path kParity = fs::path(ENGRAM_SHARED_DIR) / "parity/sam-med3d-tiny-seed1.safetensors";

fs::path writeBytes(const std::string& name, const std::string& bytes) {
    const fs::path p = fs::path(ENGRAM_TEST_OUT) / name;
    std::ofstream(p, std::ios::binary) << bytes;
    return p;
}

std::string readPrefix(const fs::path& p, std::size_t n) {
    std::ifstream in(p, std::ios::binary);
    std::string s(n, '\0');
    in.read(s.data(), static_cast<std::streamsize>(n));
    return s;
}

std::string withHeader(const std::string& json, std::size_t dataBytes) {
    std::string s(8, '\0');
    std::uint64_t n = json.size();
    for (int i = 0; i < 8; ++i) s[i] = static_cast<char>((n >> (8 * i)) & 0xff);
    return s + json + std::string(dataBytes, '\0');
}

}  // namespace

TEST(SafeTensors, ReadsTheParityCase) {
    SafeTensorsFile f(kParity.string());
    EXPECT_TRUE(f.metadata().count("config"));
    ASSERT_TRUE(f.contains("model.image_encoder.pos_embed"));
    const auto img = f.load("input.image");
    EXPECT_EQ(img.sizes(), (std::vector<std::int64_t>{1, 1, 128, 128, 128}));
    EXPECT_EQ(img.scalar_type(), torch::kFloat32);
    EXPECT_EQ(f.load("input.point_labels").scalar_type(), torch::kInt64);
    EXPECT_TRUE(torch::isfinite(img).all().item<bool>());
}

TEST(SafeTensors, TruncatedFileIsReportedBeforeUse) {
    const auto size = fs::file_size(kParity);
    const fs::path p = writeBytes("truncated.safetensors", readPrefix(kParity, size / 2));
    try {
        SafeTensorsFile f(p.string());
        FAIL() << "truncated file accepted";
    } catch (const WeightsError& e) {
        EXPECT_NE(std::string(e.what()).find("truncated"), std::string::npos) << e.what();
        EXPECT_NE(std::string(e.what()).find("tensor '"), std::string::npos) << e.what();
    }
}

TEST(SafeTensors, BadHeadersNameTheProblem) {
    EXPECT_THROW(SafeTensorsFile(writeBytes("short.safetensors", "abc").string()), WeightsError);
    EXPECT_THROW(SafeTensorsFile(writeBytes("json.safetensors", withHeader("{not json", 0)).string()),
                 WeightsError);
    const std::string wrongSize = R"({"w":{"dtype":"F32","shape":[2,2],"data_offsets":[0,12]}})";
    try {
        SafeTensorsFile(writeBytes("size.safetensors", withHeader(wrongSize, 12)).string());
        FAIL();
    } catch (const WeightsError& e) {
        EXPECT_NE(std::string(e.what()).find("'w'"), std::string::npos) << e.what();
    }
    const std::string overlap =
        R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})";
    EXPECT_THROW(SafeTensorsFile(writeBytes("overlap.safetensors", withHeader(overlap, 12)).string()),
                 WeightsError);
    EXPECT_THROW(SafeTensorsFile((fs::path(ENGRAM_TEST_OUT) / "missing.safetensors").string()), WeightsError);
}

TEST(SafeTensors, ShapesCannotClaimMoreThanTheFileHolds) {
    // 2^32 x 2^32 x 4 bytes wraps to 0 in 64 bits: it must not pass as an empty tensor to torch::empty.
    const std::string wraps = R"({"w":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,0]}})";
    try {
        SafeTensorsFile(writeBytes("wraps.safetensors", withHeader(wraps, 0)).string());
        FAIL() << "a wrapping shape was accepted";
    } catch (const WeightsError& e) {
        EXPECT_NE(std::string(e.what()).find("too large"), std::string::npos) << e.what();
    }
    const std::string deep =
        R"({"w":{"dtype":"U8","shape":[1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1],"data_offsets":[0,1]}})";
    EXPECT_THROW(SafeTensorsFile(writeBytes("deep.safetensors", withHeader(deep, 1)).string()), WeightsError);
    // Fractions and numbers beyond 64 bits, which a plain cast to an integer would turn into anything.
    for (const char* shape : {"[4.4e38]", "[1.5]", "[-1]", "[18446744073709551616]", "[\"2\"]"}) {
        const std::string odd =
            std::string(R"({"w":{"dtype":"U8","shape":)") + shape + R"(,"data_offsets":[0,1]}})";
        EXPECT_THROW(SafeTensorsFile(writeBytes("odd.safetensors", withHeader(odd, 1)).string()),
                     WeightsError)
            << shape;
    }
    const std::string offsets = R"({"w":{"dtype":"U8","shape":[1],"data_offsets":[-1e300,1]}})";
    EXPECT_THROW(SafeTensorsFile(writeBytes("offsets.safetensors", withHeader(offsets, 1)).string()),
                 WeightsError);
    const std::string empty = R"({"w":{"dtype":"F32","shape":[0,1000000000],"data_offsets":[0,0]}})";
    EXPECT_EQ(
        SafeTensorsFile(writeBytes("empty.safetensors", withHeader(empty, 0)).string()).load("w").numel(), 0);
}

TEST(SafeTensors, HalfPrecisionTensorsLoad) {
    const std::string json =
        R"({"h":{"dtype":"F16","shape":[2],"data_offsets":[0,4]},"__metadata__":{"k":"v"}})";
    std::string bytes = withHeader(json, 0) + std::string("\x00\x3c\x00\xc0", 4);  // 1.0, -2.0
    SafeTensorsFile f(writeBytes("half.safetensors", bytes).string());
    const auto t = f.load("h").to(torch::kFloat32);
    EXPECT_FLOAT_EQ(t[0].item<float>(), 1.0f);
    EXPECT_FLOAT_EQ(t[1].item<float>(), -2.0f);
    EXPECT_EQ(f.metadata().at("k"), "v");
}
