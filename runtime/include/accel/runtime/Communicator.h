//===- Communicator.h - Collectives between the ranks of a job --*- C++ -*-===//
//
// What the runtime needs from a communication library, and no more: the
// collectives the distributed layouts lower to, started asynchronously and
// waited on explicitly, each bounded by a timeout so a dead or stopped peer
// becomes an error naming it instead of a hang. One communicator per grid
// axis (a dp group, a tp group); the Gloo implementation runs over TCP
// (host memory), the NCCL one over NCCL (device memory; built where the
// CUDA toolkit has NCCL).
//
//===----------------------------------------------------------------------===//
#ifndef ACCEL_RUNTIME_COMMUNICATOR_H
#define ACCEL_RUNTIME_COMMUNICATOR_H

#include "accel/runtime/Tensor.h"

#include <chrono>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>

namespace accel::rt {

/// A collective failed: a peer died, stopped answering for the timeout, or
/// the job's ranks disagree. The message names the communicator, this rank
/// and, where known, the peer.
struct CommError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

enum class ReduceOp { Sum, Max, Min };

/// A collective in flight. wait() returns once it has completed on this
/// rank (its output may be read, its input reused) or throws CommError.
class Work {
public:
  virtual ~Work() = default;
  virtual void wait() = 0;
};

class Communicator {
public:
  virtual ~Communicator() = default;

  virtual int rank() const = 0;
  virtual int size() const = 0;

  /// data = the reduction of every rank's data (same shape and type on
  /// every rank), in place. The order of the reduction is fixed by the
  /// ranks, not by timing: reruns are bitwise identical.
  virtual std::unique_ptr<Work> allReduce(const TensorView &data,
                                          ReduceOp op) = 0;
  /// input holds size() equal blocks along its first dim; output (one
  /// block) = the reduction over ranks of block rank() of input.
  virtual std::unique_ptr<Work> reduceScatter(const TensorView &input,
                                              const TensorView &output,
                                              ReduceOp op) = 0;
  /// output = every rank's input, concatenated in rank order along the
  /// first dim.
  virtual std::unique_ptr<Work> allGather(const TensorView &input,
                                          const TensorView &output) = 0;
  /// data on every rank = data on `root`.
  virtual std::unique_ptr<Work> broadcast(const TensorView &data,
                                          int root) = 0;
  /// Returns once every rank has called it.
  virtual void barrier() = 0;

  /// Payload bytes this rank has sent so far (what the communication
  /// volume of a layout is checked against).
  virtual int64_t bytesSent() const = 0;
};

struct CommOptions {
  int rank = 0;
  int size = 1;
  /// Where rank 0 serves the rendezvous, and on which port.
  std::string masterAddr = "127.0.0.1";
  int masterPort = 29500;
  /// Separates communicators of one job that share the rendezvous (one per
  /// grid axis): every member of a group uses the same name.
  std::string name = "world";
  /// The bound on connecting and on every collective.
  std::chrono::milliseconds timeout{60000};
  /// Whether rank 0 of this group serves the rendezvous. A job's world
  /// group does; its sub-groups (one per grid axis) meet through the
  /// world's server instead, which lives as long as the world group.
  bool serveRendezvous = true;
};

/// Checks that every rank of `comm` holds the same `value` (a fingerprint
/// of what it is about to run); throws CommError naming the ranks that
/// differ from rank 0 and `what` differs.
void requireSameOnAllRanks(Communicator &comm, uint64_t value,
                           const std::string &what);

/// Connects rank `options.rank` of `options.size` over TCP with Gloo:
/// rendezvous through a key-value store that rank 0 serves at masterAddr:
/// masterPort, then a full mesh of Gloo pairs. Throws CommError naming the
/// ranks that did not arrive within the timeout. Ignores SIGPIPE (if it
/// has its default action) so that a dead peer is an error, not a signal.
std::unique_ptr<Communicator> connectGloo(const CommOptions &options);

#if ACCEL_HAVE_NCCL
/// Connects rank `options.rank` of `options.size` with NCCL on CUDA device
/// `device`: the same rendezvous (rank 0 hands out NCCL's unique id through
/// it), then a non-blocking NCCL communicator whose collectives run on its
/// own stream; tensors are device memory. Every wait is bounded by the
/// timeout (the communicator is aborted and CommError thrown). Throws
/// CommError naming the device when there is no such CUDA device.
std::unique_ptr<Communicator> connectNccl(const CommOptions &options,
                                          int device);
#endif

} // namespace accel::rt

#endif // ACCEL_RUNTIME_COMMUNICATOR_H
