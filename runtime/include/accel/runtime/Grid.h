//===- Grid.h - The grid of ranks a function was compiled for ---*- C++ -*-===//
//
// accel-shard records in each function it splits the grid it split it
// over (metadata grid_axes = "dp", grid_shape = "2"). The runtime reads it
// back to give each collective the communicator of its axis and to know
// this rank's place on the data-parallel axis.
//
//===----------------------------------------------------------------------===//
#ifndef ACCEL_RUNTIME_GRID_H
#define ACCEL_RUNTIME_GRID_H
#include "accel/runtime/Executor.h"
#include <cstdint>
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
/// One communicator per axis of the grid of `function` for a job of
/// world->size() ranks (world may be null for one process), and "world".
/// Throws Error, naming the function, when the job's size is not the size
/// of its grid (a function without a grid runs whole on every rank), or the grid has more than one axis (the runtime cannot build
/// sub-groups yet).
CommGroups groupsFor(const fb::Function &function, Communicator *world);
} // namespace accel::rt
#endif // ACCEL_RUNTIME_GRID_H
