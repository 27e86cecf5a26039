// attnr-train end to end: the LLM read-out trained on a tiny input with the
// pinned SmolLM2 decoder (from the model cache), written, loadable, and
// resumed without recomputing the features.
#include <sys/wait.h>

#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "model/views/llm/attention_readout_file.h"
#include "tests/unit/pretrained_model_folder.h"

namespace attnr {
namespace {

using ::testing::HasSubstr;

std::string Gguf() {
  return PretrainedModelFolder("smollm2-135m-instruct-q4_1") +
         "/SmolLM2-135M-Instruct.Q4_1.gguf";
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

int Lines(const std::string& path) {
  std::ifstream in(path);
  int n = 0;
  for (std::string line; std::getline(in, line);) n += !line.empty();
  return n;
}

// The pinned digest of the GGUF file (config/server.textproto).
std::string PinnedSha256() {
  const std::string config =
      ReadFile(std::string(std::getenv("ATTNR_SOURCE_DIR")) +
               "/config/server.textproto");
  // views { llm { ... model_sha256: "..." } }
  const size_t llm = config.find("llm {");
  const std::string key = "model_sha256: \"";
  const size_t at =
      llm == std::string::npos ? std::string::npos : config.find(key, llm);
  return at == std::string::npos ? "" : config.substr(at + key.size(), 64);
}

struct TrainRun {
  int exit_code;
  std::string err;
};

TrainRun Train(const std::string& args) {
  const std::string err = ::testing::TempDir() + "/train.err";
  const int status = std::system(
      absl::StrCat(ATTNR_TRAIN_BIN, " ", args, " >/dev/null 2>", err).c_str());
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, ReadFile(err)};
}

// Six questions over one small document, three candidate passages each
// (one relevant): four to fit on, two held out.
std::string WriteInput() {
  const std::vector<std::string> topics = {
      "The espresso grinder must be descaled every two weeks with citric "
      "acid.",
      "Visitors may park in the north garage after six in the evening.",
      "The library lends laptops for up to three days to enrolled students.",
      "Fire drills take place on the first Monday of every month at noon.",
      "Lost badges are replaced at the front desk for a fee of ten euros.",
      "The rooftop garden closes from November to March for the winter."};
  const std::vector<std::string> questions = {
      "How often is the espresso grinder descaled?",
      "Where can visitors park in the evening?",
      "How long can students borrow a laptop?",
      "When are the fire drills held?",
      "What does a replacement badge cost?",
      "When is the rooftop garden closed?"};
  std::string doc;
  std::vector<std::pair<size_t, size_t>> spans;
  for (const std::string& t : topics) {
    spans.emplace_back(doc.size(), doc.size() + t.size());
    doc += t + "\n\n";
  }
  const std::string path = ::testing::TempDir() + "/readout-input.jsonl";
  std::ofstream out(path);
  for (size_t i = 0; i < questions.size(); ++i) {
    nlohmann::json q = {{"qid", absl::StrCat("q", i)},
                        {"index", i},
                        {"doc", "office"},
                        {"split", i < 4 ? "train" : "heldout"},
                        {"query", questions[i]},
                        {"gold", {{spans[i].first, spans[i].second}}}};
    for (size_t k : {(i + 1) % 6, i, (i + 3) % 6}) {
      q["passages"].push_back({{"start", spans[k].first},
                               {"end", spans[k].second},
                               {"text", topics[k]},
                               {"relevant", k == i}});
    }
    out << q.dump() << "\n";
  }
  return path;
}

TEST(ReadoutTrainerTest, FitsWritesAndResumesTheReadout) {
  const std::string input = WriteInput();
  const std::string dir = ::testing::TempDir();
  const std::string features = dir + "/readout-features.jsonl";
  const std::string out = dir + "/readout.json";
  std::remove(features.c_str());
  const std::string args = absl::StrCat(
      "--llm ", Gguf(), " --llm_readout_input ", input, " --llm_features ",
      features, " --out ", out, " --llm_readout_layers 4");
  const TrainRun first = Train(args);
  ASSERT_EQ(first.exit_code, 0) << first.err;
  EXPECT_EQ(Lines(features), 6);

  auto readout = views::ReadAttentionReadout(out);
  ASSERT_TRUE(readout.ok()) << readout.status();
  EXPECT_EQ(readout->layers, (std::vector<int>{1, 2, 3, 4}));
  EXPECT_EQ(readout->weights.size(), readout->features());
  EXPECT_EQ(readout->model_sha256, PinnedSha256());
  EXPECT_THAT(ReadFile(out + ".report.md"), HasSubstr("held-out"));

  // A rerun finds every question's features and only refits: the same
  // read-out, the features file unchanged.
  const std::string before = ReadFile(features);
  const TrainRun again = Train(args);
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_EQ(ReadFile(features), before);
  auto refit = views::ReadAttentionReadout(out);
  ASSERT_TRUE(refit.ok()) << refit.status();
  EXPECT_EQ(refit->PayloadSha256(), readout->PayloadSha256());
}

TEST(ReadoutTrainerTest, MissingInputsAreNamed) {
  const TrainRun usage = Train("--llm " + Gguf());
  EXPECT_EQ(usage.exit_code, 1);
  EXPECT_THAT(usage.err, HasSubstr("--llm_readout_input"));

  const std::string dir = ::testing::TempDir();
  const TrainRun missing = Train(absl::StrCat(
      "--llm ", Gguf(), " --llm_readout_input /nonexistent/input.jsonl",
      " --llm_features ", dir, "/f.jsonl --out ", dir, "/r.json"));
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_THAT(missing.err, HasSubstr("/nonexistent/input.jsonl"));
}

}  // namespace
}  // namespace attnr
