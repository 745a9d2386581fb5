//===- RecomputeBudget.cpp - Cheapest recomputation within a budget -------===//
#include "passes/Training/RecomputeBudget.h"

#include <algorithm>
#include <limits>

namespace accel {
namespace {

/// A partial choice for the blocks so far: its totals and how it was made.
struct Point {
  int64_t keptBytes;
  int64_t flops;
  int parent; ///< index in the previous frontier
  int mode;   ///< the last block's mode
};

/// Each block in its mode of fewest kept bytes (fewest FLOPs among equals):
/// the answer when nothing fits.
RecomputeChoice leastKept(const std::vector<BlockRecomputeCosts> &blocks) {
  RecomputeChoice choice;
  for (const BlockRecomputeCosts &costs : blocks) {
    int best = 0;
    for (int m = 1; m < 3; ++m)
      if (costs[m].keptBytes < costs[best].keptBytes ||
          (costs[m].keptBytes == costs[best].keptBytes &&
           costs[m].flops < costs[best].flops))
        best = m;
    choice.modes.push_back(best);
    choice.keptBytes += costs[best].keptBytes;
    choice.flops += costs[best].flops;
  }
  return choice;
}

/// Keeps the points no other point beats in both bytes and FLOPs; the
/// first of equal points wins (stable sort).
std::vector<Point> paretoFrontier(std::vector<Point> points,
                                  size_t maxFrontier) {
  std::stable_sort(
      points.begin(), points.end(), [](const Point &a, const Point &b) {
        return a.keptBytes != b.keptBytes ? a.keptBytes < b.keptBytes
                                          : a.flops < b.flops;
      });
  std::vector<Point> frontier;
  int64_t leastFlops = std::numeric_limits<int64_t>::max();
  for (const Point &p : points)
    if (p.flops < leastFlops) {
      frontier.push_back(p);
      leastFlops = p.flops;
    }
  if (frontier.size() > maxFrontier && maxFrontier >= 2) {
    std::vector<Point> thinned;
    for (size_t i = 0; i < maxFrontier; ++i)
      thinned.push_back(
          frontier[i * (frontier.size() - 1) / (maxFrontier - 1)]);
    frontier = std::move(thinned);
  }
  return frontier;
}

} // namespace

RecomputeChoice
chooseRecomputeModes(const std::vector<BlockRecomputeCosts> &blocks,
                     int64_t budget, size_t maxFrontier) {
  RecomputeChoice least = leastKept(blocks);
  if (least.keptBytes > budget)
    return least;
  // What blocks i.. must keep at least: a partial choice that leaves less
  // room than that cannot be completed.
  std::vector<int64_t> leastAfter(blocks.size() + 1, 0);
  for (size_t i = blocks.size(); i-- > 0;)
    leastAfter[i] = leastAfter[i + 1] + blocks[i][least.modes[i]].keptBytes;

  std::vector<std::vector<Point>> frontiers;
  frontiers.push_back({Point{0, 0, -1, -1}});
  for (size_t i = 0; i < blocks.size(); ++i) {
    std::vector<Point> next;
    const std::vector<Point> &previous = frontiers.back();
    for (int j = 0, e = previous.size(); j < e; ++j)
      for (int m = 0; m < 3; ++m) {
        int64_t kept = previous[j].keptBytes + blocks[i][m].keptBytes;
        if (kept + leastAfter[i + 1] > budget)
          continue;
        next.push_back(
            Point{kept, previous[j].flops + blocks[i][m].flops, j, m});
      }
    frontiers.push_back(paretoFrontier(std::move(next), maxFrontier));
  }
  // The frontier is sorted by bytes with FLOPs falling: its last point
  // recomputes least.
  RecomputeChoice choice;
  choice.fits = true;
  choice.modes.assign(blocks.size(), 0);
  int at = frontiers.back().size() - 1;
  choice.keptBytes = frontiers.back()[at].keptBytes;
  choice.flops = frontiers.back()[at].flops;
  for (size_t i = blocks.size(); i > 0; --i) {
    const Point &p = frontiers[i][at];
    choice.modes[i - 1] = p.mode;
    at = p.parent;
  }
  return choice;
}

} // namespace accel
