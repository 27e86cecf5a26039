// TLS and bearer-token auth end to end: the real server with a self-signed
// certificate (made by openssl for the test) and a tokens file, reached
// through gRPC (the client library and the CLI) and HTTPS; health stays
// open, everything else needs a valid token.
#include <httplib.h>

#include <nlohmann/json.hpp>
#include <string>

#include "absl/strings/str_cat.h"
#include "client/retriever_client.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "reflection_probe.grpc.pb.h"
#include "tests/integration/test_server.h"

namespace attnr {
namespace {

using ::testing::HasSubstr;

constexpr absl::Duration kTimeout = absl::Seconds(30);
constexpr char kToken[] = "s3cr3t-token-for-tests-0123456789";

class SecurityTest : public SharedServerTest<SecurityTest, true> {
 public:
  // TLS and tokens: a self-signed certificate and a token file, written
  // before the server starts.
  static std::string ServerConfig() {
    dir_ = new std::string(TempDir());
    const CommandResult made = RunShell(absl::StrCat(
        "openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj "
        "/CN=localhost -addext subjectAltName=DNS:localhost,IP:127.0.0.1 "
        "-keyout ",
        *dir_, "/key.pem -out ", *dir_, "/cert.pem"));
    EXPECT_EQ(made.exit_code, 0) << made.err;
    WriteFile("tokens.txt", absl::StrCat("# test callers\nalice:", kToken,
                                         "\nbob:another-token-9876543210\n"));
    return absl::StrCat(
        kSmallLimitsConfig, "transport {\n auth { tokens_file: \"", *dir_,
        "/tokens.txt\" failure_burst: 1000 }\n", " tls { cert_file: \"", *dir_,
        "/cert.pem\" key_file: \"", *dir_, "/key.pem\" }\n}\n");
  }
  static client::ClientOptions ServerClientOptions() { return Tls(); }

 protected:
  static client::ClientOptions Tls(const std::string& token = kToken) {
    client::ClientOptions o;
    o.tls_root_pem = ReadFile(*dir_ + "/cert.pem");
    o.token = token;
    return o;
  }
  static std::string Target() {
    return absl::StrCat("localhost:", server_->port());
  }
  static attnr::v1::RetrieveRequest Request() {
    attnr::v1::RetrieveRequest r;
    r.set_query("espresso grinder");
    r.add_documents()->set_text(
        "The espresso grinder must be descaled every fourteen days.\n\n"
        "The museum opens at nine.");
    return r;
  }
  std::unique_ptr<httplib::SSLClient> Https() {
    auto c =
        std::make_unique<httplib::SSLClient>("localhost", server_->http_port());
    c->set_ca_cert_path((*dir_ + "/cert.pem").c_str());
    c->enable_server_certificate_verification(true);
    return c;
  }

  static inline std::string* dir_ = nullptr;
};

TEST_F(SecurityTest, GrpcNeedsAValidTokenButHealthIsOpen) {
  RetrieverClient good(Target(), Tls());
  auto ok = good.Retrieve(Request(), kTimeout);
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_THAT(ok->passages(0).text(), HasSubstr("espresso"));

  for (const std::string& token : {std::string(), std::string("wrong")}) {
    RetrieverClient bad(Target(), Tls(token));
    auto refused = bad.Retrieve(Request(), kTimeout);
    EXPECT_EQ(refused.status().code(), absl::StatusCode::kUnauthenticated)
        << token;
    EXPECT_THAT(refused.status().message(), HasSubstr("authorization: "));
    EXPECT_EQ(bad.GetModelInfo(kTimeout).status().code(),
              absl::StatusCode::kUnauthenticated);
    auto health = bad.Health("", kTimeout);
    ASSERT_TRUE(health.ok()) << health.status();
    EXPECT_EQ(*health, grpc::health::v1::HealthCheckResponse::SERVING);
  }
  // The token's name, never the token, reaches the log.
  const std::string log = server_->LogWith("status=UNAUTHENTICATED");
  EXPECT_THAT(log, HasSubstr("status=UNAUTHENTICATED"));
  EXPECT_THAT(log, ::testing::Not(HasSubstr(kToken)));
}

TEST_F(SecurityTest, PlaintextClientsCannotTalkToATlsServer) {
  client::ClientOptions plain;
  plain.token = kToken;
  RetrieverClient client(Target(), plain);
  const absl::Status s = client.Retrieve(Request(), absl::Seconds(3)).status();
  EXPECT_FALSE(s.ok());
  EXPECT_THAT(s.code(), ::testing::AnyOf(absl::StatusCode::kUnavailable,
                                         absl::StatusCode::kDeadlineExceeded));
}

TEST_F(SecurityTest, HttpsNeedsAValidTokenButHealthIsOpen) {
  auto https = Https();
  const std::string body =
      R"({"query": "espresso grinder", "documents": ["The espresso grinder must be descaled."]})";
  auto refused = https->Post("/v1/retrieve", body, "application/json");
  ASSERT_TRUE(refused) << httplib::to_string(refused.error());
  EXPECT_EQ(refused->status, 401);
  EXPECT_EQ(refused->get_header_value("WWW-Authenticate"), "Bearer");
  EXPECT_EQ(nlohmann::json::parse(refused->body)["error"]["code"],
            "UNAUTHENTICATED");
  // Refused before the body is read: even a broken body gets 401.
  auto broken = https->Post("/v1/rerank", "{", "application/json");
  ASSERT_TRUE(broken);
  EXPECT_EQ(broken->status, 401);

  auto ok = https->Post("/v1/retrieve",
                        {{"Authorization", absl::StrCat("Bearer ", kToken)}},
                        body, "application/json");
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 200) << ok->body;
  auto health = https->Get("/health");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);
}

