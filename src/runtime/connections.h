// GuardedServer: the HTTP server of the workspace runtime with the connection handling that a
// hostile network needs and cpp-httplib does not have: a deadline for the request line and
// headers, one for the rest of the request (body and answer), one for an idle keep-alive
// connection; a body limit set per route once the headers are known; and a worker pool that keeps
// room for new requests (health, quiesce, resume) by closing the connection that has been slowest
// to send its headers (or idle longest) when every worker is taken.
//
// Each connection is served by one worker thread, which owns the connection's stream. The static
// functions act on the connection of the calling thread (the one a handler runs on); outside a
// handler they do nothing.
//
// Thread-safe: CloseAll may be called from any thread.
#pragma once

#include <httplib.h>

#include <chrono>
#include <cstdint>
#include <memory>

namespace mlvault::runtime {

struct ConnectionLimits {
  int workers = 32;
  // From accepting a connection (or the first byte of a later request on it) to the end of the
  // headers.
  std::chrono::milliseconds header_timeout{10'000};
  // Waiting for the next request on a kept-alive connection.
  std::chrono::milliseconds idle_timeout{5'000};
  // From the end of the headers until the answer is written.
  std::chrono::milliseconds request_timeout{600'000};
  // Workers in their header or idle phase for less than this are not closed to make room.
  std::chrono::milliseconds evict_min_age{100};
  size_t keep_alive_max = 100;
};

class GuardedServer : public httplib::Server {
 public:
  explicit GuardedServer(ConnectionLimits limits);
  ~GuardedServer() override;

  // The headers of the calling thread's request are read: the request deadline starts, and at
  // most `max_body_bytes` more bytes are read from the connection for this request (a chunked
  // body beyond that fails to read; see BodyLimitHit).
  static void HeadersDone(uint64_t max_body_bytes);
  // Reads and drops `bytes` of the request body (to answer a refused body to a client that is
  // still sending it). False if the connection ended or the deadline passed first.
  static bool DrainBody(uint64_t bytes);
  // The connection is closed once the answer is written (its unread body is never read).
  static void CloseAfterResponse();
  // True if the current request's body went beyond the limit given to HeadersDone.
  static bool BodyLimitHit();

  // Shuts down every open connection (their workers then end at once). For Stop().
  void CloseAll();
  // Connections closed to make room for others, since the start.
  uint64_t evicted() const;

 private:
  class Conn;
  class Registry;
  class Queue;
  bool process_and_close_socket(socket_t sock) override;

  const ConnectionLimits limits_;
  std::shared_ptr<Registry> registry_;
};

}  // namespace mlvault::runtime
