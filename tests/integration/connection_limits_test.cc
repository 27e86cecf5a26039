// Connection lifetimes and caps on both transports, against the real
// server: a client that connects and never speaks, an idle gRPC connection,
// an idle kept-alive HTTP connection and one that has carried its quota of
// requests are all closed by the server (server/connection_limits.h)
// instead of being held for as long as the client likes, and HTTP
// connections beyond the cap are not accepted until one closes.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "proto/attnr/v1/retriever.grpc.pb.h"
#include "tests/integration/test_server.h"

namespace attnr {
namespace {

using ::testing::HasSubstr;

// A plain TCP connection to 127.0.0.1:`port` from loopback address
// `source` (host order; 0: the kernel's choice); -1 on failure.
int Connect(int port, uint32_t source = 0) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (source != 0) {
    sockaddr_in from{};
    from.sin_family = AF_INET;
    from.sin_addr.s_addr = htonl(source);
    if (bind(fd, reinterpret_cast<sockaddr*>(&from), sizeof(from)) != 0) {
      close(fd);
      return -1;
    }
  }
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

// Reads until the peer closes the connection or `wait` passes; returns what
// was read and whether the server closed it.
struct ReadResult {
  std::string bytes;
  bool closed = false;
};
ReadResult ReadUntilClosed(int fd, absl::Duration wait) {
  ReadResult result;
  const absl::Time end = absl::Now() + wait;
  while (absl::Now() < end) {
    pollfd p{fd, POLLIN, 0};
    const int left =
        static_cast<int>(absl::ToInt64Milliseconds(end - absl::Now()) + 1);
    if (poll(&p, 1, left) <= 0) continue;
    char buffer[4096];
    const ssize_t n = read(fd, buffer, sizeof(buffer));
    if (n <= 0) {  // EOF, or reset by the server.
      result.closed = true;
      return result;
    }
    result.bytes.append(buffer, static_cast<size_t>(n));
  }
  return result;
}

void Send(int fd, const std::string& bytes) {
  ASSERT_EQ(send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL),
            static_cast<ssize_t>(bytes.size()));
}

constexpr char kHealth[] = "GET /health HTTP/1.1\r\nHost: localhost\r\n\r\n";

TEST(ConnectionLimitsTest, GrpcDropsAClientThatNeverHandshakes) {
  ServerProcess server;
  ASSERT_TRUE(server.Start(absl::StrCat(
      kSmallLimitsConfig, "transport { handshake_timeout_ms: 1000 }\n")))
      << server.error();
  const int silent = Connect(server.port());
  ASSERT_GE(silent, 0);
  const ReadResult r = ReadUntilClosed(silent, absl::Seconds(15));
  close(silent);
  EXPECT_TRUE(r.closed) << "a connection that never sent the HTTP/2 preface "
                           "was still open after 15 s";
}

TEST(ConnectionLimitsTest, DefaultHandshakeTimeoutDoesNotDropAtOnce) {
  // The control for the test above: with the default (10 s) a connection is
  // not closed within the first 2 s, so the closing above is the setting's.
  ServerProcess server;
  ASSERT_TRUE(server.Start(kSmallLimitsConfig)) << server.error();
  const int silent = Connect(server.port());
  ASSERT_GE(silent, 0);
  const ReadResult r = ReadUntilClosed(silent, absl::Seconds(2));
  close(silent);
  EXPECT_FALSE(r.closed);
}

TEST(ConnectionLimitsTest, GrpcClosesAnIdleConnection) {
  ServerProcess server;
  ASSERT_TRUE(server.Start(absl::StrCat(
      kSmallLimitsConfig, "transport { max_connection_idle_ms: 1000 }\n")))
      << server.error();
  auto channel =
      grpc::CreateChannel(server.target(), grpc::InsecureChannelCredentials());
  auto stub = attnr::v1::Retriever::NewStub(channel);
  grpc::ClientContext context;
  attnr::v1::GetModelInfoRequest request;
  attnr::v1::ModelInfo info;
  ASSERT_TRUE(stub->GetModelInfo(&context, request, &info).ok());
  ASSERT_EQ(channel->GetState(false), GRPC_CHANNEL_READY);
  // The server's GOAWAY after 1 s without a call takes the channel out of
  // READY (to IDLE: it reconnects on the next call).
  const absl::Time end = absl::Now() + absl::Seconds(15);
  while (channel->GetState(false) == GRPC_CHANNEL_READY && absl::Now() < end) {
    channel->WaitForStateChange(
        GRPC_CHANNEL_READY,
        std::chrono::system_clock::now() + std::chrono::milliseconds(500));
  }
  EXPECT_NE(channel->GetState(false), GRPC_CHANNEL_READY);
  // ...and the next call simply reconnects.
  grpc::ClientContext again;
  EXPECT_TRUE(stub->GetModelInfo(&again, request, &info).ok());
}

TEST(ConnectionLimitsTest, HttpClosesAnIdleKeptAliveConnection) {
  ServerProcess server;
  server.EnableHttp();
  ASSERT_TRUE(server.Start(absl::StrCat(
      kSmallLimitsConfig, "transport { http_idle_timeout_seconds: 1 }\n")))
      << server.error();
  const int fd = Connect(server.http_port());
  ASSERT_GE(fd, 0);
  Send(fd, kHealth);
  const ReadResult r = ReadUntilClosed(fd, absl::Seconds(15));
  close(fd);
  EXPECT_THAT(r.bytes, HasSubstr("200 OK"));
  EXPECT_TRUE(r.closed) << "an idle kept-alive connection was still open "
                           "after 15 s";
}

TEST(ConnectionLimitsTest, HttpDropsAClientThatNeverSends) {
  ServerProcess server;
  server.EnableHttp();
  ASSERT_TRUE(server.Start(absl::StrCat(
      kSmallLimitsConfig, "transport { http_idle_timeout_seconds: 1 }\n")))
      << server.error();
  const int silent = Connect(server.http_port());
  ASSERT_GE(silent, 0);
  const ReadResult r = ReadUntilClosed(silent, absl::Seconds(15));
  close(silent);
  EXPECT_TRUE(r.closed);
  EXPECT_EQ(r.bytes, "");
}

// Past the cap the connections that have waited longest without a request
// being worked on make room, so a new client (a health probe) is served
// however many silent connections are held.
TEST(ConnectionLimitsTest, HttpMakesRoomPastTheCapForNewClients) {
  ServerProcess server;
  server.EnableHttp();
  ASSERT_TRUE(server.Start(absl::StrCat(
      kSmallLimitsConfig, "transport { max_http_connections: 4 }\n")))
      << server.error();
  // Twelve silent connections: the cap and its reserve (max(8, 4/16)).
  // The idle timeout (10 s) would close them much later.
  std::vector<int> held;
  for (int i = 0; i < 12; ++i) {
    held.push_back(Connect(server.http_port()));
    ASSERT_GE(held.back(), 0);
    absl::SleepFor(absl::Milliseconds(20));  // In order of age.
  }
  absl::SleepFor(absl::Milliseconds(500));  // Accepted and swept.
  // The eight oldest were closed to bring them back to the cap...
  for (int i = 0; i < 8; ++i) {
    EXPECT_TRUE(ReadUntilClosed(held[i], absl::Milliseconds(500)).closed)
        << "connection " << i;
  }
  // ...the four youngest are still served...
  Send(held[11], kHealth);
  EXPECT_THAT(ReadUntilClosed(held[11], absl::Seconds(1)).bytes,
              HasSubstr("200 OK"));
  // ...and a new client is served at once.
  const int fresh = Connect(server.http_port());
  ASSERT_GE(fresh, 0);
  Send(fresh, kHealth);
  EXPECT_THAT(ReadUntilClosed(fresh, absl::Seconds(2)).bytes,
              HasSubstr("200 OK"));
  close(fresh);
  for (int fd : held) close(fd);
}

// A request that trickles in (a byte every 300 ms: the idle timeout never
// fires) is closed when http_request_timeout_seconds has passed since the
// connection opened.
TEST(ConnectionLimitsTest, HttpClosesARequestThatArrivesTooSlowly) {
  ServerProcess server;
  server.EnableHttp();
  ASSERT_TRUE(
      server.Start(absl::StrCat(kSmallLimitsConfig,
                                "transport { http_request_timeout_seconds: 2\n"
                                "http_idle_timeout_seconds: 10 }\n")))
      << server.error();
  const int fd = Connect(server.http_port());
  ASSERT_GE(fd, 0);
  const absl::Time start = absl::Now();
  const std::string request =
      "GET /health HTTP/1.1\r\nHost: localhost\r\nX-Slow: aaaaaaaaaaaaaaaaaaa"
      "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n\r\n";
  bool closed = false;
  for (char c : request) {
    if (send(fd, &c, 1, MSG_NOSIGNAL) != 1) {
      closed = true;
      break;
    }
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, 300) == 1) {
      char b;
      if (read(fd, &b, 1) <= 0) {
        closed = true;
        break;
      }
    }
  }
  const absl::Duration took = absl::Now() - start;
  close(fd);
  EXPECT_TRUE(closed) << "served after " << absl::FormatDuration(took);
  EXPECT_GE(took, absl::Seconds(2));
  EXPECT_LT(took, absl::Seconds(5));
}

