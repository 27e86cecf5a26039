// Runs the real attnr-train binary on a tiny generated corpus: the loss must
// fall, an interrupted run must resume to the very same weights, and the
// weights file must load, and be refused when missing, corrupt or
// mismatched.
#include <sys/wait.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "model/network/attention_model.h"
#include "model/network/weights_file.h"
#include "model/text/tokenizer.h"

namespace attnr {
namespace {

using ::testing::HasSubstr;

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

void WriteFile(const std::string& path, const std::string& content) {
  std::ofstream(path, std::ios::binary) << content;
}

class TrainerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    char tmpl[] = "/tmp/attnr_train_XXXXXX";
    dir_ = new std::string(mkdtemp(tmpl));
    // A vocabulary of invented words; GloVe-like fixture vectors (a fixed
    // formula, so the test needs no download).
    std::vector<std::string> words;
    const char* parts[] = {"ka", "lo", "mi", "ne", "ru", "so", "ti", "va"};
    for (const char* a : parts) {
      for (const char* b : parts) words.push_back(std::string(a) + b);
    }
    std::string vocab, vectors;
    for (size_t i = 0; i < words.size(); ++i) {
      vocab += words[i] + "\n";
      for (int j = 0; j < 100; ++j) {
        const float v = 0.5f * std::sin(0.7f * i + 1.3f * j);
        vectors.append(reinterpret_cast<const char*>(&v), sizeof(v));
      }
    }
    WriteFile(*dir_ + "/vocab.txt", vocab);
    WriteFile(*dir_ + "/glove.f32", vectors);
    // Two documents of sentences; each query's words appear only in its
    // answer sentence.
    nlohmann::json corpus = {{"documents", nlohmann::json::array()},
                             {"examples", nlohmann::json::array()}};
    for (int d = 0; d < 3; ++d) {
      std::string text;
      for (int s = 0; s < 24; ++s) {
        const size_t start = text.size();
        std::string sentence;
        for (int w = 0; w < 6; ++w) {
          sentence += words[(d * 24 + s) * 7 % 58 + w] + (w < 5 ? " " : ".");
        }
        text += sentence + " ";
        {  // Every sentence answers one question.
          const std::string query = words[(d * 24 + s) * 7 % 58] + " " +
                                    words[(d * 24 + s) * 7 % 58 + 1] + "?";
          corpus["examples"].push_back(
              {{"doc", "d" + std::to_string(d)},
               {"query", query},
               {"gold", {{start, start + sentence.size()}}}});
        }
      }
      corpus["documents"].push_back(
          {{"id", "d" + std::to_string(d)}, {"text", text}});
    }
    WriteFile(*dir_ + "/corpus.json", corpus.dump());
  }

  static int Train(const std::string& name, int steps, int stop_after) {
    std::string cmd = absl::StrCat(
        ATTNR_TRAIN_BIN, " --corpus ", *dir_, " --out ", *dir_, "/", name,
        ".bin --checkpoint_dir ", *dir_, "/ck-", name, " --steps ", steps,
        " --accumulate 2 --window_tokens 96 --width 32 --layers 2 --heads 2 "
        "--buckets 16 --threads 1 --checkpoint_every 10 --eval_every 30 "
        "--lr 0.003 --seed 5");
    if (stop_after > 0) absl::StrAppend(&cmd, " --stop_after ", stop_after);
    absl::StrAppend(&cmd, " 2>>", *dir_, "/", name, ".stderr");
    const int status = std::system(cmd.c_str());
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }

  static std::vector<nlohmann::json> Log(const std::string& name) {
    std::vector<nlohmann::json> out;
    std::istringstream lines(ReadFile(*dir_ + "/ck-" + name + "/train.log"));
    for (std::string line; std::getline(lines, line);) {
      out.push_back(nlohmann::json::parse(line));
    }
    return out;
  }

  static std::string* dir_;
};

std::string* TrainerTest::dir_ = nullptr;

