//===- RecomputeBudget.h - Cheapest recomputation within a budget ---------===//
//
// recompute=budget's choice, apart from IR so that it can be tested against
// brute force: each block has a few modes (none, selective, full), each
// keeping some bytes for the backward pass and recomputing some FLOPs; pick
// one mode per block so that the kept bytes fit the budget with the fewest
// FLOPs recomputed (a multiple-choice knapsack).
//
//===----------------------------------------------------------------------===//
#ifndef ACCEL_PASSES_TRAINING_RECOMPUTEBUDGET_H
#define ACCEL_PASSES_TRAINING_RECOMPUTEBUDGET_H

#include <array>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace accel {

/// What a block keeps and recomputes under one mode.
struct RecomputeCost {
  int64_t keptBytes = 0;
  int64_t flops = 0;
};

/// A block's costs by mode, in the order none, selective, full.
using BlockRecomputeCosts = std::array<RecomputeCost, 3>;

struct RecomputeChoice {
  std::vector<int> modes; ///< per block, an index into its costs
  int64_t keptBytes = 0;
  int64_t flops = 0;
  bool fits = false; ///< false: no choice fits; modes keep the fewest bytes
};

/// The choice of fewest recomputed FLOPs whose kept bytes are at most
/// `budget` (ties: fewer bytes; among equals, always the same one).
/// Exact: dynamic programming over the blocks keeping the Pareto frontier
/// of (bytes, FLOPs), pruned by what the remaining blocks must keep at
/// least. If the frontier ever exceeds `maxFrontier` points it is thinned
/// to that many, evenly (extremes kept), and the result is then only
/// feasible, not proven cheapest.
RecomputeChoice
chooseRecomputeModes(const std::vector<BlockRecomputeCosts> &blocks,
                     int64_t budget,
                     std::size_t maxFrontier = std::size_t(1) << 16);

} // namespace accel

#endif // ACCEL_PASSES_TRAINING_RECOMPUTEBUDGET_H
