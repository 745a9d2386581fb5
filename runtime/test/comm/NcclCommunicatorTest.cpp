//===- NcclCommunicatorTest.cpp - The NCCL communicator where it is built ===//
//
// Without a GPU, connecting names the missing device and throws CommError
// (no hang, no crash). With one, a single-rank job reduces, gathers and
// scatters device memory as the interface says.
//
//===----------------------------------------------------------------------===//
#include "accel/runtime/Communicator.h"

#include <cuda_runtime_api.h>
#include <gtest/gtest.h>

#include <vector>

using namespace accel::rt;

namespace {

CommOptions single() {
  CommOptions o;
  o.rank = 0;
  o.size = 1;
  o.masterPort = 29613;
  o.name = "nccl-test";
  o.timeout = std::chrono::milliseconds(10000);
  return o;
}

bool haveDevice() {
  int count = 0;
  return cudaGetDeviceCount(&count) == cudaSuccess && count > 0;
}

TEST(NcclCommunicator, RefusesAMissingDevice) {
  int count = 0;
  if (cudaGetDeviceCount(&count) != cudaSuccess)
    count = 0;
  try {
    connectNccl(single(), count);
    FAIL() << "connected to CUDA device " << count << " of " << count;
  } catch (const CommError &e) {
    std::string message = e.what();
    EXPECT_NE(message.find("no CUDA device " + std::to_string(count)),
              std::string::npos)
        << message;
    EXPECT_NE(message.find("'nccl-test' rank 0 of 1"), std::string::npos)
        << message;
  }
}

TEST(NcclCommunicator, OneRankCollectivesOnDeviceMemory) {
  if (!haveDevice())
    GTEST_SKIP() << "no CUDA device";
  auto comm = connectNccl(single(), 0);
  std::vector<float> host = {1, -2, 3, 4};
  float *device = nullptr;
  ASSERT_EQ(cudaMalloc(reinterpret_cast<void **>(&device),
                       sizeof(float) * host.size()),
            cudaSuccess);
  cudaMemcpy(device, host.data(), sizeof(float) * host.size(),
             cudaMemcpyHostToDevice);
  TensorView data{device, DType::F32, {4}};
  comm->allReduce(data, ReduceOp::Max)->wait();
  comm->allGather(data, data)->wait();
  comm->barrier();
  std::vector<float> back(host.size());
  cudaMemcpy(back.data(), device, sizeof(float) * back.size(),
             cudaMemcpyDeviceToHost);
  cudaFree(device);
  EXPECT_EQ(back, host);
  EXPECT_EQ(comm->bytesSent(), 0);
}

} // namespace
