//===- NcclCommunicator.cpp - Collectives over NCCL on one CUDA device ---===//
//
// The Communicator interface on NCCL, for the CUDA backend: tensors are
// device memory. Rendezvous as for Gloo (rank 0 serves the TcpStore, or a
// job's world store is reused), through which rank 0 hands out NCCL's
// unique id. The communicator is created non-blocking, so that every wait
// (creation, each collective) is bounded: a collective is enqueued on the
// communicator's own stream and its Work polls an event and NCCL's
// asynchronous error; past the timeout the communicator is aborted and the
// wait throws CommError, as a dead peer does under Gloo.
//
// Built only where the CUDA toolkit and NCCL are found (ACCEL_HAVE_NCCL);
// it cannot run on a machine without a GPU, where connecting fails with a
// CommError naming the device.
//
//===----------------------------------------------------------------------===//
#include "accel/runtime/Communicator.h"

#include "comm/TcpStore.h"

#include <cuda_runtime_api.h>
#include <nccl.h>

#include <cstring>
#include <thread>

namespace accel::rt {
namespace {

using Clock = std::chrono::steady_clock;

std::string cudaMessage(cudaError_t e) { return cudaGetErrorString(e); }

ncclDataType_t ncclTypeOf(DType t) {
  switch (t) {
  case DType::F32:
    return ncclFloat32;
  case DType::F64:
    return ncclFloat64;
  case DType::F16:
    return ncclFloat16;
  case DType::BF16:
    return ncclBfloat16;
  case DType::I64:
    return ncclInt64;
  case DType::I32:
    return ncclInt32;
  case DType::I8:
    return ncclInt8;
  case DType::U8:
  case DType::Bool:
    return ncclUint8;
  case DType::I16:
    break;
  }
  throw CommError(std::string("NCCL has no element type for ") + dtypeName(t));
}

ncclRedOp_t ncclOpOf(ReduceOp op) {
  switch (op) {
  case ReduceOp::Sum:
    return ncclSum;
  case ReduceOp::Max:
    return ncclMax;
  case ReduceOp::Min:
    return ncclMin;
  }
  return ncclSum;
}

class NcclCommunicator;

/// A collective enqueued on the communicator's stream: done when its event
/// has completed.
class NcclWork : public Work {
public:
  NcclWork(NcclCommunicator &comm, cudaEvent_t event, std::string what)
      : comm(comm), event(event), what(std::move(what)) {}
  ~NcclWork() override { cudaEventDestroy(event); }
  void wait() override;

private:
  NcclCommunicator &comm;
  cudaEvent_t event;
  std::string what;
};

class NcclCommunicator : public Communicator {
public:
  NcclCommunicator(const CommOptions &options, int device)
      : opts(options), device(device) {
    int devices = 0;
    cudaError_t e = cudaGetDeviceCount(&devices);
    if (e != cudaSuccess || device < 0 || device >= devices)
      throw CommError(describe() + ": no CUDA device " + std::to_string(device) +
                      " (" + (e != cudaSuccess ? cudaMessage(e)
                                               : std::to_string(devices) +
                                                     " devices") +
                      ")");
    check(cudaSetDevice(device), "selecting the device");
    if (opts.serveRendezvous && opts.rank == 0)
      server = std::make_unique<comm::TcpStoreServer>(opts.masterPort);
    comm::TcpStore store(opts.masterAddr, opts.masterPort, "nccl/" + opts.name,
                         opts.timeout);
    ncclUniqueId id;
    if (opts.rank == 0) {
      checkNccl(ncclGetUniqueId(&id), "creating the unique id");
      store.set("id", std::vector<char>(id.internal, id.internal + sizeof id));
    } else {
      std::vector<char> bytes = store.get("id");
      if (bytes.size() != sizeof id)
        throw CommError(describe() + ": rank 0 published a unique id of " +
                        std::to_string(bytes.size()) + " bytes");
      std::memcpy(id.internal, bytes.data(), sizeof id);
    }
    check(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking),
          "creating its stream");
    ncclConfig_t config = NCCL_CONFIG_INITIALIZER;
    config.blocking = 0;
    ncclResult_t r =
        ncclCommInitRankConfig(&nccl, opts.size, id, opts.rank, &config);
    if (r != ncclSuccess && r != ncclInProgress)
      checkNccl(r, "creating the communicator");
    settle("creating the communicator", Clock::now() + opts.timeout);
  }

  ~NcclCommunicator() override {
    if (nccl)
      ncclCommAbort(nccl);
    if (token)
      cudaFree(token);
    if (stream)
      cudaStreamDestroy(stream);
  }

  int rank() const override { return opts.rank; }
  int size() const override { return opts.size; }

