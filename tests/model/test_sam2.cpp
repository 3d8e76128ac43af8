// The SAM 2 network beyond the module parity case (tests/CMakeLists.txt: parity.sam2): the released
// sam2.1_hiera_t structure at the medical image size, where Hiera's third-stage windows (14) do not divide
// the token grid and are zero-padded; configuration checks; the reference key layout; the rotary encoding's
// relative-position property; the no-object behaviour of the heads and the memory.
#include <engram/model/evaluation/Parity.h>
#include <engram/model/networks/Sam2.h>
#include <engram/model/weights/SafeTensors.h>
#include <engram/model/weights/StateDict.h>

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <set>
#include <torch/csrc/autograd/grad_mode.h>

using namespace engram::model;

namespace {

const std::string kCase = std::string(ENGRAM_SHARED_DIR) + "/parity/sam2-mini-128-seed1.safetensors";

}  // namespace

TEST(Sam2, ReleasedTinyStructureAt512RunsEveryModuleWithTheExpectedShapes) {
    torch::NoGradGuard noGrad;
    torch::manual_seed(3);
    Sam2Config c;  // sam2.1_hiera_t, 512 px
    Sam2 net(c);
    net->eval();
    for (auto& p : net->parameters()) p.normal_(0, 0.02);

    const auto backbone = net->encodeImage(torch::randn({1, 3, 512, 512}));
    ASSERT_EQ(backbone.backboneFpn.size(), 3u);
    EXPECT_EQ(backbone.backboneFpn[0].sizes(), (std::vector<int64_t>{1, 32, 128, 128}));  // after conv_s0
    EXPECT_EQ(backbone.backboneFpn[1].sizes(), (std::vector<int64_t>{1, 64, 64, 64}));    // after conv_s1
    EXPECT_EQ(backbone.visionFeatures().sizes(), (std::vector<int64_t>{1, 256, 32, 32}));
    EXPECT_EQ(backbone.visionPosEnc[2].sizes(), (std::vector<int64_t>{1, 256, 32, 32}));

    const auto coords = torch::tensor({{{200.f, 220.f}}});
    const auto labels = torch::tensor({{1L}});
    const auto heads = net->samHeads(backbone.visionFeatures(), coords, labels, torch::Tensor(),
                                     backbone.backboneFpn[0], backbone.backboneFpn[1], true);
    EXPECT_EQ(heads.lowResMultimasks.sizes(), (std::vector<int64_t>{1, 3, 128, 128}));
    EXPECT_EQ(heads.highResMasks.sizes(), (std::vector<int64_t>{1, 1, 512, 512}));
    EXPECT_EQ(heads.objPtr.sizes(), (std::vector<int64_t>{1, 256}));
    EXPECT_TRUE(torch::isfinite(heads.highResMasks).all().item<bool>());

    const auto memory =
        net->encodeMemory(backbone.visionFeatures(), heads.highResMasks, heads.objectScoreLogits, true);
    EXPECT_EQ(memory.features.sizes(), (std::vector<int64_t>{1, 64, 32, 32}));

    // Memory attention over 2 memories of this slice and 4 object pointers (16 tokens of 64).
    const auto curr = backbone.visionFeatures().flatten(2).permute({2, 0, 1});
    const auto currPos = backbone.visionPosEnc[2].flatten(2).permute({2, 0, 1});
    const auto mem = memory.features.flatten(2).permute({2, 0, 1});
    const auto memPos = memory.posEnc.flatten(2).permute({2, 0, 1});
    const auto memory2 = torch::cat({mem, mem, torch::randn({16, 1, 64})}, 0);
    const auto memoryPos2 = torch::cat({memPos, memPos, torch::randn({16, 1, 64})}, 0);
    const auto out = net->memory_attention(curr, currPos, memory2, memoryPos2, 16);
    EXPECT_EQ(out.sizes(), curr.sizes());
    EXPECT_TRUE(torch::isfinite(out).all().item<bool>());
}

TEST(Sam2, KeysAreTheReferenceLayout) {
    const SafeTensorsFile file(kCase);
    Sam2 net(Sam2Config::fromJson(file.metadata().at("config")));
    std::set<std::string> ours;
    for (const auto& p : net->named_parameters()) ours.insert(p.key());
    for (const auto& b : net->named_buffers()) ours.insert(b.key());
    std::set<std::string> reference;
    for (const auto& [name, entry] : file.entries())
        if (name.rfind("model.", 0) == 0) reference.insert(name.substr(6));
    EXPECT_EQ(ours, reference);
}

