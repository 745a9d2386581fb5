//===- TcpStore.cpp - The rendezvous store, served by rank 0 -------------===//
//
// Frames: op (1 byte), key length (u32), key, value length (u32), value.
// 'S' sets a key (reply: 1 byte); 'G' reads one (reply: length and value,
// length 0xffffffff while the key is unset). Clients poll for keys not yet
// set, so the server never blocks on behalf of a client.
//
//===----------------------------------------------------------------------===//
#include "comm/TcpStore.h"

#include "accel/runtime/Communicator.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace accel::rt::comm {
namespace {

constexpr uint32_t kUnset = 0xffffffffu;

/// Moves all n bytes (a socket may take or give fewer per call); false on
/// a closed connection, an error or a timeout.
template <typename Transfer> bool transferAll(char *p, size_t n, Transfer call) {
  while (n > 0) {
    ssize_t k = call(p, n);
    if (k < 0 && errno == EINTR)
      continue;
    if (k <= 0)
      return false;
    p += k, n -= static_cast<size_t>(k);
  }
  return true;
}

bool sendAll(int fd, const void *data, size_t n) {
  return transferAll(const_cast<char *>(static_cast<const char *>(data)), n,
                     [fd](char *p, size_t m) { return ::send(fd, p, m, MSG_NOSIGNAL); });
}

bool recvAll(int fd, void *data, size_t n) {
  return transferAll(static_cast<char *>(data), n,
                     [fd](char *p, size_t m) { return ::recv(fd, p, m, 0); });
}

bool sendBlock(int fd, const char *data, uint32_t n) {
  return sendAll(fd, &n, sizeof n) && (n == 0 || sendAll(fd, data, n));
}

bool recvBlock(int fd, std::vector<char> &out) {
  uint32_t n;
  if (!recvAll(fd, &n, sizeof n) || n > (1u << 30))
    return false;
  out.resize(n);
  return n == 0 || recvAll(fd, out.data(), n);
}

} // namespace

TcpStoreServer::TcpStoreServer(int port) {
  listenFd = ::socket(AF_INET, SOCK_STREAM, 0);
  int one = 1;
  ::setsockopt(listenFd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_ANY);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  if (listenFd < 0 ||
      ::bind(listenFd, reinterpret_cast<sockaddr *>(&addr), sizeof addr) != 0 ||
      ::listen(listenFd, 128) != 0) {
    std::string why = std::strerror(errno);
    if (listenFd >= 0)
      ::close(listenFd);
    throw CommError("rank 0 cannot serve the rendezvous on port " +
                    std::to_string(port) + ": " + why);
  }
  acceptor = std::thread([this] { serve(); });
}

TcpStoreServer::~TcpStoreServer() {
  stopping = true;
  ::shutdown(listenFd, SHUT_RDWR);
  ::close(listenFd);
  acceptor.join();
  for (std::thread &t : clients)
    t.join();
}

void TcpStoreServer::serve() {
  std::vector<int> fds;
  while (!stopping) {
    int fd = ::accept(listenFd, nullptr, nullptr);
    if (fd < 0) {
      if (errno == EINTR)
        continue;
      break; // shut down
    }
    fds.push_back(fd);
    clients.emplace_back([this, fd] { handle(fd); });
  }
  // Wake the client threads blocked in recv; each closes its socket.
  for (int fd : fds)
    ::shutdown(fd, SHUT_RDWR);
}

void TcpStoreServer::handle(int fd) {
  for (;;) {
    char op;
    std::vector<char> key, value;
    if (!recvAll(fd, &op, 1) || !recvBlock(fd, key))
      break;
    std::string name(key.begin(), key.end());
    if (op == 'S') {
      if (!recvBlock(fd, value))
        break;
      {
        std::lock_guard<std::mutex> lock(mutex);
        values[name] = std::move(value);
      }
      char ok = 1;
      if (!sendAll(fd, &ok, 1))
        break;
    } else if (op == 'G') {
      std::vector<char> found;
      bool present;
      {
        std::lock_guard<std::mutex> lock(mutex);
        auto it = values.find(name);
        present = it != values.end();
        if (present)
          found = it->second;
      }
      bool sent = present ? sendBlock(fd, found.data(),
                                      static_cast<uint32_t>(found.size()))
                          : sendAll(fd, &kUnset, sizeof kUnset);
      if (!sent)
        break;
    } else {
      break; // not one of ours
    }
  }
  ::close(fd);
}