TEST_F(SecurityTest, CliTakesTheTokenAndTheRootCertificate) {
  const std::string doc = WriteFile(
      "secure_doc.txt", "The espresso grinder must be descaled every day.\n");
  const std::string base =
      absl::StrCat(ATTNR_CLI_BIN, " retrieve --target ", Target(), " --tls-ca ",
                   *dir_, "/cert.pem --doc ", doc, " --query espresso");
  const CommandResult ok = RunShell(absl::StrCat(base, " --token ", kToken));
  EXPECT_EQ(ok.exit_code, 0) << ok.err;
  EXPECT_THAT(ok.out, HasSubstr("espresso"));
  const CommandResult env =
      RunShell(absl::StrCat("ATTNR_TOKEN=", kToken, " ", base));
  EXPECT_EQ(env.exit_code, 0) << env.err;
  const CommandResult none = RunShell(base);
  EXPECT_EQ(none.exit_code, 1);
  EXPECT_THAT(none.err, HasSubstr("UNAUTHENTICATED"));
}

// With auth on, reflection is off (it cannot check a token), though the
// config does not say disable_reflection.
TEST_F(SecurityTest, ReflectionIsOffWhenAuthIsOn) {
  grpc::SslCredentialsOptions ssl;
  ssl.pem_root_certs = ReadFile(*dir_ + "/cert.pem");
  auto channel = grpc::CreateChannel(Target(), grpc::SslCredentials(ssl));
  auto stub = grpc::reflection::v1alpha::ServerReflection::NewStub(channel);
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() +
                       std::chrono::seconds(30));
  auto stream = stub->ServerReflectionInfo(&context);
  grpc::reflection::v1alpha::ServerReflectionRequest request;
  request.set_list_services("");
  stream->Write(request);
  stream->WritesDone();
  grpc::reflection::v1alpha::ServerReflectionResponse response;
  while (stream->Read(&response)) {
  }
  EXPECT_EQ(stream->Finish().error_code(), grpc::StatusCode::UNIMPLEMENTED);
  EXPECT_THAT(server_->log(), HasSubstr("gRPC reflection off"));
}

TEST_F(SecurityTest, MutualTlsNeedsAClientCertificateOnBothTransports) {
  // A second server that verifies clients: the test's self-signed
  // certificate is also the client CA and the client's certificate.
  ServerProcess mtls;
  mtls.EnableHttp();
  client::ClientOptions with_cert = Tls();
  with_cert.tls_cert_pem = ReadFile(*dir_ + "/cert.pem");
  with_cert.tls_key_pem = ReadFile(*dir_ + "/key.pem");
  ASSERT_TRUE(mtls.Start(
      absl::StrCat(kSmallLimitsConfig, "transport { tls {\n", " cert_file: \"",
                   *dir_, "/cert.pem\"\n", " key_file: \"", *dir_,
                   "/key.pem\"\n", " client_ca_file: \"", *dir_,
                   "/cert.pem\"\n", "} }\n"),
      {}, with_cert))
      << mtls.error();
  const std::string target = absl::StrCat("localhost:", mtls.port());
  client::ClientOptions own = with_cert;
  own.own_connection = true;
  RetrieverClient good(target, own);
  auto ok = good.Retrieve(Request(), kTimeout);
  ASSERT_TRUE(ok.ok()) << ok.status();
  client::ClientOptions no_cert = Tls();
  no_cert.own_connection = true;
  RetrieverClient bad(target, no_cert);
  EXPECT_FALSE(bad.Retrieve(Request(), absl::Seconds(5)).ok());

  const std::string body =
      R"({"query": "espresso grinder", "documents": ["The espresso grinder must be descaled."]})";
  httplib::SSLClient https_cert("localhost", mtls.http_port(),
                                *dir_ + "/cert.pem", *dir_ + "/key.pem");
  https_cert.set_ca_cert_path((*dir_ + "/cert.pem").c_str());
  https_cert.enable_server_certificate_verification(true);
  auto served = https_cert.Post("/v1/retrieve", body, "application/json");
  ASSERT_TRUE(served) << httplib::to_string(served.error());
  EXPECT_EQ(served->status, 200) << served->body;

  httplib::SSLClient https_plain("localhost", mtls.http_port());
  https_plain.set_ca_cert_path((*dir_ + "/cert.pem").c_str());
  https_plain.enable_server_certificate_verification(true);
  auto refused = https_plain.Post("/v1/retrieve", body, "application/json");
  ASSERT_TRUE(refused) << httplib::to_string(refused.error());
  EXPECT_EQ(refused->status, 403);
  EXPECT_THAT(refused->body, HasSubstr("client certificate"));
}

