#include <engram/model/inference/MemoryBank.h>

#include <gtest/gtest.h>

using namespace engram::model;

namespace {

// Memory number `id`: its tensors hold the value id, so order can be read back.
std::pair<torch::Tensor, torch::Tensor> memory(float id, int clicks = 2) {
    return {torch::full({clicks, 8}, id), torch::full({8, 2, 2, 2}, id)};
}

std::vector<float> ids(const MemoryBank& bank) {
    std::vector<float> out;
    for (int i = 0; i < bank.size(); ++i) out.push_back(bank.at(i).dense[0][0][0][0].item<float>());
    return out;
}

}  // namespace

TEST(MemoryBank, KeepsTheLatestCapacityMemoriesInOrder) {
    MemoryBank bank(3);
    for (int i = 1; i <= 5; ++i) {
        auto [s, d] = memory(float(i));
        bank.push(s, d);
    }
    EXPECT_EQ(bank.size(), 3);
    EXPECT_EQ(ids(bank), (std::vector<float>{3, 4, 5}));
}

TEST(MemoryBank, CapacityZeroKeepsNothingAndLimitsAreChecked) {
    MemoryBank none(0);
    auto [s, d] = memory(1);
    none.push(s, d);
    EXPECT_TRUE(none.empty());
    EXPECT_THROW(MemoryBank(81), std::invalid_argument);
    EXPECT_THROW(MemoryBank(-1), std::invalid_argument);
    EXPECT_NO_THROW(MemoryBank(80));
}

TEST(MemoryBank, SnapshotsShareMemoriesAndDoNotSeeLaterPushes) {
    MemoryBank bank(60);
    for (int i = 1; i <= 4; ++i) {
        auto [s, d] = memory(float(i));
        bank.push(s, d);
    }
    const MemoryBank snapshot = bank;  // what undo keeps
    for (int i = 5; i <= 7; ++i) {
        auto [s, d] = memory(float(i));
        bank.push(s, d);
    }
    EXPECT_EQ(ids(snapshot), (std::vector<float>{1, 2, 3, 4}));
    EXPECT_EQ(bank.size(), 7);
    // Shared, not copied: the same storage.
    EXPECT_EQ(snapshot.at(0).dense.data_ptr(), bank.at(0).dense.data_ptr());
    bank = snapshot;  // restore
    EXPECT_EQ(ids(bank), (std::vector<float>{1, 2, 3, 4}));
}

TEST(MemoryBank, StacksFollowTheMode) {
    for (auto mode : {MemoryMode::None, MemoryMode::Sparse, MemoryMode::Dense, MemoryMode::SparseDense}) {
        MemoryBank bank(10, mode);
        auto [s1, d1] = memory(1, 1);
        auto [s2, d2] = memory(2, 3);
        bank.push(s1, d1);
        bank.push(s2, d2);
        torch::Tensor owner;
        const auto sparse = bank.sparseStack(&owner);
        const auto dense = bank.denseStack();
        const bool wantSparse = mode == MemoryMode::Sparse || mode == MemoryMode::SparseDense;
        const bool wantDense = mode == MemoryMode::Dense || mode == MemoryMode::SparseDense;
        ASSERT_EQ(sparse.defined(), wantSparse);
        ASSERT_EQ(dense.defined(), wantDense);
        if (wantSparse) {
            EXPECT_EQ(sparse.sizes(), (std::vector<std::int64_t>{1, 4, 8}));
            EXPECT_TRUE(torch::equal(owner, torch::tensor({0, 1, 1, 1}, torch::kLong)));
        }
        if (wantDense) {
            EXPECT_EQ(dense.sizes(), (std::vector<std::int64_t>{1, 2, 8, 2, 2, 2}));
        }
    }
    EXPECT_FALSE(MemoryBank().sparseStack().defined());
}

TEST(MemoryBank, RejectsInconsistentShapes) {
    MemoryBank bank;
    auto [s, d] = memory(1);
    bank.push(s, d);
    EXPECT_THROW(bank.push(torch::zeros({2, 4}), torch::zeros({4, 2, 2, 2})), std::invalid_argument);
    EXPECT_THROW(bank.push(torch::zeros({2, 8}), torch::zeros({8, 3, 3, 3})), std::invalid_argument);
    EXPECT_THROW(bank.push(torch::zeros({0, 8}), torch::zeros({8, 2, 2, 2})), std::invalid_argument);
    EXPECT_EQ(bank.size(), 1);
}
