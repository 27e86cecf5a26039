#include "server/server_config.h"

#include <cstdio>
#include <fstream>
#include <string>

#include "gmock/gmock.h"
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
  EXPECT_EQ(config->listen_address(), "localhost:50051");
  EXPECT_TRUE(ValidateServerConfig(*config).ok());
}

TEST(ServerConfigTest, MissingFieldsKeepDefaults) {
  const std::string path = WriteTemp("max_top_k: 7\ndefault_top_k: 3\n");
  auto config = LoadServerConfig(path);
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->max_top_k(), 7u);
  EXPECT_EQ(config->max_documents(), DefaultServerConfig().max_documents());
  std::remove(path.c_str());
}

TEST(ServerConfigTest, ParseErrorsNameTheLine) {
  const std::string path = WriteTemp("max_top_k: 7\nno_such_field: 1\n");
  auto config = LoadServerConfig(path);
  EXPECT_EQ(config.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(config.status().message(), HasSubstr("line 2"));
  std::remove(path.c_str());
  EXPECT_EQ(LoadServerConfig("/nonexistent.textproto").status().code(),
            absl::StatusCode::kNotFound);
}

TEST(ServerConfigTest, InconsistentLimitsAreRefused) {
  attnr::v1::ServerConfig c = DefaultServerConfig();
  c.set_default_top_k(c.max_top_k() + 1);
  EXPECT_THAT(ValidateServerConfig(c).message(), HasSubstr("default_top_k"));
  c = DefaultServerConfig();
  c.set_default_passage_tokens(0);
  EXPECT_FALSE(ValidateServerConfig(c).ok());
  c = DefaultServerConfig();
  c.set_listen_address("");
  EXPECT_FALSE(ValidateServerConfig(c).ok());
}

// The attention view was removed in 0.4.0: a config that still sets its
// fields or weighs it is refused naming them, not silently ignored.
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
    std::remove(path.c_str());
  }
}

TEST(ServerConfigTest, FusionWeightOfARemovedViewIsRefused) {
  attnr::v1::ServerConfig c = DefaultServerConfig();
  (*c.mutable_fusion_weights())["attention"] = 0.25;
  EXPECT_THAT(ValidateServerConfig(c).message(),
              HasSubstr("fusion_weights names an unknown view 'attention'"));
}

TEST(ServerConfigTest, EntityShareOutsideZeroToOneIsRefused) {
  attnr::v1::ServerConfig c = DefaultServerConfig();
  c.set_entity_max_sentence_share(1.5);
  EXPECT_THAT(ValidateServerConfig(c).message(),
              HasSubstr("entity_max_sentence_share must be within [0, 1]"));
  c.set_entity_max_sentence_share(-0.1);
  EXPECT_FALSE(ValidateServerConfig(c).ok());
  c.set_entity_max_sentence_share(0.01);
  EXPECT_TRUE(ValidateServerConfig(c).ok());
}

TEST(ServerConfigTest, ResolveDecidesPathsOverridesAndDefaultsInOnePlace) {
  const std::string path = WriteTemp(
      "dense_model: \"all-minilm-l6-v2\"\n"
      "dense_model_sha256: \"abc\"\n"
      "llm_model: \"models/x.gguf\"\n"
      "llm_model_sha256: \"def\"\n"
      "llm_readout: \"r.json\"\n"
      "fusion_model: \"../f.json\"\n"
      "auth_failure_burst: 0\n"
      "llm_candidates: 0\n"
      "entity_max_sentence_share: 0\n"
      "handshake_timeout_ms: 0\n"
      "max_http_connections: 9\n");
  ConfigOverrides overrides;
  overrides.llm_model = "none";
  overrides.threads = 3;
  overrides.listen = "127.0.0.1:0";
  setenv("ATTNR_MODEL_CACHE", "/cache", 1);
  auto config = ResolveServerConfig(path, overrides);
  ASSERT_TRUE(config.ok()) << config.status();
  // A pinned name is in the model cache and keeps its pin; "none" drops the
  // view and its pin; other files are relative to the config's folder.
  EXPECT_EQ(config->dense_model(), "/cache/all-minilm-l6-v2");
  EXPECT_EQ(config->dense_model_sha256(), "abc");
  EXPECT_EQ(config->llm_model(), "");
  EXPECT_EQ(config->llm_model_sha256(), "");
  EXPECT_EQ(config->llm_readout(), "/tmp/r.json");
  EXPECT_EQ(config->fusion_model(), "/f.json");
  EXPECT_EQ(config->intra_op_threads(), 3u);
  EXPECT_EQ(config->listen_address(), "127.0.0.1:0");
  // "0: default" settings get their value here, nowhere else.
  EXPECT_EQ(config->auth_failure_burst(), 20u);
  EXPECT_EQ(config->llm_candidates(), 16u);
  EXPECT_EQ(config->llm_device(), "cpu");
  EXPECT_GT(config->entity_max_sentence_share(), 0);
  EXPECT_EQ(config->handshake_timeout_ms(), 10000u);
  EXPECT_EQ(config->max_http_connections(), 9u);

  overrides.threads = -1;
  EXPECT_THAT(ResolveServerConfig(path, overrides).status().message(),
              HasSubstr("--threads"));
  std::remove(path.c_str());
}

}  // namespace
}  // namespace attnr::server
