#include <engram/model/networks/SamMed3D.h>
#include <engram/model/weights/SafeTensors.h>
#include <engram/model/weights/StateDict.h>

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>

namespace fs = std::filesystem;
using namespace engram::model;

namespace {

const std::string kParity = std::string(ENGRAM_SHARED_DIR) + "/parity/sam-med3d-tiny-seed1.safetensors";

SamMed3DConfig parityConfig() {
    return SamMed3DConfig::fromJson(SafeTensorsFile(kParity).metadata().at("config"));
}

// Writes `tensors` (float32) as a safetensors file.
std::string writeSafetensors(const std::string& name, const std::map<std::string, torch::Tensor>& tensors) {
    nlohmann::json header;
    std::string data;
    for (const auto& [key, t] : tensors) {
        const auto c = t.to(torch::kFloat32).contiguous();
        const std::size_t begin = data.size();
        data.append(static_cast<const char*>(c.data_ptr()), c.numel() * 4);
        header[key] = {{"dtype", "F32"}, {"shape", c.sizes().vec()}, {"data_offsets", {begin, data.size()}}};
    }
    const std::string h = header.dump();
    const fs::path p = fs::path(ENGRAM_TEST_OUT) / name;
    std::ofstream out(p, std::ios::binary);
    const std::uint64_t n = h.size();
    out.write(reinterpret_cast<const char*>(&n), 8);
    out << h << data;
    return p.string();
}

std::map<std::string, torch::Tensor> decoderWeights(const SamMed3DConfig& c) {
    MaskDecoder d(c);
    std::map<std::string, torch::Tensor> m;
    for (const auto& p : d->named_parameters()) m[p.key()] = p.value().detach();
    return m;
}

std::string messageOf(const std::function<void()>& f) {
    try {
        f();
    } catch (const WeightsError& e) {
        return e.what();
    }
    return "";
}

}  // namespace

TEST(StateDict, LoadsTheParityWeightsStrictly) {
    SamMed3D net(parityConfig());
    EXPECT_NO_THROW(loadStateDict(*net, SafeTensorsFile(kParity), "model."));
}

TEST(StateDict, NamesMissingUnexpectedMisshapedAndNonFiniteKeys) {
    const auto c = parityConfig();
    auto w = decoderWeights(c);
    w.erase("iou_token.weight");
    w["extra.weight"] = torch::zeros({2});
    w["mask_tokens.weight"] = torch::zeros({5, c.promptDim});
    w["output_upscaling.1.bias"] = torch::full({c.promptDim / 4}, NAN);
    const std::string path = writeSafetensors("bad_decoder.safetensors", w);
    MaskDecoder d(c);
    const auto before = d->mask_tokens->weight.clone();
    const std::string m = messageOf([&] { loadStateDict(*d, SafeTensorsFile(path)); });
    EXPECT_NE(m.find("missing 'iou_token.weight'"), std::string::npos) << m;
    EXPECT_NE(m.find("unexpected 'extra.weight'"), std::string::npos) << m;
    EXPECT_NE(m.find("'mask_tokens.weight' has shape [5, 96], the network expects [4, 96]"),
              std::string::npos)
        << m;
    EXPECT_NE(m.find("'output_upscaling.1.bias' holds NaN"), std::string::npos) << m;
    EXPECT_TRUE(torch::equal(before, d->mask_tokens->weight)) << "a failed load changed the module";
}

TEST(StateDict, ConfigMismatchSaysWhichDimensionDiffers) {
    auto c = parityConfig();
    c.embedDim = 120;  // the file was made with 96
    SamMed3D net(c);
    const std::string m = messageOf([&] { loadStateDict(*net, SafeTensorsFile(kParity), "model."); });
    EXPECT_NE(
        m.find("image_encoder.pos_embed' has shape [1, 8, 8, 8, 96], the network expects [1, 8, 8, 8, 120]"),
        std::string::npos)
        << m;
}

TEST(SamMed3DConfig, JsonRoundTripAndValidation) {
    const auto c = parityConfig();
    const auto back = SamMed3DConfig::fromJson(c.toJson());
    EXPECT_EQ(back.embedDim, c.embedDim);
    EXPECT_EQ(back.globalAttn, c.globalAttn);
    EXPECT_THROW(SamMed3DConfig::fromJson("{"), std::invalid_argument);
    EXPECT_THROW(SamMed3DConfig::fromJson(R"({"embed_dim": 100, "heads": 12})"), std::invalid_argument);
    const SamMed3DConfig defaults;
    EXPECT_EQ(defaults.embedDim, 768);
    EXPECT_EQ(defaults.promptDim, 384);
}

// The exact fast path must equal the literal padded computation also where windows are partly real and
// partly padding in all three axes at once, and where a window is complete (grid 16, window 14 and 8).
TEST(EncoderAttention, ExactPathMatchesLiteralOnOtherGrids) {
    torch::manual_seed(3);
    for (int window : {14, 8, 5}) {
        SCOPED_TRACE(window);
        EncoderBlock block(parityConfig(), window);
        for (auto& p : block->parameters()) p.data().normal_(0, 0.2);
        const auto x = torch::randn({1, 10, 10, 10, parityConfig().embedDim});
        torch::NoGradGuard g;
        const auto literal = block->forward(x, EncoderAttentionMode::Literal);
        const auto exact = block->forward(x, EncoderAttentionMode::Exact);
        EXPECT_LT((literal - exact).abs().max().item<double>(), 1e-4);
    }
}
