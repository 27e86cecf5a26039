// attnr-train: trains the attention retriever and writes its weights file.
//
//   attnr-train --corpus DIR --out model.bin [--checkpoint_dir DIR]
//               [--steps N] [--seed S] [--threads T]
//
// DIR holds corpus.json, vocab.txt and glove.f32 (model/train/
// build_corpus.py). Objectives, per example: the retrieval loss -log(the
// attention mass the query puts on its gold sentences) over a window of the
// document around them (the rest of the window is the hard negatives), plus
// next-token prediction over the same window. With --negative_windows K, K
// more windows of the same document, encoded without gradients, share the
// query's softmax: the read-out then learns to rank against thousands of
// tokens of distractors, as it must when serving whole documents.
// --init_from starts from a trained weights file (a second training stage).
// Checkpoints every
// --checkpoint_every steps; a rerun with the same flags resumes from the last
// one, bit for bit (seeded sampling, saved RNG and optimizer state).
#include <malloc.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <numeric>
#include <random>
#include <sstream>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "model/llama/attention_reader.h"
#include "model/llama/llama_decoder.h"
#include "model/network/encoder.h"
#include "model/network/weights_file.h"
#include "model/train/llm_readout.h"
#include "model/train/training_corpus.h"

ABSL_FLAG(std::string, corpus, "",
          "Folder with corpus.json, vocab.txt, glove.f32.");
ABSL_FLAG(std::string, out, "", "Weights file to write.");
ABSL_FLAG(std::string, checkpoint_dir, "", "Checkpoints (resume from here).");
ABSL_FLAG(std::string, log, "",
          "JSON-lines training log (default: checkpoint_dir/train.log).");
ABSL_FLAG(int32_t, steps, 3000, "Optimizer steps.");
ABSL_FLAG(int32_t, stop_after, 0,
          "Stop (after checkpointing) once this many steps are done, as if "
          "cut off; 0 runs to --steps. For testing resumption.");
ABSL_FLAG(int32_t, accumulate, 4, "Examples per optimizer step.");
ABSL_FLAG(int32_t, window_tokens, 768, "Document tokens per training window.");
ABSL_FLAG(int32_t, negative_windows, 0,
          "Extra windows of the same document per example (no gradient), "
          "sharing the query's softmax as distractors.");
ABSL_FLAG(std::string, corpus_json, "corpus.json",
          "File in --corpus holding documents and examples.");
ABSL_FLAG(std::string, init_from, "",
          "Start from this weights file's parameters (same architecture "
          "and vocabulary).");
ABSL_FLAG(int32_t, checkpoint_every, 100, "Steps between checkpoints.");
ABSL_FLAG(int32_t, eval_every, 250, "Steps between held-out evaluations.");
ABSL_FLAG(int32_t, seed, 20261124, "Seed for everything random.");
ABSL_FLAG(int32_t, threads, 2, "Intra-op threads.");
ABSL_FLAG(bool, flush_denormals, false,
          "Flush denormal floats to zero on every intra-op thread (faster "
          "once attention is peaked; off reproduces models up to 1.1.0 bit "
          "for bit).");
ABSL_FLAG(double, lr, 1e-3, "Peak learning rate (AdamW, warm-up, cosine).");
ABSL_FLAG(double, lm_weight, 0.3, "Weight of the next-token loss.");
ABSL_FLAG(double, lm_fraction, 0.25,
          "Share of positions with a next-token loss.");
ABSL_FLAG(int32_t, width, 128, "Model width.");
ABSL_FLAG(int32_t, layers, 4, "Transformer layers.");
ABSL_FLAG(int32_t, heads, 4, "Attention heads.");
ABSL_FLAG(int32_t, buckets, 4096,
          "Hash buckets for words outside the vocabulary.");
ABSL_FLAG(bool, token_match, false,
          "Give the read-out a learned bias for document tokens that are a "
          "query term (same Snowball stem; see EncoderConfig::token_match).");
ABSL_FLAG(double, match_bias_init, 4.0,
          "Starting term-match bias (a logit) when --init_from has none.");
ABSL_FLAG(double, match_bias_lr_scale, 50.0,
          "The term-match bias's learning rate, as a multiple of --lr.");
ABSL_FLAG(std::string, version, "1.0.0",
          "Model version written to the weights.");
