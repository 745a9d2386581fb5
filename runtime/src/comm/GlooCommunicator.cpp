//===- GlooCommunicator.cpp - Collectives over Gloo's TCP transport -------===//
//
// Rendezvous through TcpStore, then Gloo's full mesh of TCP pairs. The ring
// reduce-scatter and all-gather are written here on Gloo's unbound buffers
// (Debian's Gloo has neither in its options API); all-reduce is the two in
// sequence, the ring all-reduce, so every collective's reduction order is
// fixed by rank (bitwise-reproducible reruns) and every byte sent is
// counted. Collectives run in submission order on one worker thread per
// communicator; Work handles wait for them. The first failure breaks the
// communicator: later collectives fail at once with the same message.
//
//===----------------------------------------------------------------------===//
#include "accel/runtime/Communicator.h"

#include "comm/TcpStore.h"

#include <gloo/barrier.h>
#include <gloo/broadcast.h>
#include <gloo/common/error.h>
#include <gloo/rendezvous/context.h>
#include <gloo/transport/tcp/device.h>

#include <arpa/inet.h>
#include <csignal>
#include <netdb.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>

namespace accel::rt {
namespace {

/// The address this machine uses to reach the master: what peers must
/// connect to (the hostname may resolve to a loopback address on another
/// node, or to the wrong interface).
std::string localAddressTowards(const std::string &host, int port) {
  addrinfo hints{}, *found = nullptr;
  hints.ai_family = AF_INET;
  hints.ai_socktype = SOCK_DGRAM;
  if (::getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints,
                    &found) != 0)
    throw CommError("cannot resolve the master address " + host);
  int s = ::socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in local{};
  socklen_t len = sizeof local;
  bool ok = s >= 0 && ::connect(s, found->ai_addr, found->ai_addrlen) == 0 &&
            ::getsockname(s, reinterpret_cast<sockaddr *>(&local), &len) == 0;
  ::freeaddrinfo(found);
  if (s >= 0)
    ::close(s);
  if (!ok)
    throw CommError("no route to the master address " + host);
  char text[INET_ADDRSTRLEN];
  ::inet_ntop(AF_INET, &local.sin_addr, text, sizeof text);
  return text;
}

template <typename T> void reduceInto(T *acc, const T *in, size_t n, ReduceOp op) {
  switch (op) {
  case ReduceOp::Sum:
    for (size_t i = 0; i < n; ++i)
      acc[i] += in[i];
    break;
  case ReduceOp::Max:
    for (size_t i = 0; i < n; ++i)
      acc[i] = std::max(acc[i], in[i]);
    break;
  case ReduceOp::Min:
    for (size_t i = 0; i < n; ++i)
      acc[i] = std::min(acc[i], in[i]);
    break;
  }
}

void reduceBytes(DType t, void *acc, const void *in, size_t elems, ReduceOp op) {
  switch (t) {
  case DType::F32:
    return reduceInto(static_cast<float *>(acc), static_cast<const float *>(in), elems, op);
  case DType::F64:
    return reduceInto(static_cast<double *>(acc), static_cast<const double *>(in), elems, op);
  case DType::I64:
    return reduceInto(static_cast<int64_t *>(acc), static_cast<const int64_t *>(in), elems, op);
  case DType::I32:
    return reduceInto(static_cast<int32_t *>(acc), static_cast<const int32_t *>(in), elems, op);
  default:
    throw CommError(std::string("cannot reduce ") + dtypeName(t) + " tensors");
  }
}

struct WorkState {
  std::mutex mutex;
  std::condition_variable cv;
  bool done = false;
  std::exception_ptr error;
};

class GlooWork : public Work {
public:
  GlooWork(std::shared_ptr<WorkState> state, std::chrono::milliseconds limit)
      : state(std::move(state)), limit(limit) {}
  void wait() override {
    std::unique_lock<std::mutex> lock(state->mutex);
    // Gloo bounds each transfer by the timeout; this bounds the whole
    // collective too, in case a peer trickles data slower than it.
    if (!state->cv.wait_for(lock, limit, [&] { return state->done; }))
      throw CommError("a collective did not complete within " +
                      std::to_string(limit.count() / 1000) + " s");
    if (state->error)
      std::rethrow_exception(state->error);
  }

private:
  std::shared_ptr<WorkState> state;
  std::chrono::milliseconds limit;
};

class GlooCommunicator : public Communicator {
public:
  explicit GlooCommunicator(const CommOptions &o) : opts(o) {
    if (o.size < 1 || o.rank < 0 || o.rank >= o.size)
      throw CommError("rank " + std::to_string(o.rank) + " is not in a group of " +
                      std::to_string(o.size));
    std::string me = describe();
    // Gloo writes to peers with writev, which raises SIGPIPE when a peer
    // has died; that must be an error this rank reports, not its death.
    struct sigaction current{};
    if (::sigaction(SIGPIPE, nullptr, &current) == 0 &&
        current.sa_handler == SIG_DFL)
      ::signal(SIGPIPE, SIG_IGN);
    if (o.rank == 0 && o.serveRendezvous)
      server = std::make_unique<comm::TcpStoreServer>(o.masterPort);
    store = std::make_unique<comm::TcpStore>(o.masterAddr, o.masterPort,
                                             o.name, o.timeout);
    gloo::transport::tcp::attr attr;
    attr.hostname = localAddressTowards(o.masterAddr, o.masterPort);
    auto device = gloo::transport::tcp::CreateDevice(attr);
    context = std::make_shared<gloo::rendezvous::Context>(o.rank, o.size);
    context->setTimeout(o.timeout);
    try {
      context->connectFullMesh(*store, device);
      // Past this barrier no rank reads the store any more, so rank 0's
      // server may go when rank 0 does.
      gloo::BarrierOptions barrier(context);
      barrier.setTimeout(o.timeout);
      gloo::barrier(barrier);
    } catch (const std::exception &e) {
      std::string missing;
      for (int r = 0; r < o.size; ++r) {
        bool arrived = false;
        try {
          arrived = store->check({std::to_string(r)});
        } catch (const std::exception &) {
        }
        if (!arrived)
          missing += (missing.empty() ? "" : ", ") + std::to_string(r);
      }
      throw CommError(me + ": could not connect within " +
                      std::to_string(o.timeout.count() / 1000.0).substr(0, 5) +
                      " s" +
                      (missing.empty() ? "" : " (rank " + missing +
                                                  " never arrived)") +
                      ": " + e.what());
    }
    worker = std::thread([this] { run(); });
  }