// One address may hold at most 128 connections by default: past that its
// new connections are closed at once, while another address is served.
TEST(ConnectionLimitsTest, HttpCapsConnectionsPerAddressByDefault) {
  ServerProcess server;
  server.EnableHttp();
  ASSERT_TRUE(server.Start(kSmallLimitsConfig)) << server.error();
  std::vector<int> held;
  for (int i = 0; i < 128; ++i) {
    held.push_back(Connect(server.http_port()));
    ASSERT_GE(held.back(), 0);
  }
  absl::SleepFor(absl::Milliseconds(300));
  const int over = Connect(server.http_port());
  ASSERT_GE(over, 0);
  EXPECT_TRUE(ReadUntilClosed(over, absl::Seconds(2)).closed);
  close(over);
  // 127.0.0.2 is another address (loopback): it is served.
  const int other = Connect(server.http_port(), 0x7F000002);
  ASSERT_GE(other, 0);
  Send(other, kHealth);
  EXPECT_THAT(ReadUntilClosed(other, absl::Seconds(2)).bytes,
              HasSubstr("200 OK"));
  close(other);
  for (int fd : held) close(fd);
}

TEST(ConnectionLimitsTest, HttpClosesAConnectionAfterItsRequestQuota) {
  ServerProcess server;
  server.EnableHttp();
  ASSERT_TRUE(server.Start(absl::StrCat(
      kSmallLimitsConfig, "transport { http_keep_alive_max_requests: 2 }\n")))
      << server.error();
  const int fd = Connect(server.http_port());
  ASSERT_GE(fd, 0);
  // One request at a time (cpp-httplib does not read pipelined requests).
  std::string answers;
  bool closed = false;
  for (int i = 0; i < 2 && !closed; ++i) {
    Send(fd, kHealth);
    const absl::Time end = absl::Now() + absl::Seconds(15);
    const size_t before = answers.size();
    while (absl::Now() < end &&
           answers.find("SERVING", before) == std::string::npos) {
      pollfd p{fd, POLLIN, 0};
      if (poll(&p, 1, 500) <= 0) continue;
      char buffer[4096];
      const ssize_t n = read(fd, buffer, sizeof(buffer));
      if (n <= 0) {
        closed = true;
        break;
      }
      answers.append(buffer, static_cast<size_t>(n));
    }
  }
  if (!closed) closed = ReadUntilClosed(fd, absl::Seconds(15)).closed;
  close(fd);
  // Two answers, the second saying it closes the connection, which the
  // server then does.
  EXPECT_TRUE(closed);
  size_t count = 0;
  for (size_t at = answers.find("HTTP/1.1 200"); at != std::string::npos;
       at = answers.find("HTTP/1.1 200", at + 1)) {
    ++count;
  }
  EXPECT_EQ(count, 2u) << answers;
  EXPECT_THAT(answers, HasSubstr("Connection: close"));
}

TEST(ConnectionLimitsTest, OutOfRangeSettingsAreRefusedAtStart) {
  ServerProcess server;
  EXPECT_FALSE(server.Start(absl::StrCat(
      kSmallLimitsConfig, "transport { keepalive_time_ms: 10 }\n")));
  EXPECT_THAT(server.error(), HasSubstr("keepalive_time_ms must be >= 1000"));
}

}  // namespace
}  // namespace attnr
