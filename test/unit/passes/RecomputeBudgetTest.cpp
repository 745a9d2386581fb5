//===- RecomputeBudgetTest.cpp - recompute=budget's choice vs brute force -===//
//
// accel::chooseRecomputeModes against every one of the 3^n choices on random
// blocks, and on the GPT-2-like case where the former greedy choice (the
// move with most bytes saved per FLOP first) recomputed more than needed.
//
//===----------------------------------------------------------------------===//

#include "passes/Training/RecomputeBudget.h"

#include <gtest/gtest.h>

#include <limits>
#include <random>

using namespace accel;

namespace {

/// The fewest FLOPs of any choice that fits, and its kept bytes; -1 if none.
std::pair<int64_t, int64_t>
bruteForce(const std::vector<BlockRecomputeCosts> &blocks, int64_t budget) {
  int64_t bestFlops = -1, bestKept = 0;
  size_t count = 1;
  for (size_t i = 0; i < blocks.size(); ++i)
    count *= 3;
  for (size_t code = 0; code < count; ++code) {
    int64_t kept = 0, flops = 0;
    size_t rest = code;
    for (const BlockRecomputeCosts &costs : blocks) {
      kept += costs[rest % 3].keptBytes;
      flops += costs[rest % 3].flops;
      rest /= 3;
    }
    if (kept <= budget && (bestFlops < 0 || flops < bestFlops ||
                           (flops == bestFlops && kept < bestKept))) {
      bestFlops = flops;
      bestKept = kept;
    }
  }
  return {bestFlops, bestKept};
}

/// The totals of the modes a choice names, recounted.
std::pair<int64_t, int64_t>
totals(const std::vector<BlockRecomputeCosts> &blocks,
       const RecomputeChoice &choice) {
  int64_t kept = 0, flops = 0;
  for (size_t i = 0; i < blocks.size(); ++i) {
    kept += blocks[i][choice.modes[i]].keptBytes;
    flops += blocks[i][choice.modes[i]].flops;
  }
  return {kept, flops};
}

TEST(RecomputeBudget, CheapestOfAllChoicesOnRandomBlocks) {
  std::mt19937_64 rng(7);
  for (int trial = 0; trial < 400; ++trial) {
    size_t n = 1 + rng() % 8;
    std::vector<BlockRecomputeCosts> blocks(n);
    int64_t most = 0, least = 0;
    for (BlockRecomputeCosts &costs : blocks) {
      // none keeps most and recomputes nothing; selective and full keep
      // less for more FLOPs, usually (selective can keep more than none
      // in small blocks, so that is drawn too).
      costs[0] = {int64_t(100 + rng() % 900), 0};
      costs[1] = {int64_t(rng() % 1000), int64_t(1 + rng() % 500)};
      costs[2] = {int64_t(rng() % 200), int64_t(1 + rng() % 2000)};
      most += costs[0].keptBytes;
      least += std::min(
          {costs[0].keptBytes, costs[1].keptBytes, costs[2].keptBytes});
    }
    int64_t budget =
        least + int64_t(rng() % uint64_t(most - least + 200)) - 100;
    auto [bestFlops, bestKept] = bruteForce(blocks, budget);
    RecomputeChoice choice = chooseRecomputeModes(blocks, budget);
    ASSERT_EQ(choice.modes.size(), n);
    auto [kept, flops] = totals(blocks, choice);
    EXPECT_EQ(kept, choice.keptBytes) << "trial " << trial;
    EXPECT_EQ(flops, choice.flops) << "trial " << trial;
    if (bestFlops < 0) {
      EXPECT_FALSE(choice.fits) << "trial " << trial;
      EXPECT_EQ(kept, least) << "trial " << trial;
      continue;
    }
    ASSERT_TRUE(choice.fits) << "trial " << trial << " budget " << budget;
    EXPECT_LE(kept, budget) << "trial " << trial;
    EXPECT_EQ(flops, bestFlops) << "trial " << trial;
    EXPECT_EQ(kept, bestKept) << "trial " << trial;
  }
}

TEST(RecomputeBudget, OneBlockInFullRatherThanOneFullOneSelective) {
  // Two equal blocks (GPT-2's, in round figures): none keeps 1000 bytes,
  // selective 600 for 10 FLOPs, full 100 for 300. Halfway between none's
  // and full's totals (1100) one block in full and one in none fit; the
  // greedy choice (selective for both, best bytes per FLOP, then full for
  // the first) recomputed selective on top: 310 FLOPs, not 300.
  std::vector<BlockRecomputeCosts> blocks(
      2, BlockRecomputeCosts{RecomputeCost{1000, 0}, RecomputeCost{600, 10},
                             RecomputeCost{100, 300}});
  RecomputeChoice choice = chooseRecomputeModes(blocks, 1100);
  EXPECT_TRUE(choice.fits);
  EXPECT_EQ(choice.flops, 300);
  EXPECT_EQ(choice.keptBytes, 1100);
  EXPECT_EQ(choice.modes[0] + choice.modes[1], 2); // one full, one none
  EXPECT_NE(choice.modes[0], 1);
}

TEST(RecomputeBudget, NothingFitsKeepsTheFewestBytes) {
  std::vector<BlockRecomputeCosts> blocks{
      {RecomputeCost{50, 0}, RecomputeCost{60, 5}, RecomputeCost{20, 9}},
      {RecomputeCost{50, 0}, RecomputeCost{10, 5}, RecomputeCost{10, 9}}};
  RecomputeChoice choice = chooseRecomputeModes(blocks, 29);
  EXPECT_FALSE(choice.fits);
  EXPECT_EQ(choice.keptBytes, 30);
  EXPECT_EQ(choice.modes, (std::vector<int>{2, 1})); // fewer FLOPs of equals
}

TEST(RecomputeBudget, ThinnedFrontierStillFits) {
  std::mt19937_64 rng(11);
  std::vector<BlockRecomputeCosts> blocks(40);
  int64_t most = 0;
  for (BlockRecomputeCosts &costs : blocks) {
    costs = {
        RecomputeCost{int64_t(500 + rng() % 500), 0},
        RecomputeCost{int64_t(200 + rng() % 300), int64_t(1 + rng() % 100)},
        RecomputeCost{int64_t(rng() % 200), int64_t(100 + rng() % 900)}};
    most += costs[0].keptBytes;
  }
  RecomputeChoice exact = chooseRecomputeModes(blocks, most / 2);
  RecomputeChoice thinned = chooseRecomputeModes(blocks, most / 2, 16);
  ASSERT_TRUE(exact.fits);
  ASSERT_TRUE(thinned.fits);
  EXPECT_LE(thinned.keptBytes, most / 2);
  EXPECT_GE(thinned.flops, exact.flops);
}

} // namespace
