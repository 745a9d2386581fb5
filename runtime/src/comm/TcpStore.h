//===- TcpStore.h - The rendezvous store, served by rank 0 ------*- C++ -*-===//
//
// Gloo finds its peers through a key-value store (each rank publishes its
// address under its rank). Debian's Gloo has file and Redis stores but no
// TCP one, so this is the smallest that serves "rendezvous by address and
// port": rank 0 runs a server thread, every rank (0 included) is a client.
// Keys are written once; get() waits for a key. Every wait is bounded.
//
//===----------------------------------------------------------------------===//
#ifndef ACCEL_RUNTIME_COMM_TCPSTORE_H
#define ACCEL_RUNTIME_COMM_TCPSTORE_H

#include <gloo/rendezvous/store.h>

#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace accel::rt::comm {

/// The server: accepts clients and answers set/get on its own thread.
class TcpStoreServer {
public:
  /// Listens on `port` of every interface; throws CommError if it cannot.
  explicit TcpStoreServer(int port);
  ~TcpStoreServer();

private:
  void serve();
  void handle(int fd);

  int listenFd = -1;
  std::atomic<bool> stopping{false};
  std::thread acceptor;
  std::vector<std::thread> clients;
  std::mutex mutex;
  std::map<std::string, std::vector<char>> values;
};

/// A client connection; retries connecting until the deadline (rank 0 may
/// start its server after the others start). Keys live under `prefix/`, so
/// communicators sharing a server do not see each other's; every wait is
/// bounded by `timeout` (Gloo's PrefixStore would use its own 30 s).
class TcpStore : public gloo::rendezvous::Store {
public:
  TcpStore(const std::string &host, int port, const std::string &prefix,
           std::chrono::milliseconds timeout);
  ~TcpStore() override;

  void set(const std::string &key, const std::vector<char> &data) override;
  std::vector<char> get(const std::string &key) override;
  void wait(const std::vector<std::string> &keys) override;
  void wait(const std::vector<std::string> &keys,
            const std::chrono::milliseconds &timeout) override;
  /// Whether every key is set, without waiting.
  bool check(const std::vector<std::string> &keys);

private:
  /// One round trip; for 'G', no value while the key is unset.
  std::optional<std::vector<char>> request(char op, const std::string &key,
                                           const std::vector<char> &value);
  /// The key's value once it is set; CommError after `limit`.
  std::vector<char> poll(const std::string &key, std::chrono::milliseconds limit);

  int fd = -1;
  std::string where, prefix;
  std::chrono::milliseconds timeout;
  std::mutex mutex;
};

} // namespace accel::rt::comm

#endif // ACCEL_RUNTIME_COMM_TCPSTORE_H