ABSL_FLAG(std::string, llm, "",
          "GGUF decoder whose attention read-out to train (with "
          "--llm_readout_input).");
ABSL_FLAG(std::string, llm_readout_input, "",
          "Questions with candidate passages "
          "(model/train/build_readout_input.py): train the LLM read-out.");
ABSL_FLAG(std::string, llm_features, "",
          "Attention features file (appended to; a rerun resumes).");
ABSL_FLAG(int32_t, llm_readout_layers, 0,
          "Layers the written read-out reads (0: the best on the held-out "
          "split).");
ABSL_FLAG(std::string, inspect, "",
          "Print this weights file's header and learned layer x head "
          "read-out mixture as JSON, then exit.");

namespace {

using attnr::network::Encoder;
using attnr::network::EncoderConfig;
using attnr::train::TrainingCorpus;
using attnr::train::TrainingExample;

[[noreturn]] void Die(const std::string& message) {
  std::cerr << "attnr-train: " << message << "\n";
  std::exit(1);
}

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) Die("cannot read " + path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// One training window: document token ids, the candidate sentences inside
// it (relative token ranges) and which of them are gold.
struct Window {
  int64_t start = 0;  // First token's index in the document.
  std::vector<int64_t> ids;
  std::vector<int64_t> terms;
  std::vector<int64_t> sentence_of_token;  // -1 outside candidate sentences.
  int64_t sentences = 0;
  std::vector<int64_t> gold;  // Window-relative sentence indices.
};

// Fills `w` with tokens [start, end) of `doc`: the sentences wholly inside
// are its candidates; those listed in `gold` (ascending) are gold.
void FillWindow(const attnr::train::TrainingDocument& doc, int64_t start,
                int64_t end, const std::vector<uint32_t>& gold, Window& w) {
  w.ids.assign(doc.ids.begin() + start, doc.ids.begin() + end);
  if (!doc.terms.empty()) {
    w.terms.assign(doc.terms.begin() + start, doc.terms.begin() + end);
  }
  w.sentence_of_token.assign(end - start, -1);
  for (uint32_t s = 0; s < doc.sentences.size(); ++s) {
    const auto [b, e] = doc.sentences[s];
    if (b < start || e > end) continue;
    for (int64_t t = b; t < e; ++t)
      w.sentence_of_token[t - start] = w.sentences;
    if (std::binary_search(gold.begin(), gold.end(), s)) {
      w.gold.push_back(w.sentences);
    }
    ++w.sentences;
  }
}

Window MakeWindow(const TrainingCorpus& corpus, const TrainingExample& ex,
                  int64_t max_tokens, std::mt19937_64& rng) {
  const auto& doc = corpus.documents[ex.document];
  const int64_t n = static_cast<int64_t>(doc.ids.size());
  const int64_t length = std::min(max_tokens, n);
  const int64_t gold_begin = doc.sentences[ex.gold_sentences.front()].first;
  const int64_t gold_end = doc.sentences[ex.gold_sentences.back()].second;
  // A window holding the start of the gold, placed at random around it.
  const int64_t lo =
      std::max<int64_t>(0, std::min(gold_end, gold_begin + length) - length);
  const int64_t hi = std::max(lo, std::min(gold_begin, n - length));
  const int64_t start = std::uniform_int_distribution<int64_t>(lo, hi)(rng);
  Window w;
  w.start = start;
  FillWindow(doc, start, start + length, ex.gold_sentences, w);
  return w;
}

// Up to `count` distractor windows of `max_tokens` from the parts of the
// example's document before and after `gold` (they hold no gold sentence:
// answers are contiguous and the gold window holds their start).
std::vector<Window> MakeNegativeWindows(const TrainingCorpus& corpus,
                                        const TrainingExample& ex,
                                        const Window& gold, int64_t max_tokens,
                                        int count, std::mt19937_64& rng) {
  const auto& doc = corpus.documents[ex.document];
  const int64_t n = static_cast<int64_t>(doc.ids.size());
  const int64_t gold_end = gold.start + static_cast<int64_t>(gold.ids.size());
  const int64_t answer_end = doc.sentences[ex.gold_sentences.back()].second;
  // Free tokens: [0, gold.start) and [max(gold_end, answer_end), n).
  const int64_t after = std::max(gold_end, answer_end);
  const int64_t free_before = gold.start, free_after = n - after;
  std::vector<Window> out;
  for (int i = 0; i < count; ++i) {
    const int64_t total = free_before + free_after;
    if (total < 32) break;  // A document with no room for distractors.
    const int64_t length =
        std::min(max_tokens, std::max(free_before, free_after));
    // Pick a side in proportion to its room, then a start inside it.
    const bool before =
        free_after < length ||
        (free_before >= length && std::uniform_int_distribution<int64_t>(
                                      0, total - 1)(rng) < free_before);
    const int64_t lo = before ? 0 : after;
    const int64_t room = before ? free_before : free_after;
    const int64_t start =
        lo + std::uniform_int_distribution<int64_t>(0, room - length)(rng);
    Window w;
    w.start = start;
    FillWindow(doc, start, start + length, {}, w);
    out.push_back(std::move(w));
  }
  return out;
}

struct Losses {
  torch::Tensor retrieval, lm;
  torch::Tensor sentence_mass;  // [sentences], for evaluation.
};

// Attention mass per candidate sentence of `w` (tokens outside candidate
// sentences go to a spill bin, dropped).
torch::Tensor SentenceMass(const Window& w, const torch::Tensor& relevance) {
  const auto opts = torch::TensorOptions().dtype(torch::kLong);
  torch::Tensor bins = torch::tensor(w.sentence_of_token, opts);
  bins = torch::where(bins < 0, torch::full_like(bins, w.sentences), bins);
  return torch::zeros({w.sentences + 1})
      .index_add(0, bins, relevance)
      .slice(0, 0, w.sentences);
}

Losses Run(Encoder& model, const TrainingExample& ex, const Window& w,
           const std::vector<Window>& negatives, double lm_fraction,
           std::mt19937_64& rng) {
  const auto opts = torch::TensorOptions().dtype(torch::kLong);
  const torch::Tensor doc_ids = torch::tensor(w.ids, opts);
  const torch::Tensor query_ids = torch::tensor(ex.query_ids, opts);
  attnr::network::EncoderOutput doc = model->Forward(doc_ids, true, false);
  doc.terms = torch::tensor(w.terms, opts);
  attnr::network::EncoderOutput query = model->Forward(query_ids, false, true);
  query.terms = torch::tensor(ex.query_terms, opts);
  // Distractor windows: keys without gradient (the query side and the gold
  // window's keys still learn from them through the shared softmax).
  std::vector<attnr::network::EncoderOutput> negative_keys;
  {
    torch::NoGradGuard no_grad;
    for (const Window& neg : negatives) {
      negative_keys.push_back(
          model->Forward(torch::tensor(neg.ids, opts), true, false));
      negative_keys.back().terms = torch::tensor(neg.terms, opts);
    }
  }
  std::vector<const attnr::network::EncoderOutput*> keys = {&doc};
  for (const auto& k : negative_keys) keys.push_back(&k);
  const std::vector<torch::Tensor> relevance = model->Relevance(query, keys);
  std::vector<torch::Tensor> masses = {SentenceMass(w, relevance[0])};
  for (size_t i = 0; i < negatives.size(); ++i) {
    masses.push_back(SentenceMass(negatives[i], relevance[i + 1]));
  }
  Losses out;
  // Gold window's sentences first, so w.gold indexes this too.
  out.sentence_mass = torch::cat(masses);
  const torch::Tensor gold = torch::tensor(w.gold, opts);
  out.retrieval = -torch::log(masses[0].index_select(0, gold).sum() + 1e-9);
  // Next-token prediction over the window's frequent words, at a random
  // fraction of the positions: the output layer over lm_vocab words costs
  // about as much as the encoder, and a sample teaches nearly as much.
  const int64_t lm_vocab = model->config().lm_vocab;
  const int64_t n = doc_ids.size(0);
  // Positions come from the trainer's own generator (saved in checkpoints),
  // not LibTorch's, so a resumed run samples exactly what it would have.
  std::vector<int64_t> picked(n - 1);
  std::iota(picked.begin(), picked.end(), 0);
  if (lm_fraction < 1.0) {
    std::shuffle(picked.begin(), picked.end(), rng);
    picked.resize(std::max<int64_t>(1, (n - 1) * lm_fraction));
    std::sort(picked.begin(), picked.end());
  }
  const torch::Tensor positions = torch::tensor(picked, opts);
  torch::Tensor targets = doc_ids.index_select(0, positions + 1);
  targets = torch::where(targets < lm_vocab, targets,
                         torch::full_like(targets, -100));
  const torch::Tensor logits =
      model->LanguageModelLogits(doc.hidden.index_select(0, positions));
  out.lm = torch::nn::functional::cross_entropy(
      logits, targets,
      torch::nn::functional::CrossEntropyFuncOptions().ignore_index(-100));
  return out;
}

double LearningRate(int64_t step, int64_t steps, double peak) {
  const int64_t warmup = std::max<int64_t>(1, steps / 20);
  if (step < warmup) return peak * (step + 1) / warmup;
  const double progress =
      static_cast<double>(step - warmup) / std::max<int64_t>(1, steps - warmup);
  return peak * (0.1 + 0.9 * 0.5 * (1 + std::cos(M_PI * progress)));
}

}  // namespace