  std::unique_ptr<Work> allReduce(const TensorView &data,
                                  ReduceOp op) override {
    sent += 2 * static_cast<int64_t>(data.bytes()) * (opts.size - 1) / opts.size;
    return launch("all_reduce", [&] {
      return ncclAllReduce(data.data, data.data, data.numel(),
                           ncclTypeOf(data.dtype), ncclOpOf(op), nccl, stream);
    });
  }
  std::unique_ptr<Work> reduceScatter(const TensorView &input,
                                      const TensorView &output,
                                      ReduceOp op) override {
    sent += static_cast<int64_t>(output.bytes()) * (opts.size - 1);
    return launch("reduce_scatter", [&] {
      return ncclReduceScatter(input.data, output.data, output.numel(),
                               ncclTypeOf(input.dtype), ncclOpOf(op), nccl,
                               stream);
    });
  }
  std::unique_ptr<Work> allGather(const TensorView &input,
                                  const TensorView &output) override {
    sent += static_cast<int64_t>(input.bytes()) * (opts.size - 1);
    return launch("all_gather", [&] {
      return ncclAllGather(input.data, output.data, input.numel(),
                           ncclTypeOf(input.dtype), nccl, stream);
    });
  }
  std::unique_ptr<Work> broadcast(const TensorView &data, int root) override {
    if (opts.rank == root)
      sent += static_cast<int64_t>(data.bytes()) * (opts.size - 1);
    return launch("broadcast", [&] {
      return ncclBroadcast(data.data, data.data, data.numel(),
                           ncclTypeOf(data.dtype), root, nccl, stream);
    });
  }
  void barrier() override {
    if (!token)
      check(cudaMalloc(&token, sizeof(int32_t)), "allocating its barrier token");
    allReduce(TensorView{token, DType::I32, {1}}, ReduceOp::Sum)->wait();
  }
  int64_t bytesSent() const override { return sent; }

  /// Polls `event` until it completes, NCCL reports an error, or the
  /// timeout passes (the communicator is then aborted: a peer is gone).
  void waitFor(cudaEvent_t event, const std::string &what) {
    Clock::time_point deadline = Clock::now() + opts.timeout;
    while (true) {
      cudaError_t e = cudaEventQuery(event);
      if (e == cudaSuccess)
        return;
      if (e != cudaErrorNotReady)
        fail(what + ": " + cudaMessage(e));
      ncclResult_t state = ncclSuccess;
      ncclCommGetAsyncError(nccl, &state);
      if (state != ncclSuccess && state != ncclInProgress)
        fail(what + ": " + ncclGetErrorString(state));
      if (Clock::now() > deadline)
        fail(what + " did not complete within " +
             std::to_string(opts.timeout.count()) +
             " ms (a peer died or stopped)");
      std::this_thread::sleep_for(std::chrono::microseconds(50));
    }
  }

private:
  std::string describe() const {
    return "NCCL communicator '" + opts.name + "' rank " +
           std::to_string(opts.rank) + " of " + std::to_string(opts.size);
  }
  void check(cudaError_t e, const std::string &what) {
    if (e != cudaSuccess)
      throw CommError(describe() + ": " + what + ": " + cudaMessage(e));
  }
  void checkNccl(ncclResult_t r, const std::string &what) {
    if (r != ncclSuccess)
      throw CommError(describe() + ": " + what + ": " + ncclGetErrorString(r));
  }
  [[noreturn]] void fail(const std::string &what) {
    if (nccl) {
      ncclCommAbort(nccl);
      nccl = nullptr;
    }
    throw CommError(describe() + ": " + what);
  }
  /// Waits out a non-blocking call's "in progress".
  void settle(const std::string &what, Clock::time_point deadline) {
    ncclResult_t state = ncclInProgress;
    while (state == ncclInProgress) {
      ncclCommGetAsyncError(nccl, &state);
      if (state == ncclInProgress && Clock::now() > deadline)
        fail(what + " did not complete within " +
             std::to_string(opts.timeout.count()) + " ms");
      if (state == ncclInProgress)
        std::this_thread::sleep_for(std::chrono::microseconds(50));
    }
    checkNccl(state, what);
  }
  template <typename Call>
  std::unique_ptr<Work> launch(const std::string &what, Call call) {
    if (!nccl)
      throw CommError(describe() + ": " + what + " on a broken communicator");
    ncclResult_t r = call();
    if (r == ncclInProgress)
      settle(what, Clock::now() + opts.timeout);
    else
      checkNccl(r, what);
    cudaEvent_t event;
    check(cudaEventCreateWithFlags(&event, cudaEventDisableTiming),
          "creating an event");
    check(cudaEventRecord(event, stream), "recording an event");
    return std::make_unique<NcclWork>(*this, event, what);
  }

  CommOptions opts;
  int device;
  std::unique_ptr<comm::TcpStoreServer> server;
  ncclComm_t nccl = nullptr;
  cudaStream_t stream = nullptr;
  void *token = nullptr;
  int64_t sent = 0;
};

void NcclWork::wait() { comm.waitFor(event, what); }

} // namespace

std::unique_ptr<Communicator> connectNccl(const CommOptions &options,
                                          int device) {
  return std::make_unique<NcclCommunicator>(options, device);
}

} // namespace accel::rt