TEST(Sam2, ConfigurationRoundTripsAndRejectsInconsistentSizes) {
    Sam2Config c = Sam2Config::fromJson(R"({"hiera_embed_dim": 32, "hiera_stages": [1, 1, 3, 1],
                                           "hiera_global_att_blocks": [3, 4], "image_size": 128})");
    EXPECT_EQ(c.hieraEmbedDim, 32);
    EXPECT_EQ(c.stageChannels(), (std::vector<int>{32, 64, 128, 256}));
    const auto again = Sam2Config::fromJson(c.toJson());
    EXPECT_EQ(again.toJson(), c.toJson());
    EXPECT_THROW(Sam2Config::fromJson("{not json"), std::invalid_argument);
    EXPECT_THROW(Sam2Config::fromJson(R"({"hiera_stages": [1, 2, 7]})"), std::invalid_argument);
    EXPECT_THROW(Sam2Config::fromJson(R"({"image_size": 500})"), std::invalid_argument);
    EXPECT_THROW(Sam2Config::fromJson(R"({"d_model": 250})"), std::invalid_argument);
    EXPECT_THROW(Sam2Config::fromJson(R"({"hiera_stages": "four"})"), std::invalid_argument);
    // Sizes a model file could use to exhaust memory or divide by zero before its weights are checked.
    EXPECT_THROW(Sam2Config::fromJson(R"({"hiera_window_spec": [0, 4, 14, 7]})"), std::invalid_argument);
    EXPECT_THROW(Sam2Config::fromJson(R"({"hiera_embed_dim": 1000000})"), std::invalid_argument);
    EXPECT_THROW(Sam2Config::fromJson(R"({"memory_attention_layers": 100000})"), std::invalid_argument);
}

TEST(Sam2, RotaryEncodingDependsOnlyOnRelativePositions) {
    // The same content at every position of a 4 x 4 grid, queries a and keys b: after rotation, the score of
    // a query with a key depends on their offset only (along x and along y), not on where the pair lies.
    const auto a = torch::randn({8}), b = torch::randn({8});
    const auto rq = axialRotary(a.expand({1, 1, 16, 8}).contiguous(), 4, 10000.0)[0][0];
    const auto rk = axialRotary(b.expand({1, 1, 16, 8}).contiguous(), 4, 10000.0)[0][0];
    const auto scores = torch::matmul(rq, rk.t());  // [query, key]
    auto at = [](int row, int col) { return row * 4 + col; };
    auto score = [&](int q, int k) { return scores[q][k].item<float>(); };
    EXPECT_NEAR(score(at(0, 0), at(1, 1)), score(at(2, 1), at(3, 2)), 1e-5);
    EXPECT_NEAR(score(at(3, 3), at(1, 2)), score(at(2, 1), at(0, 0)), 1e-5);
    EXPECT_NEAR(score(at(1, 1), at(1, 1)), score(at(3, 0), at(3, 0)), 1e-5);
    // ...and it does depend on the offset, in both directions.
    EXPECT_GT(std::abs(score(at(0, 0), at(0, 1)) - score(at(0, 0), at(0, 0))), 1e-3);
    EXPECT_GT(std::abs(score(at(0, 0), at(1, 0)) - score(at(0, 0), at(0, 0))), 1e-3);
    // Keys that are several grids long reuse the grid's angles.
    const auto twice = axialRotary(b.expand({1, 1, 32, 8}).contiguous(), 4, 10000.0)[0][0];
    EXPECT_TRUE(torch::allclose(twice.slice(0, 16), rk, 1e-6, 1e-6));
}

TEST(Sam2, AbsentObjectGivesNoObjectLogitsPointerAndMemory) {
    torch::NoGradGuard noGrad;
    const SafeTensorsFile file(kCase);
    Sam2 net(Sam2Config::fromJson(file.metadata().at("config")));
    loadStateDict(*net, file, "model.");
    net->eval();
    // Force the object score negative through its last bias.
    auto& last = net->sam_mask_decoder->pred_obj_score_head->layers[2]->as<torch::nn::Linear>()->bias;
    last.fill_(-1e4);
    const auto backbone = net->encodeImage(file.load("input.image"));
    const auto heads = net->samHeads(backbone.visionFeatures(), file.load("input.point_coords"),
                                     file.load("input.point_labels"), torch::Tensor(),
                                     backbone.backboneFpn[0], backbone.backboneFpn[1], true);
    EXPECT_LT(heads.objectScoreLogits.item<float>(), 0);
    EXPECT_TRUE((heads.lowResMultimasks == -1024).all().item<bool>());
    EXPECT_TRUE(torch::allclose(heads.objPtr, net->no_obj_ptr));
    const auto withObject =
        net->encodeMemory(backbone.visionFeatures(), heads.highResMasks, torch::ones({1, 1}), true);
    const auto without =
        net->encodeMemory(backbone.visionFeatures(), heads.highResMasks, heads.objectScoreLogits, true);
    EXPECT_TRUE(torch::allclose(without.features - withObject.features,
                                net->no_obj_embed_spatial.view({1, -1, 1, 1}).expand_as(without.features),
                                1e-5, 1e-6));
}
