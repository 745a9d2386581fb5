//===- Grid.cpp - The grid of ranks a function was compiled for ----------===//
#include "accel/runtime/Grid.h"
#include "accel/runtime/Communicator.h"
#include "accel/runtime/schema/executable_generated.h"

#include <sstream>

using namespace accel::rt;

namespace {

std::vector<std::string> commaList(const std::string &text) {
  std::vector<std::string> items;
  std::stringstream in(text);
  for (std::string item; std::getline(in, item, ',');)
    items.push_back(item);
  return items;
}

} // namespace

int64_t Grid::size() const {
  int64_t n = 1;
  for (int64_t s : shape)
    n *= s;
  return n;
}

int64_t Grid::axisSize(const std::string &name) const {
  for (size_t i = 0; i < axes.size(); ++i)
    if (axes[i] == name)
      return shape[i];
  return 1;
}

Grid accel::rt::gridOf(const fb::Function &function) {
  Grid grid;
  grid.axes = commaList(metadataString(function, "grid_axes"));
  std::string name = function.name() ? function.name()->str() : "?";
  for (const std::string &size : commaList(metadataString(function, "grid_shape"))) {
    size_t used = 0;
    int64_t value = 0;
    try {
      value = std::stoll(size, &used);
    } catch (const std::exception &) {
    }
    if (used != size.size() || value < 1)
      throw Error("function " + name + ": grid_shape '" + size +
                  "' is not a positive size");
    grid.shape.push_back(value);
  }
  if (grid.shape.size() != grid.axes.size())
    throw Error("function " + name + ": its grid names " +
                std::to_string(grid.axes.size()) + " axes for " +
                std::to_string(grid.shape.size()) + " sizes");
  return grid;
}

JobGroups accel::rt::groupsFor(const fb::Function &fn, Communicator *world,
                               const CommOptions &worldOptions) {
  Grid grid = gridOf(fn);
  std::string function = fn.name() ? fn.name()->str() : "?";
  int64_t ranks = world ? world->size() : 1;
  // A function split over no grid runs whole on every rank.
  if (!grid.axes.empty() && grid.size() != ranks)
    throw Error(function + " is compiled for a grid of " +
                std::to_string(grid.size()) + " ranks; this job has " +
                std::to_string(ranks) + " (launch it with accel-run "
                "--nproc-per-node " + std::to_string(grid.size()) + ")");
  JobGroups job;
  if (!world)
    return job;
  job.groups["world"] = world;
  // This rank's coordinates, row-major (the last axis varies fastest, as
  // torch's DeviceMesh: a tp group is consecutive ranks).
  size_t n = grid.axes.size();
  std::vector<int64_t> at(n);
  for (size_t k = n, r = world->rank(); k-- > 0;) {
    at[k] = static_cast<int64_t>(r) % grid.shape[k];
    r /= grid.shape[k];
  }
  // One group per non-empty set of axes, named as collectives name it
  // ("dp", "tp", "dp,tp"): the ranks sharing this rank's coordinates on
  // the other axes. Every rank creates them in the same order.
  for (uint64_t set = 1; set < (uint64_t(1) << n); ++set) {
    std::string name, others;
    int64_t rank = 0, size = 1;
    for (size_t k = 0; k < n; ++k) {
      if (set >> k & 1) {
        name += (name.empty() ? "" : ",") + grid.axes[k];
        rank = rank * grid.shape[k] + at[k];
        size *= grid.shape[k];
      } else {
        others += "," + grid.axes[k] + "=" + std::to_string(at[k]);
      }
    }
    if (size == ranks) {
      job.groups[name] = world;
      continue;
    }
    CommOptions o = worldOptions;
    o.rank = static_cast<int>(rank);
    o.size = static_cast<int>(size);
    o.name = name + others;
    o.serveRendezvous = false;
    job.owned.push_back(connectGloo(o));
    job.groups[name] = job.owned.back().get();
  }
  return job;
}