int Inspect(const std::string& path) {
  auto model = attnr::network::LoadWeights(path);
  if (!model.ok()) Die(std::string(model.status().message()));
  const EncoderConfig& c = model->header.encoder;
  torch::Tensor mix;
  for (const auto& p : model->encoder->named_parameters()) {
    if (p.key() == "head_mix")
      mix = torch::softmax(p.value(), 0).view({c.layers, c.heads});
  }
  // Held by value: find() points into this dictionary.
  const auto parameters = model->encoder->named_parameters();
  const torch::Tensor* match = parameters.find("match_bias");
  nlohmann::json layers = nlohmann::json::array();
  nlohmann::json match_layers = nlohmann::json::array();
  for (int64_t l = 0; l < c.layers; ++l) {
    std::vector<double> heads, match_heads;
    for (int64_t h = 0; h < c.heads; ++h) {
      heads.push_back(mix[l][h].item<double>());
      if (match)
        match_heads.push_back((*match)[l * c.heads + h].item<double>());
    }
    layers.push_back(heads);
    if (match) match_layers.push_back(match_heads);
  }
  int64_t trainable = 0;
  for (const auto& p : model->encoder->parameters()) {
    if (p.requires_grad()) trainable += p.numel();
  }
  std::cout << nlohmann::json{{"name", model->header.name},
                              {"version", model->header.version},
                              {"sha256", model->sha256},
                              {"encoder", nlohmann::json::parse(c.ToJson())},
                              {"trainable_parameters", trainable},
                              {"readout_mix_layer_x_head", layers},
                              {"term_match_bias_layer_x_head", match_layers},
                              {"notes", model->header.notes}}
                   .dump(1)
            << "\n";
  return 0;
}