TEST_F(TrainerTest, LossFallsAndAnInterruptedRunResumesToTheSameWeights) {
  ASSERT_EQ(Train("whole", 120, 0), 0) << ReadFile(*dir_ + "/whole.stderr");
  // The held-out evaluation uses the same windows every time, so its loss is
  // the signal; per-batch training losses are too noisy on a tiny corpus.
  std::vector<double> held_out, lm;
  for (const auto& e : Log("whole")) {
    if (e["event"] == "eval") held_out.push_back(e["eval_retrieval_loss"]);
    if (e["event"] == "train") lm.push_back(e["lm_loss"]);
  }
  ASSERT_EQ(held_out.size(), 4u);
  EXPECT_LT(held_out.back(), held_out.front());
  ASSERT_EQ(lm.size(), 12u);
  EXPECT_LT((lm[9] + lm[10] + lm[11]) / 3, lm[0]);

  // Cut off at step 60 (as a session can be), then the same command again.
  ASSERT_EQ(Train("resumed", 120, 60), 0);
  EXPECT_FALSE(std::ifstream(*dir_ + "/resumed.bin").good());
  ASSERT_EQ(Train("resumed", 120, 0), 0);
  EXPECT_THAT(ReadFile(*dir_ + "/resumed.stderr"),
              HasSubstr("resumed from step 60"));
  EXPECT_TRUE(ReadFile(*dir_ + "/whole.bin") ==
              ReadFile(*dir_ + "/resumed.bin"))
      << "resuming must reproduce the uninterrupted run bit for bit";
}

TEST_F(TrainerTest, WeightsLoadAndBadFilesAreRefused) {
  const std::string path = *dir_ + "/small.bin";
  ASSERT_EQ(Train("small", 20, 0), 0);
  auto model = network::LoadWeights(path);
  ASSERT_TRUE(model.ok()) << model.status();
  EXPECT_EQ(model->header.name, "attnr-attention");
  EXPECT_EQ(model->header.encoder.width, 32);
  EXPECT_EQ(model->vocabulary.word_count(), 64u);
  EXPECT_EQ(model->sha256.size(), 64u);

  EXPECT_EQ(network::LoadWeights(*dir_ + "/absent.bin").status().code(),
            absl::StatusCode::kNotFound);

  std::string bytes = ReadFile(path);
  std::string flipped = bytes;
  flipped[flipped.size() / 2] ^= 0x20;
  WriteFile(*dir_ + "/flipped.bin", flipped);
  auto corrupt = network::LoadWeights(*dir_ + "/flipped.bin");
  EXPECT_EQ(corrupt.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(corrupt.status().message(), HasSubstr("checksum"));

  WriteFile(*dir_ + "/short.bin", bytes.substr(0, bytes.size() / 3));
  EXPECT_EQ(network::LoadWeights(*dir_ + "/short.bin").status().code(),
            absl::StatusCode::kDataLoss);
  WriteFile(*dir_ + "/text.bin", "not a model at all, just some text here");
  EXPECT_EQ(network::LoadWeights(*dir_ + "/text.bin").status().code(),
            absl::StatusCode::kDataLoss);

  // A well-formed file whose header declares another architecture than its
  // tensors: refused as a mismatch, not loaded half-way.
  network::ModelHeader header = model->header;
  header.encoder.width = 48;
  header.encoder.ffn = 192;
  ASSERT_TRUE(network::SaveWeights(*dir_ + "/mismatch.bin", header,
                                   model->vocabulary, model->encoder)
                  .ok());
  auto mismatch = network::LoadWeights(*dir_ + "/mismatch.bin");
  EXPECT_EQ(mismatch.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(mismatch.status().message(), HasSubstr("does not match"));
}

TEST_F(TrainerTest, AttentionMassIsADistributionOverAllDocuments) {
  ASSERT_EQ(Train("infer", 20, 0), 0);
  auto model = network::AttentionModel::Load(*dir_ + "/infer.bin", 1);
  ASSERT_TRUE(model.ok()) << model.status();
  auto a = (*model)->Encode(text::Tokenize("kaka kalo kami. lolo lomi."));
  auto b = (*model)->Encode(text::Tokenize("vava vaka vami vane varu."));
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ((*a)->tokens(), 5u);
  EXPECT_GT((*a)->bytes(), 0u);
  auto mass =
      (*model)->Relevance(text::Tokenize("kaka lolo"), {a->get(), b->get()});
  ASSERT_TRUE(mass.ok()) << mass.status();
  ASSERT_EQ(mass->size(), 2u);
  ASSERT_EQ((*mass)[0].size(), 5u);
  double total = 0;
  for (const auto& doc : *mass) {
    for (float m : doc) {
      EXPECT_GE(m, 0.0f);
      total += m;
    }
  }
  EXPECT_NEAR(total, 1.0, 1e-4);
}

}  // namespace
}  // namespace attnr
