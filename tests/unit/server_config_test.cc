#include "server/server_config.h"

#include <cstdio>
#include <fstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "google/protobuf/descriptor.h"
#include "gtest/gtest.h"

namespace attnr::server {
namespace {

using ::testing::HasSubstr;

std::string WriteTemp(const std::string& content) {
  char path[] = "/tmp/attnr_config_XXXXXX";
  const int fd = mkstemp(path);
  EXPECT_GE(fd, 0);
  close(fd);
  std::ofstream(path) << content;
  return path;
}

TEST(ServerConfigTest, ShippedConfigLoadsAndValidates) {
  const char* src = std::getenv("ATTNR_SOURCE_DIR");
  ASSERT_NE(src, nullptr);
  auto config = LoadServerConfig(std::string(src) + "/config/server.textproto");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->transport().listen_address(), "localhost:50051");
  EXPECT_EQ(config->limits().default_passage_tokens(), 96u);
  EXPECT_TRUE(config->views().entity().enabled());
  EXPECT_TRUE(ValidateServerConfig(*config).ok());
}

TEST(ServerConfigTest, MissingFieldsKeepDefaults) {
  const std::string path =
      WriteTemp("limits { max_top_k: 7 default_top_k: 3 }\n");
  auto config = LoadServerConfig(path);
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->limits().max_top_k(), 7u);
  EXPECT_EQ(config->limits().max_documents(),
            DefaultServerConfig().limits().max_documents());
  EXPECT_EQ(config->transport().listen_address(),
            DefaultServerConfig().transport().listen_address());
  std::remove(path.c_str());
}