  ~GlooCommunicator() override {
    {
      std::lock_guard<std::mutex> lock(mutex);
      stopping = true;
    }
    cv.notify_all();
    worker.join();
  }

  int rank() const override { return opts.rank; }
  int size() const override { return opts.size; }
  int64_t bytesSent() const override { return sent.load(); }

  std::unique_ptr<Work> allReduce(const TensorView &data, ReduceOp op) override {
    return submit("all-reduce", [this, data, op] { ringAllReduce(data, op); });
  }

  std::unique_ptr<Work> reduceScatter(const TensorView &input,
                                      const TensorView &output,
                                      ReduceOp op) override {
    checkBlocks("reduce-scatter", input, output);
    return submit("reduce-scatter", [this, input, output, op] {
      std::vector<char> work(input.bytes());
      std::memcpy(work.data(), input.data, input.bytes());
      size_t block = output.bytes();
      ringReduceScatter(work.data(), block, input.dtype, op);
      std::memcpy(output.data, work.data() + block * opts.rank, block);
    });
  }

  std::unique_ptr<Work> allGather(const TensorView &input,
                                  const TensorView &output) override {
    checkBlocks("all-gather", output, input);
    return submit("all-gather", [this, input, output] {
      size_t block = input.bytes();
      std::memcpy(static_cast<char *>(output.data) + block * opts.rank,
                  input.data, block);
      ringAllGather(static_cast<char *>(output.data), block);
    });
  }

  std::unique_ptr<Work> broadcast(const TensorView &data, int root) override {
    if (root < 0 || root >= opts.size)
      throw CommError(describe() + ": broadcast from rank " +
                      std::to_string(root) + ", which is not in the group");
    return submit("broadcast", [this, data, root] {
      gloo::BroadcastOptions b(context);
      b.setOutput(static_cast<char *>(data.data), data.bytes());
      b.setRoot(root);
      b.setTag(nextTag++);
      b.setTimeout(opts.timeout);
      gloo::broadcast(b);
      if (opts.rank == root)
        sent += static_cast<int64_t>(data.bytes()) * (opts.size - 1);
    });
  }

  void barrier() override {
    submit("barrier", [this] {
      gloo::BarrierOptions b(context);
      b.setTag(nextTag++);
      b.setTimeout(opts.timeout);
      gloo::barrier(b);
    })->wait();
  }

private:
  std::string describe() const {
    return "rank " + std::to_string(opts.rank) + " of " +
           std::to_string(opts.size) + " ('" + opts.name + "')";
  }

  void checkBlocks(const char *what, const TensorView &whole,
                   const TensorView &block) const {
    if (whole.dtype != block.dtype ||
        whole.bytes() != block.bytes() * static_cast<size_t>(opts.size))
      throw CommError(describe() + ": " + what + " of " +
                      shapeToString(whole.shape) + " " + dtypeName(whole.dtype) +
                      " into blocks of " + shapeToString(block.shape) + " " +
                      dtypeName(block.dtype) + " across " +
                      std::to_string(opts.size) + " ranks");
  }

  std::unique_ptr<Work> submit(const char *what, std::function<void()> body) {
    auto state = std::make_shared<WorkState>();
    {
      std::lock_guard<std::mutex> lock(mutex);
      queue.push_back([this, what, body = std::move(body), state] {
        try {
          if (!broken.empty())
            throw CommError(broken);
          body();
        } catch (const std::exception &e) {
          if (broken.empty())
            broken = describe() + ": " + what + " failed: " + e.what() +
                     " (a peer died, stopped, or did not answer within " +
                     std::to_string(opts.timeout.count() / 1000) + " s)";
          state->error = std::make_exception_ptr(CommError(broken));
        }
        {
          std::lock_guard<std::mutex> lock(state->mutex);
          state->done = true;
        }
        state->cv.notify_all();
      });
    }
    cv.notify_one();
    return std::make_unique<GlooWork>(state, 2 * opts.timeout +
                                                 std::chrono::seconds(5));
  }

