#include <engram/model/inference/MaisModel.h>
#include <engram/model/networks/ClickNetConfig.h>
#include <engram/model/networks/MemoryAttention.h>
#include <engram/model/networks/SliceNetConfig.h>
#include <engram/model/weights/SafeTensors.h>

#include <gtest/gtest.h>
#include <torch/csrc/autograd/grad_mode.h>

#include <filesystem>

using namespace engram::model;

namespace {

const std::string kParity = std::string(ENGRAM_SHARED_DIR) + "/parity/sam-med3d-tiny-seed1.safetensors";

MemoryAttentionConfig small() {
    MemoryAttentionConfig c;
    c.dim = 96;
    c.heads = 4;
    c.width = 16;
    c.crossWidth = 16;
    c.sparseWidth = 32;
    return c;
}

MemoryBank filledBank(int n, MemoryMode mode = MemoryMode::SparseDense, int dim = 96) {
    MemoryBank bank(60, mode);
    for (int i = 0; i < n; ++i) bank.push(torch::randn({2, dim}), torch::randn({dim, 8, 8, 8}));
    return bank;
}

void randomise(torch::nn::Module& m) {
    torch::NoGradGuard g;
    for (auto& p : m.parameters()) p.normal_(0, 0.05);
}

}  // namespace

TEST(MemoryAttention, EmptyBankOrModeNoneLeavesTheEmbeddingUntouched) {
    torch::manual_seed(1);
    MemoryAttention ma(small());
    randomise(*ma);
    torch::NoGradGuard g;
    const auto E = torch::randn({1, 96, 8, 8, 8});
    EXPECT_TRUE(torch::equal(ma->forward(E, MemoryBank()), E));
    EXPECT_TRUE(torch::equal(ma->forward(E, filledBank(5, MemoryMode::None)), E));
}

TEST(MemoryAttention, UntrainedBlockIsTheIdentityAndTrainedOneUsesEveryMemoryType) {
    torch::manual_seed(2);
    MemoryAttention ma(small());
    torch::NoGradGuard g;
    const auto E = torch::randn({1, 96, 8, 8, 8});
    EXPECT_TRUE(torch::equal(ma->forward(E, filledBank(6)), E));  // zero-initialised projections

    randomise(*ma);
    torch::manual_seed(3);
    const auto both = ma->forward(E, filledBank(6));
    torch::manual_seed(3);
    const auto sparseOnly = ma->forward(E, filledBank(6, MemoryMode::Sparse));
    torch::manual_seed(3);
    const auto denseOnly = ma->forward(E, filledBank(6, MemoryMode::Dense));
    EXPECT_TRUE(torch::isfinite(both).all().item<bool>());
    EXPECT_FALSE(torch::allclose(both, E));
    EXPECT_FALSE(torch::allclose(sparseOnly, E));
    EXPECT_FALSE(torch::allclose(denseOnly, E));
    EXPECT_FALSE(torch::allclose(both, sparseOnly));
    EXPECT_FALSE(torch::allclose(both, denseOnly));
    // Different memories, different conditioning.
    torch::manual_seed(4);
    EXPECT_FALSE(torch::allclose(ma->forward(E, filledBank(6)), both));
}

TEST(MemoryAttention, CachedDenseEncodingsGiveTheSameResult) {
    torch::manual_seed(6);
    MemoryAttention ma(small());
    randomise(*ma);
    torch::NoGradGuard g;
    const auto E = torch::randn({1, 96, 8, 8, 8});
    MemoryBank plain(60), cached(60);
    for (int i = 0; i < 5; ++i) {
        const auto s = torch::randn({1, 96}), d = torch::randn({96, 8, 8, 8});
        plain.push(s, d);
        cached.push(s, d, ma->encodeDense(d));
    }
    EXPECT_TRUE(torch::allclose(ma->forward(E, plain), ma->forward(E, cached), 1e-5, 1e-6));
}

TEST(MaisModel, ASamMed3DFileLoadsWithoutMemoryAndGivesTheReferenceFirstClick) {
    MaisModel m = MaisModel::load(kParity);
    EXPECT_FALSE(m.memory);
    const SafeTensorsFile f(kParity);
    torch::NoGradGuard g;
    const auto E = m.sam->image_encoder->forward(f.load("input.image"));
    using torch::indexing::Slice;
    const auto prompts = m.sam->prompt_encoder->forward(
        f.load("input.point_coords").index({Slice(), Slice(0, 1)}),
        f.load("input.point_labels").index({Slice(), Slice(0, 1)}), torch::Tensor());
    // N = 0: the memory path hands the embedding through unchanged, so the first click is SAM-Med3D's.
    MemoryAttention ma(MemoryAttentionConfig::fromJson(
        R"({"dim": 96, "heads": 4, "width": 16, "cross_width": 16, "sparse_width": 32})"));
    randomise(*ma);
    const auto conditioned = ma->forward(E, MemoryBank());
    const auto out = m.sam->mask_decoder->forward(conditioned, m.sam->prompt_encoder->densePe(),
                                                  prompts.sparse, prompts.dense, false);
    const auto expected = f.load("expected.first_click_no_mask.low_res_logits");
    EXPECT_LT((out.lowResLogits - expected).abs().max().item<double>(), 1e-4);
}