TcpStore::TcpStore(const std::string &host, int port, const std::string &prefix,
                   std::chrono::milliseconds timeout)
    : where(host + ":" + std::to_string(port)), prefix(prefix + "/"),
      timeout(timeout) {
  addrinfo hints{}, *found = nullptr;
  hints.ai_family = AF_INET;
  hints.ai_socktype = SOCK_STREAM;
  if (int rc = ::getaddrinfo(host.c_str(), std::to_string(port).c_str(),
                             &hints, &found))
    throw CommError("cannot resolve the rendezvous address " + where + ": " +
                    gai_strerror(rc));
  auto deadline = std::chrono::steady_clock::now() + timeout;
  std::string last = "no answer";
  while (fd < 0) {
    int s = ::socket(AF_INET, SOCK_STREAM, 0);
    if (s >= 0 && ::connect(s, found->ai_addr, found->ai_addrlen) == 0) {
      fd = s;
      break;
    }
    last = std::strerror(errno);
    if (s >= 0)
      ::close(s);
    if (std::chrono::steady_clock::now() > deadline) {
      ::freeaddrinfo(found);
      throw CommError("no rendezvous at " + where + " within " +
                      std::to_string(timeout.count() / 1000.0).substr(0, 5) +
                      " s (" + last + "): is rank 0 running?");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ::freeaddrinfo(found);
  // A server that stops answering must not hang this rank.
  timeval tv{static_cast<time_t>(timeout.count() / 1000),
             static_cast<suseconds_t>(timeout.count() % 1000 * 1000)};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

TcpStore::~TcpStore() {
  if (fd >= 0)
    ::close(fd);
}

std::optional<std::vector<char>>
TcpStore::request(char op, const std::string &name,
                  const std::vector<char> &value) {
  std::lock_guard<std::mutex> lock(mutex);
  std::string key = prefix + name;
  bool ok = sendAll(fd, &op, 1) &&
            sendBlock(fd, key.data(), static_cast<uint32_t>(key.size()));
  if (ok && op == 'S')
    ok = sendBlock(fd, value.data(), static_cast<uint32_t>(value.size()));
  std::vector<char> reply;
  if (ok && op == 'S') {
    char ack;
    ok = recvAll(fd, &ack, 1);
  } else if (ok) {
    uint32_t n;
    ok = recvAll(fd, &n, sizeof n);
    if (ok && n == kUnset)
      return std::nullopt;
    reply.resize(ok ? n : 0);
    ok = ok && (n == 0 || recvAll(fd, reply.data(), n));
  }
  if (!ok)
    throw CommError("the rendezvous at " + where + " stopped answering");
  return reply;
}

void TcpStore::set(const std::string &key, const std::vector<char> &data) {
  request('S', key, data);
}

bool TcpStore::check(const std::vector<std::string> &keys) {
  for (const std::string &key : keys)
    if (!request('G', key, {}))
      return false;
  return true;
}

std::vector<char> TcpStore::poll(const std::string &key,
                                 std::chrono::milliseconds limit) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  for (;;) {
    if (std::optional<std::vector<char>> value = request('G', key, {}))
      return *value;
    if (std::chrono::steady_clock::now() > deadline)
      throw CommError("rendezvous at " + where + ": '" + key +
                      "' was not published within the timeout (that "
                      "rank did not start or died)");
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

std::vector<char> TcpStore::get(const std::string &key) {
  return poll(key, timeout);
}

void TcpStore::wait(const std::vector<std::string> &keys) {
  wait(keys, timeout);
}

void TcpStore::wait(const std::vector<std::string> &keys,
                    const std::chrono::milliseconds &limit) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  for (const std::string &key : keys)
    poll(key, std::chrono::duration_cast<std::chrono::milliseconds>(
                  deadline - std::chrono::steady_clock::now()));
}

} // namespace accel::rt::comm