  void run() {
    for (;;) {
      std::function<void()> task;
      {
        std::unique_lock<std::mutex> lock(mutex);
        cv.wait(lock, [&] { return stopping || !queue.empty(); });
        if (queue.empty())
          return;
        task = std::move(queue.front());
        queue.pop_front();
      }
      task();
    }
  }

  /// One ring step: send [sendOff, +n) of `send` to the right neighbour,
  /// receive n bytes from the left one into `recv` at recvOff.
  void exchange(gloo::transport::UnboundBuffer &send, size_t sendOff,
                gloo::transport::UnboundBuffer &recv, size_t recvOff,
                size_t n, uint64_t slot) {
    int right = (opts.rank + 1) % opts.size;
    int left = (opts.rank + opts.size - 1) % opts.size;
    send.send(right, slot, sendOff, n);
    recv.recv(left, slot, recvOff, n);
    // Name the peer this rank waited on: with a ring, the one to blame or
    // the next in line to it.
    auto await = [&](bool receiving) {
      int peer = receiving ? left : right;
      try {
        bool ok = receiving ? recv.waitRecv(opts.timeout)
                            : send.waitSend(opts.timeout);
        if (!ok)
          throw CommError("transfer aborted");
      } catch (const std::exception &e) {
        throw CommError(std::string(receiving ? "receiving from" : "sending to") +
                        " rank " + std::to_string(peer) + ": " + e.what());
      }
    };
    await(true);
    await(false);
    sent += static_cast<int64_t>(n);
  }

  /// `work` holds size() blocks of `block` bytes; afterwards block rank()
  /// is reduced over all ranks (in ring order starting after its owner).
  void ringReduceScatter(char *work, size_t block, DType type, ReduceOp op) {
    int p = opts.size;
    if (p == 1 || block == 0)
      return;
    size_t elems = block / dtypeSize(type);
    std::vector<char> incoming(block);
    auto all = context->createUnboundBuffer(work, block * p);
    auto in = context->createUnboundBuffer(incoming.data(), block);
    uint64_t slot = nextSlot();
    for (int s = 0; s < p - 1; ++s) {
      // Send the partial sum of block r-s-1, receive block r-s-2's.
      int out = ((opts.rank - s - 1) % p + p) % p;
      int got = ((opts.rank - s - 2) % p + p) % p;
      exchange(*all, block * out, *in, 0, block, slot);
      reduceBytes(type, work + block * got, incoming.data(), elems, op);
    }
  }

  /// `data` holds size() blocks; block rank() is this rank's; afterwards
  /// every block is its owner's.
  void ringAllGather(char *data, size_t block) {
    int p = opts.size;
    if (p == 1 || block == 0)
      return;
    auto all = context->createUnboundBuffer(data, block * p);
    uint64_t slot = nextSlot();
    for (int s = 0; s < p - 1; ++s) {
      int out = ((opts.rank - s) % p + p) % p;
      int got = ((opts.rank - s - 1) % p + p) % p;
      exchange(*all, block * out, *all, block * got, block, slot);
    }
  }

  /// Reduce-scatter then all-gather, in place when the group size divides
  /// the tensor, else on a copy padded to a multiple of it.
  void ringAllReduce(const TensorView &data, ReduceOp op) {
    int p = opts.size;
    size_t esize = dtypeSize(data.dtype), elems = data.bytes() / esize;
    size_t blockElems = (elems + p - 1) / p, block = blockElems * esize;
    if (p == 1 || elems == 0)
      return;
    char *buffer = static_cast<char *>(data.data);
    std::vector<char> padded;
    if (elems % p) {
      padded.assign(block * p, 0);
      std::memcpy(padded.data(), data.data, data.bytes());
      buffer = padded.data();
    }
    ringReduceScatter(buffer, block, data.dtype, op);
    ringAllGather(buffer, block);
    if (!padded.empty())
      std::memcpy(data.data, padded.data(), data.bytes());
  }

  /// Slots of our ring transfers, apart from those Gloo's own collectives
  /// build from their tags (prefixes 0x01...).
  uint64_t nextSlot() { return (uint64_t(0xac) << 56) | nextTag++; }

  CommOptions opts;
  std::unique_ptr<comm::TcpStoreServer> server;
  std::unique_ptr<comm::TcpStore> store;
  std::shared_ptr<gloo::rendezvous::Context> context;
  std::atomic<int64_t> sent{0};
  uint32_t nextTag = 1; // worker thread only
  std::string broken;   // worker thread only

  std::mutex mutex;
  std::condition_variable cv;
  std::deque<std::function<void()>> queue;
  bool stopping = false;
  std::thread worker;
};

} // namespace

std::unique_ptr<Communicator> connectGloo(const CommOptions &options) {
  return std::make_unique<GlooCommunicator>(options);
}

} // namespace accel::rt
