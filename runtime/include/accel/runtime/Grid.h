//===- Grid.h - The grid of ranks a function was compiled for ---*- C++ -*-===//
//
// accel-shard records in each function it splits the grid it split it
// over (metadata grid_axes = "dp,tp", grid_shape = "2,2"). The runtime
// reads it back to give each collective the communicator of its axes and
// to know this rank's place on each axis.
//
//===----------------------------------------------------------------------===//
#ifndef ACCEL_RUNTIME_GRID_H
#define ACCEL_RUNTIME_GRID_H
#include "accel/runtime/Communicator.h"
#include "accel/runtime/Executor.h"
#include <cstdint>
#include <memory>
#include <string>
#include <vector>
namespace accel::rt {
namespace fb {
struct Function;
} // namespace fb
struct Grid {
  std::vector<std::string> axes;
  std::vector<int64_t> shape;
  /// Ranks in the grid (1 for a function that was not split).
  int64_t size() const;
  /// The size of axis `name` (1 when the grid has no such axis).
  int64_t axisSize(const std::string &name) const;
};
/// The grid `function` was compiled for; throws Error on malformed
/// metadata.
Grid gridOf(const fb::Function &function);
/// The communicators a job runs a function's collectives on: "world", and
/// one per set of grid axes ("dp", "tp", "dp,tp"), each of the ranks that
/// share this rank's coordinates on the other axes (ranks are numbered
/// row-major, the last axis fastest). Groups smaller than the world are
/// connected here, through the world's rendezvous (`worldOptions`), and
/// owned by the result.
struct JobGroups {
  CommGroups groups;
  std::vector<std::unique_ptr<Communicator>> owned;
};
/// Throws Error, naming the function, when the job's size is not the size
/// of its grid (a function without a grid runs whole on every rank), and
/// CommError when a group cannot connect. `world` may be null (one
/// process).
JobGroups groupsFor(const fb::Function &function, Communicator *world,
                    const CommOptions &worldOptions);
} // namespace accel::rt
#endif // ACCEL_RUNTIME_GRID_H