TEST(ServerConfigTest, ParseErrorsNameTheLine) {
  const std::string path =
      WriteTemp("limits { max_top_k: 7 }\nlimits { no_such_field: 1 }\n");
  auto config = LoadServerConfig(path);
  EXPECT_EQ(config.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(config.status().message(), HasSubstr("line 2"));
  std::remove(path.c_str());
  EXPECT_EQ(LoadServerConfig("/nonexistent.textproto").status().code(),
            absl::StatusCode::kNotFound);
}

TEST(ServerConfigTest, InconsistentLimitsAreRefusedNamingTheirPlace) {
  attnr::v1::ServerConfig c = DefaultServerConfig();
  c.mutable_limits()->set_default_top_k(c.limits().max_top_k() + 1);
  EXPECT_THAT(ValidateServerConfig(c).message(),
              HasSubstr("limits.default_top_k"));
  c = DefaultServerConfig();
  c.mutable_limits()->set_default_passage_tokens(0);
  EXPECT_FALSE(ValidateServerConfig(c).ok());
  c = DefaultServerConfig();
  c.mutable_transport()->set_listen_address("");
  EXPECT_THAT(ValidateServerConfig(c).message(),
              HasSubstr("transport.listen_address"));
  c = DefaultServerConfig();
  c.mutable_transport()->set_keepalive_time_ms(5);
  EXPECT_THAT(ValidateServerConfig(c).message(),
              HasSubstr("transport.keepalive_time_ms"));
  c = DefaultServerConfig();
  c.mutable_transport()->mutable_tls()->set_cert_file("c.pem");
  EXPECT_THAT(ValidateServerConfig(c).message(),
              HasSubstr("transport.tls.key_file"));
}

// 0.4.0's flat settings moved into groups: a config still naming one is
// refused with the setting's new place, never parsed into nothing.
TEST(ServerConfigTest, FlatSettingsOfTheLastReleaseNameTheirNewPlace) {
  const struct {
    const char* line;
    const char* place;
  } cases[] = {
      {"listen_address: \"localhost:1\"", "transport.listen_address"},
      {"max_documents: 3", "limits.max_documents"},
      {"max_concurrent_requests: 2", "admission.max_concurrent_requests"},
      {"tls_cert_file: \"c.pem\"", "transport.tls.cert_file"},
      {"auth_failure_burst: 3", "transport.auth.failure_burst"},
      {"dense_model: \"x\"", "views.dense.model"},
      {"llm_budget_tokens: 1", "views.llm.budget_tokens"},
      {"fusion_weights { key: \"dense\" value: 1 }", "views.fusion.weights"},
      {"entity_view: true", "views.entity.enabled"},
      {"entity_max_sentence_share: 0.1", "views.entity.max_sentence_share"},
      {"cache_bytes: 1024", "cache.bytes"},
  };
  for (const auto& c : cases) {
    const std::string path =
        WriteTemp(absl::StrCat("limits { max_top_k: 7 }\n", c.line, "\n"));
    auto config = LoadServerConfig(path);
    EXPECT_EQ(config.status().code(), absl::StatusCode::kInvalidArgument)
        << c.line;
    EXPECT_THAT(config.status().message(), HasSubstr("line 2")) << c.line;
    EXPECT_THAT(config.status().message(),
                HasSubstr(absl::StrCat(" is now ", c.place)))
        << c.line;
    std::remove(path.c_str());
  }
}

// Every flat name the proto reserves has a place in the groups, except the
// three settings removed with the attention view.
TEST(ServerConfigTest, EveryReservedFlatNameHasAPlace) {
  const google::protobuf::Descriptor* d = attnr::v1::ServerConfig::descriptor();
  ASSERT_GT(d->reserved_name_count(), 70);
  for (int i = 0; i < d->reserved_name_count(); ++i) {
    const std::string name = d->reserved_name(i);
    const std::string place = GroupedPlace(name);
    if (name == "weights_path" || name == "attention_top_tokens" ||
        name == "attention_background") {
      EXPECT_EQ(place, "") << name;
      continue;
    }
    ASSERT_NE(place, "") << name;
    // The place is a real field path.
    const google::protobuf::Descriptor* m = d;
    const google::protobuf::FieldDescriptor* f = nullptr;
    for (absl::string_view part : absl::StrSplit(place, '.')) {
      ASSERT_NE(m, nullptr) << place;
      f = m->FindFieldByName(std::string(part));
      ASSERT_NE(f, nullptr) << name << " -> " << place;
      m = f->message_type();
    }
  }
}

// The attention view was removed in 0.4.0: a config that still sets its
// fields is refused naming them, not silently ignored.
TEST(ServerConfigTest, FieldsOfTheRemovedAttentionViewAreRefused) {
  for (const char* field :
       {"weights_path: \"model.bin\"", "attention_top_tokens: 2",
        "attention_background: 0.2"}) {
    const std::string path = WriteTemp(std::string(field) + "\n");
    auto config = LoadServerConfig(path);
    EXPECT_EQ(config.status().code(), absl::StatusCode::kInvalidArgument)
        << field;
    EXPECT_THAT(config.status().message(),
                HasSubstr(std::string(field).substr(0, 12)));
    EXPECT_THAT(config.status().message(), HasSubstr("was removed"));
    std::remove(path.c_str());
  }
}

TEST(ServerConfigTest, FusionWeightOfARemovedViewIsRefused) {
  attnr::v1::ServerConfig c = DefaultServerConfig();
  (*c.mutable_views()->mutable_fusion()->mutable_weights())["attention"] = 0.25;
  EXPECT_THAT(
      ValidateServerConfig(c).message(),
      HasSubstr("views.fusion.weights names an unknown view 'attention'"));
}

TEST(ServerConfigTest, EntityShareOutsideZeroToOneIsRefused) {
  attnr::v1::ServerConfig c = DefaultServerConfig();
  attnr::v1::EntityViewConfig& entity = *c.mutable_views()->mutable_entity();
  entity.set_max_sentence_share(1.5);
  EXPECT_THAT(
      ValidateServerConfig(c).message(),
      HasSubstr("views.entity.max_sentence_share must be within [0, 1]"));
  entity.set_max_sentence_share(-0.1);
  EXPECT_FALSE(ValidateServerConfig(c).ok());
  entity.set_max_sentence_share(0.01);
  EXPECT_TRUE(ValidateServerConfig(c).ok());
}

TEST(ServerConfigTest, ResolveDecidesPathsOverridesAndDefaultsInOnePlace) {
  const std::string path = WriteTemp(R"(
transport {
  auth { failure_burst: 0 }
  handshake_timeout_ms: 0
  max_http_connections: 9
}
admission {
  max_concurrent_requests: 3
  max_queued_requests: 5
  max_neural_requests: 0
  max_queued_neural_requests: 0
}
views {
  dense { model: "all-minilm-l6-v2" model_sha256: "abc" device: "" }
  llm { model: "models/x.gguf" model_sha256: "def" readout: "r.json"
        candidates: 0 }
  fusion { model: "../f.json" }
  entity { max_sentence_share: 0 }
}
)");
  ConfigOverrides overrides;
  overrides.llm_model = "none";
  overrides.threads = 3;
  overrides.listen = "127.0.0.1:0";
  setenv("ATTNR_MODEL_CACHE", "/cache", 1);
  auto config = ResolveServerConfig(path, overrides);
  ASSERT_TRUE(config.ok()) << config.status();
  const attnr::v1::ViewsConfig& views = config->views();
  // A pinned name is in the model cache and keeps its pin; "none" drops the
  // view and its pin; other files are relative to the config's folder.
  EXPECT_EQ(views.dense().model(), "/cache/all-minilm-l6-v2");
  EXPECT_EQ(views.dense().model_sha256(), "abc");
  EXPECT_EQ(views.llm().model(), "");
  EXPECT_EQ(views.llm().model_sha256(), "");
  EXPECT_EQ(views.llm().readout(), "/tmp/r.json");
  EXPECT_EQ(views.fusion().model(), "/f.json");
  EXPECT_EQ(views.intra_op_threads(), 3u);
  EXPECT_EQ(config->transport().listen_address(), "127.0.0.1:0");
  // "0: default" settings get their value here, nowhere else.
  EXPECT_EQ(config->transport().auth().failure_burst(), 20u);
  EXPECT_EQ(views.llm().candidates(), 16u);
  EXPECT_EQ(views.llm().device(), "cpu");
  EXPECT_EQ(views.dense().device(), "cpu");
  EXPECT_GT(views.entity().max_sentence_share(), 0);
  EXPECT_EQ(config->transport().handshake_timeout_ms(), 10000u);
  EXPECT_EQ(config->transport().max_http_connections(), 9u);
  EXPECT_EQ(config->admission().max_neural_requests(), 6u);
  EXPECT_EQ(config->admission().max_queued_neural_requests(), 5u);

  overrides.threads = -1;
  EXPECT_THAT(ResolveServerConfig(path, overrides).status().message(),
              HasSubstr("--threads"));
  std::remove(path.c_str());
}

}  // namespace
}  // namespace attnr::server
