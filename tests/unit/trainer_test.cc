// Runs the real attnr-train binary on a tiny generated corpus: the loss must
// fall, an interrupted run must resume to the very same weights, and the
// weights file must load, and be refused when missing, corrupt or
// mismatched.
#include <sys/wait.h>

#include <cctype>
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
#include "model/network/encoder.h"
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
      for (const char* b : parts) {
        for (const char* c : parts) words.push_back(std::string(a) + b + c);
      }
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
    // Three documents of capitalised sentences (so the service's splitter
    // separates them); each query's words appear only in its answer.
    nlohmann::json corpus = {{"documents", nlohmann::json::array()},
                             {"examples", nlohmann::json::array()}};
    for (int d = 0; d < 3; ++d) {
      std::string text;
      for (int s = 0; s < 24; ++s) {
        const size_t start = text.size();
        std::string sentence;
        for (int w = 0; w < 6; ++w) {  // Words of no other sentence.
          sentence += words[(d * 24 + s) * 6 + w] + (w < 5 ? " " : ".");
        }
        sentence[0] = static_cast<char>(std::toupper(sentence[0]));
        text += sentence + " ";
        {  // Every sentence answers one question.
          const std::string query =
              words[(d * 24 + s) * 6] + " " + words[(d * 24 + s) * 6 + 1] + "?";
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

  static int Train(const std::string& name, int steps, int stop_after,
                   const std::string& extra_flags = "") {
    std::string cmd = absl::StrCat(
        ATTNR_TRAIN_BIN, " --corpus ", *dir_, " --out ", *dir_, "/", name,
        ".bin --checkpoint_dir ", *dir_, "/ck-", name, " --steps ", steps,
        " --accumulate 2 --window_tokens 96 --width 32 --layers 2 --heads 2 "
        "--buckets 16 --threads 1 --checkpoint_every 10 --eval_every 30 "
        "--lr 0.003 --seed 5");
    if (stop_after > 0) absl::StrAppend(&cmd, " --stop_after ", stop_after);
    absl::StrAppend(&cmd, " ", extra_flags);  // Later flags win.
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

TEST_F(TrainerTest, FlushingDenormalsKeepsResumedRunsExact) {
  // The floating-point mode is per thread and per process: a resumed run
  // must set it again to continue identically. One intra-op thread, as the
  // other trainer tests: ctest runs two tests at once on two cores, and a
  // two-thread trainer beside a test server oversubscribed OpenMP's
  // spinning threads (the server's first encode then took over 30 s).
  const std::string flags = "--flush_denormals";
  ASSERT_EQ(Train("ftz-whole", 20, 0, flags), 0)
      << ReadFile(*dir_ + "/ftz-whole.stderr");
  ASSERT_EQ(Train("ftz-resumed", 20, 10, flags), 0);
  ASSERT_EQ(Train("ftz-resumed", 20, 0, flags), 0);
  EXPECT_THAT(ReadFile(*dir_ + "/ftz-resumed.stderr"),
              HasSubstr("resumed from step 10"));
  EXPECT_TRUE(ReadFile(*dir_ + "/ftz-whole.bin") ==
              ReadFile(*dir_ + "/ftz-resumed.bin"));
}

TEST_F(TrainerTest, WeightsLoadAndBadFilesAreRefused) {
  const std::string path = *dir_ + "/small.bin";
  ASSERT_EQ(Train("small", 20, 0), 0);
  auto model = network::LoadWeights(path);
  ASSERT_TRUE(model.ok()) << model.status();
  EXPECT_EQ(model->header.name, "attnr-attention");
  EXPECT_EQ(model->header.encoder.width, 32);
  EXPECT_EQ(model->vocabulary.word_count(), 512u);
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
  auto a =
      (*model)->Encode(text::Tokenize("kakaka kakalo kakami. lololo lolomi."));
  auto b =
      (*model)->Encode(text::Tokenize("vavava vavaka vavami vavane vavaru."));
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ((*a)->tokens(), 5u);
  EXPECT_GT((*a)->bytes(), 0u);
  auto mass = (*model)->Relevance(text::Tokenize("kakaka lololo"),
                                  {a->get(), b->get()});
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

TEST_F(TrainerTest, QueryTokenRowsSplitTheMassByQueryTokenInGroups) {
  ASSERT_EQ(Train("rows", 20, 0), 0);
  auto model = network::AttentionModel::Load(*dir_ + "/rows.bin", 1);
  ASSERT_TRUE(model.ok()) << model.status();
  auto a = (*model)->Encode(text::Tokenize("kakaka kakalo kakami. lololo."));
  auto b = (*model)->Encode(text::Tokenize("vavava vavaka vavami."));
  ASSERT_TRUE(a.ok() && b.ok());
  // 20 query tokens: two groups (16 + 4).
  std::string query_text;
  for (int i = 0; i < 10; ++i) query_text += "kakaka lololo ";
  const std::vector<text::Token> query = text::Tokenize(query_text);
  ASSERT_EQ(query.size(), 20u);
  std::vector<size_t> firsts;
  std::vector<float> weights;
  const std::vector<size_t> tokens = {4, 3};
  absl::Status status = (*model)->VisitQueryTokenRelevance(
      query, {a->get(), b->get()}, [&](const network::QueryTokenMass& g) {
        firsts.push_back(g.first_query);
        ASSERT_EQ(g.mass.size(), 2u);
        for (size_t j = 0; j < g.queries; ++j) {
          double row = 0;  // Over both documents: the token's weight.
          for (size_t d = 0; d < 2; ++d) {
            const size_t n = tokens[d];
            ASSERT_NE(g.mass[d], nullptr);
            for (size_t t = 0; t < n; ++t) row += g.mass[d][j * n + t];
          }
          EXPECT_NEAR(row, g.term_weights[j], 1e-5) << g.first_query + j;
          weights.push_back(g.term_weights[j]);
        }
      });
  ASSERT_TRUE(status.ok()) << status;
  EXPECT_EQ(firsts, (std::vector<size_t>{0, 16}));
  ASSERT_EQ(weights.size(), 20u);
  double total = 0;
  for (float w : weights) total += w;
  EXPECT_NEAR(total, 1.0, 1e-5);
}

TEST_F(TrainerTest, ServingPassEqualsTheTrainingPass) {
  // Serving runs its own code (the attention kernel on projections laid
  // out for it, adding into x in place, the feed-forward in chunks); it
  // must compute what the autograd path that training uses computes.
  ASSERT_EQ(Train("passes", 5, 0), 0);
  auto weights = network::LoadWeights(*dir_ + "/passes.bin");
  ASSERT_TRUE(weights.ok()) << weights.status();
  // Five 128-query blocks, the last one short.
  const torch::Tensor ids =
      torch::arange(0, 600, torch::kLong)
          .remainder(static_cast<int64_t>(weights->vocabulary.size()));
  network::EncoderOutput trained, served;
  {
    torch::AutoGradMode on(true);
    trained = weights->encoder->Forward(ids, true, true);
  }
  {
    torch::NoGradGuard off;
    served = weights->encoder->Forward(ids, true, true);
  }
  EXPECT_TRUE(
      torch::allclose(served.hidden, trained.hidden.detach(), 1e-4, 1e-5));
  ASSERT_EQ(served.keys.size(), trained.keys.size());
  for (size_t l = 0; l < served.keys.size(); ++l) {
    EXPECT_EQ(served.keys[l].sizes(), trained.keys[l].sizes());
    EXPECT_TRUE(
        torch::allclose(served.keys[l], trained.keys[l].detach(), 1e-4, 1e-5))
        << "layer " << l;
  }
}

TEST_F(TrainerTest, ServingReadOutEqualsTheTrainingReadOut) {
  // Serving's read-out (attention_readout.h: logits a chunk of 1,024 tokens
  // at a time, a running softmax normaliser, the term-match bias added per
  // chunk) must give the masses of the autograd read-out the trainer uses,
  // across documents and chunk boundaries.
  ASSERT_EQ(Train("readout", 5, 0, "--token_match --match_bias_init 3"), 0)
      << ReadFile(*dir_ + "/readout.stderr");
  auto weights = network::LoadWeights(*dir_ + "/readout.bin");
  ASSERT_TRUE(weights.ok()) << weights.status();
  const int64_t vocab = weights->vocabulary.size();
  auto encode = [&](int64_t n, int64_t stride, bool training, bool query) {
    torch::AutoGradMode mode(training);
    const torch::Tensor ids =
        (torch::arange(0, n, torch::kLong) * stride).remainder(vocab);
    network::EncoderOutput out = weights->encoder->Forward(ids, !query, query);
    out.terms = ids.remainder(7);  // Term keys; 0 is a stopword.
    return out;
  };
  const network::EncoderOutput q_t = encode(6, 5, true, true);
  const network::EncoderOutput a_t = encode(2500, 3, true, false);
  const network::EncoderOutput b_t = encode(300, 11, true, false);
  const network::EncoderOutput q_s = encode(6, 5, false, true);
  const network::EncoderOutput a_s = encode(2500, 3, false, false);
  const network::EncoderOutput b_s = encode(300, 11, false, false);
  std::vector<torch::Tensor> trained, served;
  {
    torch::AutoGradMode on(true);
    trained = weights->encoder->Relevance(q_t, {&a_t, &b_t});
  }
  {
    torch::NoGradGuard off;
    served = weights->encoder->Relevance(q_s, {&a_s, &b_s});
  }
  ASSERT_EQ(served.size(), 2u);
  double total = 0;
  for (size_t d = 0; d < 2; ++d) {
    ASSERT_EQ(served[d].sizes(), trained[d].sizes());
    EXPECT_TRUE(torch::allclose(served[d], trained[d].detach(), 1e-3, 1e-8))
        << "document " << d << ": max difference "
        << (served[d] - trained[d].detach()).abs().max().item<float>();
    total += served[d].sum().item<double>();
  }
  EXPECT_NEAR(total, 1.0, 1e-4);

  // Served by query token: the rows sum to the served mass, and a group of
  // rows (its queries, term-match hits and weights sliced) equals the same
  // rows of the whole query.
  torch::NoGradGuard off;
  const std::vector<torch::Tensor> rows =
      weights->encoder->QueryTokenRelevance(q_s, {&a_s, &b_s}, 0, 6);
  const std::vector<torch::Tensor> group =
      weights->encoder->QueryTokenRelevance(q_s, {&a_s, &b_s}, 2, 3);
  for (size_t d = 0; d < 2; ++d) {
    EXPECT_TRUE(torch::allclose(rows[d].sum(0), served[d], 1e-4, 1e-8)) << d;
    EXPECT_TRUE(torch::allclose(group[d], rows[d].narrow(0, 2, 3), 1e-5, 1e-9))
        << "document " << d << ": max difference "
        << (group[d] - rows[d].narrow(0, 2, 3)).abs().max().item<float>();
  }
}

TEST_F(TrainerTest, SecondStageStartsFromGivenWeights) {
  ASSERT_EQ(Train("base", 20, 0), 0);
  // With a zero learning rate the one step changes nothing: what comes out
  // is exactly what --init_from put in.
  ASSERT_EQ(Train("stage2", 1, 0,
                  absl::StrCat("--init_from ", *dir_,
                               "/base.bin --lr 0 --negative_windows 2")),
            0)
      << ReadFile(*dir_ + "/stage2.stderr");
  auto base = network::LoadWeights(*dir_ + "/base.bin");
  auto stage2 = network::LoadWeights(*dir_ + "/stage2.bin");
  ASSERT_TRUE(base.ok() && stage2.ok());
  auto from = base->encoder->named_parameters();
  int compared = 0;
  for (const auto& p : stage2->encoder->named_parameters()) {
    EXPECT_TRUE(torch::equal(p.value(), from[p.key()])) << p.key();
    ++compared;
  }
  EXPECT_GT(compared, 10);
  EXPECT_THAT(stage2->header.notes,
              HasSubstr("2 distractor windows, seed 5, from base.bin"));

  // Another architecture cannot start from these weights.
  EXPECT_EQ(Train("wider", 1, 0,
                  absl::StrCat("--init_from ", *dir_, "/base.bin --width 48")),
            1);
  EXPECT_THAT(ReadFile(*dir_ + "/wider.stderr"),
              HasSubstr("another architecture or vocabulary"));
}

TEST_F(TrainerTest, TermMatchIsAddedOnTopOfAModelWithoutIt) {
  ASSERT_EQ(Train("plain", 20, 0), 0);
  // Zero learning rate: the new model is the old one plus the term-match
  // bias at its starting value.
  ASSERT_EQ(Train("matched", 1, 0,
                  absl::StrCat("--init_from ", *dir_,
                               "/plain.bin --lr 0 --token_match "
                               "--match_bias_init 3")),
            0)
      << ReadFile(*dir_ + "/matched.stderr");
  auto weights = network::LoadWeights(*dir_ + "/matched.bin");
  ASSERT_TRUE(weights.ok()) << weights.status();
  EXPECT_TRUE(weights->header.encoder.token_match);
  EXPECT_THAT(weights->header.notes, HasSubstr("term match"));
  const auto parameters = weights->encoder->named_parameters();
  const torch::Tensor* bias = parameters.find("match_bias");
  ASSERT_NE(bias, nullptr);
  EXPECT_TRUE(torch::allclose(*bias, torch::full_like(*bias, 3.0)));

  // Zero steps (how make train's third stage makes 1.2.0): every trained
  // parameter kept as it was, the bias set, and the notes say so.
  ASSERT_EQ(Train("zero", 0, 0,
                  absl::StrCat("--init_from ", *dir_,
                               "/plain.bin --token_match --match_bias_init 4")),
            0)
      << ReadFile(*dir_ + "/zero.stderr");
  auto zero = network::LoadWeights(*dir_ + "/zero.bin");
  auto plain_weights = network::LoadWeights(*dir_ + "/plain.bin");
  ASSERT_TRUE(zero.ok() && plain_weights.ok());
  EXPECT_THAT(zero->header.notes,
              HasSubstr("plain.bin (not trained further) with a term-match "
                        "bias of 4"));
  const auto zero_params = zero->encoder->named_parameters();
  for (const auto& p : plain_weights->encoder->named_parameters()) {
    ASSERT_NE(zero_params.find(p.key()), nullptr) << p.key();
    EXPECT_TRUE(torch::equal(p.value(), *zero_params.find(p.key()))) << p.key();
  }

  auto plain = network::AttentionModel::Load(*dir_ + "/plain.bin", 1);
  auto matched = network::AttentionModel::Load(*dir_ + "/matched.bin", 1);
  ASSERT_TRUE(plain.ok() && matched.ok());
  auto mass = [](network::AttentionModel& model, const char* query) {
    auto doc = model.Encode(text::Tokenize("kakaka lololo the mimimi kakaka."));
    EXPECT_TRUE(doc.ok());
    auto m = model.Relevance(text::Tokenize(query), {doc->get()});
    EXPECT_TRUE(m.ok());
    return (*m)[0];
  };
  // The query's word gets more of the mass where it recurs...
  const std::vector<float> before = mass(**plain, "kakaka");
  const std::vector<float> after = mass(**matched, "kakaka");
  ASSERT_EQ(after.size(), 5u);
  EXPECT_GT(after[0] + after[4], before[0] + before[4] + 0.1);
  // ...while a stopword matches nothing: the same read-out as before.
  const std::vector<float> stop_before = mass(**plain, "the");
  const std::vector<float> stop_after = mass(**matched, "the");
  for (size_t i = 0; i < stop_after.size(); ++i) {
    EXPECT_NEAR(stop_after[i], stop_before[i], 1e-6) << i;
  }
}

TEST_F(TrainerTest, TermMatchBiasLearnsAtItsOwnRate) {
  ASSERT_EQ(Train("plain_rate", 20, 0), 0);
  auto bias_after = [](const std::string& name, const std::string& scale) {
    EXPECT_EQ(Train(name, 3, 0,
                    absl::StrCat("--init_from ", *dir_,
                                 "/plain_rate.bin --token_match "
                                 "--match_bias_init 3 --match_bias_lr_scale ",
                                 scale)),
              0)
        << ReadFile(*dir_ + "/" + name + ".stderr");
    auto weights = network::LoadWeights(*dir_ + "/" + name + ".bin");
    EXPECT_TRUE(weights.ok()) << weights.status();
    return weights->encoder->named_parameters()["match_bias"].clone();
  };
  // Scale 0 holds the bias where it started while the rest trains...
  const torch::Tensor frozen = bias_after("rate0", "0");
  EXPECT_TRUE(torch::equal(frozen, torch::full_like(frozen, 3.0)));
  // ...and a large scale moves it by more than the base rate could in three
  // steps (Adam moves a parameter by about the learning rate per step).
  const torch::Tensor moved = bias_after("rate100", "100");
  EXPECT_GT((moved - 3.0).abs().max().item<float>(), 3 * 0.003);
}

TEST_F(TrainerTest, LearnsToRankAgainstDistractorWindows) {
  // 48-token windows in 150-token documents leave room for two distractor
  // windows per example, whose keys share the query's softmax.
  ASSERT_EQ(Train("distract", 90, 0, "--window_tokens 48 --negative_windows 2"),
            0)
      << ReadFile(*dir_ + "/distract.stderr");
  std::vector<double> held_out;
  for (const auto& e : Log("distract")) {
    if (e["event"] == "eval") held_out.push_back(e["eval_retrieval_loss"]);
  }
  ASSERT_EQ(held_out.size(), 3u);
  EXPECT_LT(held_out.back(), held_out.front());
}

}  // namespace
}  // namespace attnr