// A plaintext server with tokens and `extra` settings.
bool StartWithTokens(ServerProcess* server, const std::string& extra) {
  WriteFile("tokens2.txt", absl::StrCat("alice:", kToken, "\n"));
  server->EnableHttp();
  return server->Start(absl::StrCat(kSmallLimitsConfig,
                                    "transport { auth { tokens_file: \"",
                                    TempDir(), "/tokens2.txt\" } }\n", extra));
}

// Failed authentications are limited per address: past the burst every
// call from it is refused (RESOURCE_EXHAUSTED / 429 with Retry-After, the
// right token too) until the allowance refills, one a second.
TEST(AuthThrottleTest, FailedAuthenticationIsRateLimitedPerAddress) {
  ServerProcess server;
  ASSERT_TRUE(
      StartWithTokens(&server, "transport { auth { failure_burst: 3 } }\n"))
      << server.error();
  client::ClientOptions wrong;
  wrong.token = "not-the-token";
  RetrieverClient guesser(server.target(), wrong);
  attnr::v1::RetrieveRequest request;
  request.set_query("grinder");
  request.add_documents()->set_text("The grinder is descaled weekly.");
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(guesser.Retrieve(request, kTimeout).status().code(),
              absl::StatusCode::kUnauthenticated);
  }
  auto throttled = guesser.Retrieve(request, kTimeout);
  EXPECT_EQ(throttled.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(throttled.status().message(), HasSubstr("retry after"));
  // The right token from the same address is refused too: the answer
  // tells a guesser nothing.
  client::ClientOptions right;
  right.token = kToken;
  RetrieverClient owner(server.target(), right);
  EXPECT_EQ(owner.Retrieve(request, kTimeout).status().code(),
            absl::StatusCode::kResourceExhausted);
  httplib::Client http("127.0.0.1", server.http_port());
  httplib::Headers headers = {{"Authorization", "Bearer not-the-token"}};
  auto refused =
      http.Post("/v1/retrieve", headers,
                R"({"query": "q", "documents": ["x"]})", "application/json");
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 429);
  EXPECT_EQ(refused->get_header_value("Retry-After"), "1");
  // A second later one more attempt is allowed: the right token works.
  absl::SleepFor(absl::Milliseconds(1300));
  auto served = owner.Retrieve(request, kTimeout);
  EXPECT_TRUE(served.ok()) << served.status();
}

// The page, OpenAPI and metrics are each a choice: off, or behind a token.
TEST(AuthThrottleTest, PageOpenApiAndMetricsFollowTheirSettings) {
  ServerProcess server;
  ASSERT_TRUE(StartWithTokens(&server,
                              "transport { disable_page: true\n"
                              "disable_openapi: true\n"
                              "metrics_require_auth: true }\n"))
      << server.error();
  httplib::Client http("127.0.0.1", server.http_port());
  EXPECT_EQ(http.Get("/")->status, 404);
  EXPECT_EQ(http.Get("/openapi.json")->status, 404);
  EXPECT_EQ(http.Get("/health")->status, 200);  // Probes stay open.
  httplib::Client metrics("127.0.0.1", server.metrics_port());
  auto refused = metrics.Get("/metrics");
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 401);
  auto served = metrics.Get(
      "/metrics", {{"Authorization", absl::StrCat("Bearer ", kToken)}});
  ASSERT_TRUE(served);
  EXPECT_EQ(served->status, 200);
  EXPECT_THAT(served->body, HasSubstr("attnr_requests_total"));
}

}  // namespace
}  // namespace attnr