// The LLM attention view's read-out, the decoder frozen
// (model/train/llm_readout.h).
int TrainLlmReadout() {
  const std::string out = absl::GetFlag(FLAGS_out);
  const std::string features = absl::GetFlag(FLAGS_llm_features);
  if (absl::GetFlag(FLAGS_llm).empty() || out.empty() || features.empty()) {
    Die("--llm, --llm_features and --out are required with "
        "--llm_readout_input");
  }
  auto decoder = attnr::llama::LlamaDecoder::Load(absl::GetFlag(FLAGS_llm),
                                                  absl::GetFlag(FLAGS_threads));
  if (!decoder.ok()) Die(std::string(decoder.status().message()));
  std::vector<int> layers;
  for (int l = 1; l <= (*decoder)->loaded_layers(); ++l) layers.push_back(l);
  auto reader = attnr::llama::AttentionReader::Create(decoder->get(), layers);
  if (!reader.ok()) Die(std::string(reader.status().message()));
  absl::Status s = attnr::train::ComputeReadoutFeatures(
      **reader, absl::GetFlag(FLAGS_llm_readout_input), features);
  if (!s.ok()) Die(std::string(s.message()));
  attnr::train::ReadoutFitOptions options;
  options.layers = absl::GetFlag(FLAGS_llm_readout_layers);
  s = attnr::train::FitReadout(**reader, features, options, out,
                               out + ".report.md");
  if (!s.ok()) Die(std::string(s.message()));
  return 0;
}

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  if (!absl::GetFlag(FLAGS_inspect).empty())
    return Inspect(absl::GetFlag(FLAGS_inspect));
  if (!absl::GetFlag(FLAGS_llm_readout_input).empty()) {
    mallopt(M_MMAP_THRESHOLD, 1 << 30);
    mallopt(M_TRIM_THRESHOLD, 1 << 30);
    return TrainLlmReadout();
  }
  // Keep large LibTorch temporaries mapped (glibc would return and re-fault
  // them on every op).
  mallopt(M_MMAP_THRESHOLD, 1 << 30);
  mallopt(M_TRIM_THRESHOLD, 1 << 30);
  torch::set_num_threads(absl::GetFlag(FLAGS_threads));
  if (absl::GetFlag(FLAGS_flush_denormals)) attnr::network::FlushDenormals();
  const std::string dir = absl::GetFlag(FLAGS_corpus);
  const std::string out_path = absl::GetFlag(FLAGS_out);
  if (dir.empty() || out_path.empty()) Die("--corpus and --out are required");
  const int64_t steps = absl::GetFlag(FLAGS_steps);
  const int seed = absl::GetFlag(FLAGS_seed);
  torch::manual_seed(seed);

  auto vocabulary = attnr::network::Vocabulary::Create(
      ReadAll(dir + "/vocab.txt"), absl::GetFlag(FLAGS_buckets));
  if (!vocabulary.ok()) Die(std::string(vocabulary.status().message()));
  auto corpus = attnr::train::LoadTrainingCorpus(
      dir + "/" + absl::GetFlag(FLAGS_corpus_json), *vocabulary,
      /*with_terms=*/absl::GetFlag(FLAGS_token_match));
  if (!corpus.ok()) Die(std::string(corpus.status().message()));

  EncoderConfig config;
  config.vocab_words = vocabulary->word_count();
  config.vocab_buckets = vocabulary->buckets();
  config.width = absl::GetFlag(FLAGS_width);
  config.layers = absl::GetFlag(FLAGS_layers);
  config.heads = absl::GetFlag(FLAGS_heads);
  config.ffn = 4 * config.width;
  config.token_match = absl::GetFlag(FLAGS_token_match);
  config.lm_vocab = std::min<int64_t>(config.lm_vocab, config.vocab_words);
  const std::string glove = ReadAll(dir + "/glove.f32");
  if (glove.size() !=
      static_cast<size_t>(config.vocab_words * config.glove_dim * 4)) {
    Die("glove.f32 does not match vocab.txt");
  }
  Encoder model(config);
  model->SetGlove(torch::from_blob(const_cast<char*>(glove.data()),
                                   {config.vocab_words, config.glove_dim},
                                   torch::kFloat)
                      .clone());
  if (config.token_match) {
    torch::NoGradGuard no_grad;
    model->named_parameters()["match_bias"].fill_(
        absl::GetFlag(FLAGS_match_bias_init));
  }
  if (const std::string init = absl::GetFlag(FLAGS_init_from); !init.empty()) {
    auto start = attnr::network::LoadWeights(init);
    if (!start.ok()) Die(std::string(start.status().message()));
    // A model may gain the term match on top of one without it.
    EncoderConfig same = start->header.encoder;
    same.token_match = config.token_match;
    if (same.ToJson() != config.ToJson() ||
        start->vocabulary.word_count() != vocabulary->word_count()) {
      Die("--init_from " + init + " has another architecture or vocabulary");
    }
    torch::NoGradGuard no_grad;
    auto from = start->encoder->named_parameters();
    for (auto& p : model->named_parameters()) {
      if (const torch::Tensor* t = from.find(p.key())) p.value().copy_(*t);
    }
    auto from_buffers = start->encoder->named_buffers();
    for (auto& b : model->named_buffers())
      b.value().copy_(from_buffers[b.key()]);
  }

  // Split: every 20th example is held out for the log's evaluation.
  std::vector<uint32_t> train_idx, eval_idx;
  for (uint32_t i = 0; i < corpus->examples.size(); ++i) {
    (i % 20 == 7 ? eval_idx : train_idx).push_back(i);
  }
  // Two groups: the term-match bias (a handful of logits that start far
  // from where the rest of the model is tuned) learns at its own rate.
  std::vector<torch::Tensor> trainable, network_params, match_params;
  for (const auto& p : model->named_parameters()) {
    if (!p.value().requires_grad()) continue;
    trainable.push_back(p.value());
    (p.key() == "match_bias" ? match_params : network_params)
        .push_back(p.value());
  }
  std::vector<torch::optim::OptimizerParamGroup> groups;
  groups.emplace_back(network_params);
  if (!match_params.empty()) groups.emplace_back(match_params);
  torch::optim::AdamW optimizer(
      groups,
      torch::optim::AdamWOptions(absl::GetFlag(FLAGS_lr)).weight_decay(0.01));
  const double match_lr_scale = absl::GetFlag(FLAGS_match_bias_lr_scale);
  std::mt19937_64 rng(seed);
  int64_t step = 0;

  const std::string ckpt_dir = absl::GetFlag(FLAGS_checkpoint_dir);
  const std::string ckpt_state = ckpt_dir + "/state.json";
  if (!ckpt_dir.empty()) {
    std::filesystem::create_directories(ckpt_dir);
    if (std::filesystem::exists(ckpt_state)) {
      const auto state = nlohmann::json::parse(ReadAll(ckpt_state));
      torch::load(model, ckpt_dir + "/model.pt");
      torch::load(optimizer, ckpt_dir + "/optimizer.pt");
      std::istringstream(state["rng"].get<std::string>()) >> rng;
      step = state["step"];
      std::cerr << "attnr-train: resumed from step " << step << "\n";
    }
  }
  std::string log_path = absl::GetFlag(FLAGS_log);
  if (log_path.empty() && !ckpt_dir.empty()) log_path = ckpt_dir + "/train.log";
  std::ofstream log;
  if (!log_path.empty()) log.open(log_path, std::ios::app);
  auto emit = [&](const nlohmann::json& line) {
    std::cerr << line.dump() << "\n";
    if (log) log << line.dump() << "\n" << std::flush;
  };
  emit({{"event", "start"},
        {"step", step},
        {"examples", train_idx.size()},
        {"eval_examples", eval_idx.size()},
        {"documents", corpus->documents.size()},
        {"config", nlohmann::json::parse(config.ToJson())}});

  auto evaluate = [&]() {
    torch::NoGradGuard no_grad;
    std::mt19937_64 eval_rng(seed + 1);  // Same windows every time.
    double loss = 0, top1 = 0, mrr = 0;
    const size_t count = std::min<size_t>(eval_idx.size(), 150);
    if (count == 0) return;  // A corpus too small to hold any out.
    for (size_t i = 0; i < count; ++i) {
      const TrainingExample& ex = corpus->examples[eval_idx[i]];
      const Window w =
          MakeWindow(*corpus, ex, absl::GetFlag(FLAGS_window_tokens), eval_rng);
      if (w.gold.empty()) continue;
      const std::vector<Window> negatives = MakeNegativeWindows(
          *corpus, ex, w, absl::GetFlag(FLAGS_window_tokens),
          absl::GetFlag(FLAGS_negative_windows), eval_rng);
      const Losses l = Run(model, ex, w, negatives, 1.0, eval_rng);
      loss += l.retrieval.item<double>();
      const torch::Tensor order = torch::argsort(l.sentence_mass, 0, true);
      for (int64_t r = 0; r < order.size(0); ++r) {
        const int64_t s = order[r].item<int64_t>();
        if (std::find(w.gold.begin(), w.gold.end(), s) != w.gold.end()) {
          mrr += 1.0 / (r + 1);
          top1 += r == 0;
          break;
        }
      }
    }
    emit({{"event", "eval"},
          {"step", step},
          {"eval_retrieval_loss", loss / count},
          {"eval_top1", top1 / count},
          {"eval_mrr", mrr / count}});
  };

  const auto started = std::chrono::steady_clock::now();
  const int accumulate = absl::GetFlag(FLAGS_accumulate);
  const double lm_weight = absl::GetFlag(FLAGS_lm_weight);
  const int64_t stop_after = absl::GetFlag(FLAGS_stop_after);
  while (step < steps) {
    if (stop_after > 0 && step >= stop_after) {
      emit({{"event", "stopped"}, {"step", step}});
      return 0;
    }
    model->train();
    optimizer.zero_grad();
    double ret_sum = 0, lm_sum = 0;
    for (int a = 0; a < accumulate; ++a) {
      const uint32_t pick = train_idx[std::uniform_int_distribution<size_t>(
          0, train_idx.size() - 1)(rng)];
      const TrainingExample& ex = corpus->examples[pick];
      const Window w =
          MakeWindow(*corpus, ex, absl::GetFlag(FLAGS_window_tokens), rng);
      if (w.gold.empty()) continue;
      const std::vector<Window> negatives = MakeNegativeWindows(
          *corpus, ex, w, absl::GetFlag(FLAGS_window_tokens),
          absl::GetFlag(FLAGS_negative_windows), rng);
      const Losses l =
          Run(model, ex, w, negatives, absl::GetFlag(FLAGS_lm_fraction), rng);
      ((l.retrieval + lm_weight * l.lm) / accumulate).backward();
      ret_sum += l.retrieval.item<double>();
      lm_sum += l.lm.item<double>();
    }
    torch::nn::utils::clip_grad_norm_(trainable, 1.0);
    const double lr = LearningRate(step, steps, absl::GetFlag(FLAGS_lr));
    for (size_t g = 0; g < optimizer.param_groups().size(); ++g) {
      static_cast<torch::optim::AdamWOptions&>(
          optimizer.param_groups()[g].options())
          .lr(g == 0 ? lr : lr * match_lr_scale);
    }
    optimizer.step();
    ++step;
    if (step % 10 == 0 || step == steps) {
      emit({{"event", "train"},
            {"step", step},
            {"retrieval_loss", ret_sum / accumulate},
            {"lm_loss", lm_sum / accumulate},
            {"lr", lr},
            {"elapsed_s", std::chrono::duration<double>(
                              std::chrono::steady_clock::now() - started)
                              .count()}});
    }
    if (step % absl::GetFlag(FLAGS_eval_every) == 0 || step == steps) {
      model->eval();
      evaluate();
    }
    if (!ckpt_dir.empty() &&
        (step % absl::GetFlag(FLAGS_checkpoint_every) == 0 || step == steps)) {
      torch::save(model, ckpt_dir + "/model.pt.tmp");
      torch::save(optimizer, ckpt_dir + "/optimizer.pt.tmp");
      std::rename((ckpt_dir + "/model.pt.tmp").c_str(),
                  (ckpt_dir + "/model.pt").c_str());
      std::rename((ckpt_dir + "/optimizer.pt.tmp").c_str(),
                  (ckpt_dir + "/optimizer.pt").c_str());
      std::ostringstream rng_state;
      rng_state << rng;
      std::ofstream(ckpt_state + ".tmp")
          << nlohmann::json{{"step", step}, {"rng", rng_state.str()}}.dump();
      std::rename((ckpt_state + ".tmp").c_str(), ckpt_state.c_str());
    }
  }
  model->eval();
  attnr::network::ModelHeader header;
  header.name = "attnr-attention";
  header.version = absl::GetFlag(FLAGS_version);
  header.encoder = config;
  const std::string init = absl::GetFlag(FLAGS_init_from);
  if (steps == 0 && !init.empty()) {
    // A read-out setting on top of a trained model, not a training run.
    header.notes = absl::StrCat(
        "the parameters of ", std::filesystem::path(init).filename().string(),
        " (not trained further)",
        config.token_match
            ? absl::StrCat(
                  " with a term-match bias of ",
                  model->named_parameters()["match_bias"].mean().item<float>(),
                  " (mean over layers and heads)")
            : "",
        "; see MODEL_CARD.md");
  } else {
    header.notes = absl::StrCat(
        "trained ", steps, " steps x ", accumulate, " examples, window ",
        absl::GetFlag(FLAGS_window_tokens), " tokens + ",
        absl::GetFlag(FLAGS_negative_windows), " distractor windows, ",
        config.token_match ? "term match, " : "", "seed ", seed,
        init.empty()
            ? ""
            : absl::StrCat(", from ",
                           std::filesystem::path(init).filename().string()),
        "; corpus ", absl::GetFlag(FLAGS_corpus_json), ": ",
        corpus->documents.size(), " documents, ", corpus->examples.size(),
        " examples (see MODEL_CARD.md); GloVe 100-d frozen");
  }
  if (absl::Status s =
          attnr::network::SaveWeights(out_path, header, *vocabulary, model);
      !s.ok()) {
    Die(std::string(s.message()));
  }
  emit({{"event", "done"}, {"step", step}, {"weights", out_path}});
  return 0;
}
