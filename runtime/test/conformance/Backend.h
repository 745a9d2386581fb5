//===- Backend.h - The backend under conformance test -----------*- C++ -*-===//
//
// The conformance tests call kernels as `backend::name(...)` on host views
// and run every case on pools of several sizes. This header binds them to
// the CPU kernels; another backend's suite provides the same names (copying
// views to and from its device) and reuses the tests unchanged.
//
//===----------------------------------------------------------------------===//
#ifndef ACCEL_RUNTIME_TEST_CONFORMANCE_BACKEND_H
#define ACCEL_RUNTIME_TEST_CONFORMANCE_BACKEND_H

#include "backends/cpu/CpuKernels.h"

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace accel::rt::conformance {

namespace backend = accel::rt::cpu;
using backend::KernelError;

/// Runs body once per pool size (1, 2 and 3 threads: serial, even and
/// uneven splits), labelling failures with the size.
inline void forEachPool(const std::function<void(ThreadPool &)> &body) {
  static std::vector<std::unique_ptr<ThreadPool>> pools = [] {
    std::vector<std::unique_ptr<ThreadPool>> p;
    for (int n : {1, 2, 3})
      p.push_back(std::make_unique<ThreadPool>(n));
    return p;
  }();
  for (auto &pool : pools) {
    SCOPED_TRACE("pool of " + std::to_string(pool->size()) + " threads");
    body(*pool);
  }
}

} // namespace accel::rt::conformance

#endif // ACCEL_RUNTIME_TEST_CONFORMANCE_BACKEND_H