TEST(MaisModel, ConfigurationsAreBoundedBeforeAnyNetworkIsBuilt) {
    // A model file's configuration is outside input: sizes that would exhaust memory or divide by zero.
    EXPECT_THROW(SamMed3DConfig::fromJson(R"({"decoder_heads": 0})"), std::invalid_argument);
    EXPECT_THROW(SamMed3DConfig::fromJson(R"({"depth": 100000})"), std::invalid_argument);
    EXPECT_THROW(SamMed3DConfig::fromJson(R"({"embed_dim": 1048576, "heads": 16})"), std::invalid_argument);
    EXPECT_THROW(MemoryAttentionConfig::fromJson(R"({"dense_layers": 1000000})"), std::invalid_argument);
    EXPECT_THROW(MemoryAttentionConfig::fromJson(R"({"width": -4})"), std::invalid_argument);
    // Numbers no int holds, and fractions, are refused before any cast (a plain cast is undefined).
    EXPECT_THROW(SamMed3DConfig::fromJson(R"({"depth": 4.4e38})"), std::invalid_argument);
    EXPECT_THROW(SamMed3DConfig::fromJson(R"({"depth": 2.5})"), std::invalid_argument);
    EXPECT_THROW(MemoryAttentionConfig::fromJson(R"({"heads": 9223372036854775807})"), std::invalid_argument);
    EXPECT_THROW(ClickNetConfig::fromJson(R"({"click_sigma": 1e300})"), std::invalid_argument);
    EXPECT_THROW(ClickNetConfig::fromJson(R"({"widths": [8, 1e20]})"), std::invalid_argument);
    EXPECT_THROW(SliceNetConfig::fromJson(R"({"heads": "two"})"), std::invalid_argument);
    EXPECT_EQ(SamMed3DConfig::fromJson(R"({"depth": 2.0})").depth, 2);
    EXPECT_NO_THROW(SamMed3DConfig::fromJson(SafeTensorsFile(kParity).metadata().at("config")));
}

TEST(MaisModel, SaveAndLoadKeepWeightsAndConfiguration) {
    auto config = SamMed3DConfig::fromJson(SafeTensorsFile(kParity).metadata().at("config"));
    MaisModel m = MaisModel::create(config, small());
    randomise(*m.memory);
    const std::string path = std::string(ENGRAM_TEST_OUT) + "/mais-roundtrip.safetensors";
    m.save(path);
    MaisModel back = MaisModel::load(path);
    ASSERT_TRUE(back.memory);
    EXPECT_EQ(back.memory->config.toJson(), m.memory->config.toJson());
    EXPECT_EQ(back.config.toJson(), m.config.toJson());
    torch::NoGradGuard g;
    const auto E = torch::randn({1, 96, 8, 8, 8});
    torch::manual_seed(5);
    const auto bank = filledBank(4);
    EXPECT_TRUE(torch::equal(m.memory->forward(E, bank), back.memory->forward(E, bank)));
    EXPECT_TRUE(torch::equal(m.sam->image_encoder->pos_embed, back.sam->image_encoder->pos_embed));
}

TEST(MemoryAttention, BlockReadoutEqualsTheReadoutOverTheUpsampledMemories) {
    // The direct form: build d = full + nearest-upsampled delta, then per voxel and head softmax over memories.
    torch::manual_seed(4);
    const int heads = 2, W = 8, N = 5;
    const auto q = torch::randn({W, 6 * 4 * 8});
    const auto full = torch::randn({N, W, 6, 4, 8});
    const auto delta = torch::randn({N, W, 3, 2, 4});
    const auto up = delta.repeat_interleave(2, 2).repeat_interleave(2, 3).repeat_interleave(2, 4);
    const auto d = (full + up).view({N, heads, W / heads, -1});
    const auto scores = (d * q.view({1, heads, W / heads, -1})).sum(2) / std::sqrt(double(W / heads));
    const auto expected = (scores.softmax(0).unsqueeze(2) * d).sum(0).reshape({W, -1});
    const auto actual = blockReadout(q, full.view({N, W, -1}), delta, heads);
    EXPECT_TRUE(torch::allclose(actual, expected, 1e-5, 1e-5)) << (actual - expected).abs().max().item<float>();
}
