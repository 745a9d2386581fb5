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

CommGroups accel::rt::groupsFor(const fb::Function &fn, Communicator *world) {
  Grid grid = gridOf(fn);
  std::string function = fn.name() ? fn.name()->str() : "?";
  int64_t ranks = world ? world->size() : 1;
  // A function split over no grid runs whole on every rank.
  if (!grid.axes.empty() && grid.size() != ranks)
    throw Error(function + " is compiled for a grid of " +
                std::to_string(grid.size()) + " ranks; this job has " +
                std::to_string(ranks) + " (launch it with accel-run "
                "--nproc-per-node " + std::to_string(grid.size()) + ")");
  CommGroups groups;
  if (world)
    groups["world"] = world;
  if (grid.axes.size() > 1)
    throw Error(function + " is compiled for a grid of " +
                std::to_string(grid.axes.size()) + " axes; the runtime runs "
                "one-axis grids only so far");
  if (grid.axes.size() == 1 && world)
    groups[grid.axes[0]] = world;
  return groups;
}
