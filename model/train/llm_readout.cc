#include "model/train/llm_readout.h"

#include <torch/torch.h>

#include <chrono>
#include <cmath>
#include <fstream>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "model/views/llm/attention_readout_file.h"

namespace attnr::train {
namespace {

constexpr float kEps = 1e-6f;

struct Question {
  std::string qid;
  bool train = false;
  std::vector<bool> relevant;
  std::vector<int64_t> tokens;
  std::vector<std::vector<float>> features;  // Log masses.
};

absl::StatusOr<std::vector<Question>> LoadFeatures(const std::string& path) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read ", path));
  std::vector<Question> out;
  std::string line;
  while (std::getline(in, line)) {
    nlohmann::json j = nlohmann::json::parse(line, nullptr, false);
    if (j.is_discarded()) continue;  // A line cut off by an interruption.
    Question q;
    q.qid = j["qid"];
    q.train = j["split"] == "train";
    // A question BM25 found no passage for has none (a miss for every
    // ranking of its candidates).
    if (j["relevant"].is_null()) {
      out.push_back(std::move(q));
      continue;
    }
    q.relevant = j["relevant"].get<std::vector<bool>>();
    q.tokens = j["tokens"].get<std::vector<int64_t>>();
    for (const auto& f : j["features"]) {
      std::vector<float> v = f.get<std::vector<float>>();
      for (float& x : v) x = std::log(x + kEps);
      q.features.push_back(std::move(v));
    }
    out.push_back(std::move(q));
  }
  return out;
}

// MRR@10 among a question's candidates, ranked by `scores` (ties: the
// candidate order, i.e. BM25's).
double ReciprocalRank(const std::vector<double>& scores,
                      const std::vector<bool>& relevant) {
  std::vector<size_t> order(scores.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return scores[a] > scores[b]; });
  for (size_t r = 0; r < order.size() && r < 10; ++r) {
    if (relevant[order[r]]) return 1.0 / (r + 1);
  }
  return 0.0;
}

}  // namespace

absl::Status ComputeReadoutFeatures(const views::AttentionReader& reader,
                                    const std::string& input_jsonl,
                                    const std::string& features_jsonl) {
  std::set<std::string> done;
  {
    std::ifstream existing(features_jsonl);
    std::string line;
    while (std::getline(existing, line)) {
      nlohmann::json j = nlohmann::json::parse(line, nullptr, false);
      if (!j.is_discarded()) done.insert(j["qid"].get<std::string>());
    }
  }
  std::ifstream in(input_jsonl);
  if (!in)
    return absl::NotFoundError(absl::StrCat("cannot read ", input_jsonl));
  std::ofstream out(features_jsonl, std::ios::app);
  std::string line, doc;
  std::map<std::pair<int64_t, int64_t>, std::shared_ptr<const llama::KvCache>>
      read;
  int64_t questions = 0, passage_tokens = 0;
  const auto start = std::chrono::steady_clock::now();
  while (std::getline(in, line)) {
    nlohmann::json q = nlohmann::json::parse(line);
    if (done.count(q["qid"].get<std::string>())) continue;
    if (q["doc"] != doc) {
      read.clear();  // Passages are cached per document only.
      doc = q["doc"];
    }
    std::vector<const llama::KvCache*> passages;
    nlohmann::json record = {{"qid", q["qid"]}, {"split", q["split"]}};
    for (const auto& p : q["passages"]) {
      const auto key =
          std::make_pair(p["start"].get<int64_t>(), p["end"].get<int64_t>());
      auto it = read.find(key);
      if (it == read.end()) {
        const std::vector<int32_t> ids =
            reader.PassageIds(p["text"].get<std::string>());
        absl::StatusOr<std::shared_ptr<const llama::KvCache>> kv =
            reader.ReadPassage(ids);
        if (!kv.ok()) return kv.status();
        passage_tokens += static_cast<int64_t>(ids.size());
        it = read.emplace(key, *std::move(kv)).first;
      }
      passages.push_back(it->second.get());
      record["relevant"].push_back(p["relevant"].get<bool>());
      record["tokens"].push_back(it->second->tokens());
    }
    absl::StatusOr<std::vector<std::vector<float>>> masses =
        reader.Attend(passages, q["query"].get<std::string>());
    if (!masses.ok()) return masses.status();
    record["features"] = *masses;
    out << record.dump() << "\n";
    out.flush();
    ++questions;
    if (questions % 20 == 0) {
      const double s = std::chrono::duration<double>(
                           std::chrono::steady_clock::now() - start)
                           .count();
      std::cerr << absl::StrFormat(
          "features: %d questions, %d passage tokens read, %.0f s (%.0f "
          "tokens/s)\n",
          questions, passage_tokens, s, passage_tokens / std::max(s, 1e-9));
    }
  }
  return absl::OkStatus();
}

absl::Status FitReadout(const views::AttentionReader& reader,
                        const std::string& features_jsonl,
                        const ReadoutFitOptions& options,
                        const std::string& out_path,
                        const std::string& report_path) {
  absl::StatusOr<std::vector<Question>> loaded = LoadFeatures(features_jsonl);
  if (!loaded.ok()) return loaded.status();
  std::vector<const Question*> train, held;
  for (const Question& q : *loaded) {
    bool any = false;
    for (bool r : q.relevant) any |= r;
    if (q.train && any) train.push_back(&q);
    if (!q.train) held.push_back(&q);
  }
  if (train.empty() || held.empty()) {
    return absl::FailedPreconditionError(
        "no training or no held-out questions");
  }
  const std::vector<int>& layers = reader.layers();
  const int64_t heads = reader.heads();
  const int64_t nl = static_cast<int64_t>(layers.size());
  const int64_t F = views::kQueryGroups * nl * heads;

  // Standardization over the training passages.
  std::vector<double> mean(F, 0), var(F, 0);
  int64_t count = 0;
  for (const Question* q : train) {
    for (const auto& f : q->features) {
      for (int64_t k = 0; k < F; ++k) mean[k] += f[k];
      ++count;
    }
  }
  for (double& m : mean) m /= count;
  for (const Question* q : train) {
    for (const auto& f : q->features) {
      for (int64_t k = 0; k < F; ++k)
        var[k] += (f[k] - mean[k]) * (f[k] - mean[k]);
    }
  }
  std::vector<float> stdv(F);
  for (int64_t k = 0; k < F; ++k)
    stdv[k] = static_cast<float>(std::sqrt(var[k] / count) + 1e-6);

  auto feature = [&](int g, int64_t a, int64_t h) {
    return (g * nl + a) * heads + h;
  };
  auto standardized = [&](const Question& q, size_t p, int64_t k) {
    return (q.features[p][k] - mean[k]) / stdv[k];
  };

  std::ostringstream report;
  report << "# LLM attention read-out (" << reader.decoder().name() << ")\n\n"
         << "Trained on " << train.size() << " questions, measured on "
         << held.size() << " held-out questions (training corpus, index % 20 "
         << "== 7; never the dev sets): MRR@10 among each question's "
         << "candidates (BM25's top passages, in that order on ties).\n\n";
  double bm25 = 0;
  for (const Question* q : held) {
    bm25 += ReciprocalRank(std::vector<double>(q->relevant.size(), 0.0),
                           q->relevant);
  }
  bm25 /= held.size();
  report << absl::StrFormat("BM25 order: **%.3f**\n\n", bm25);

  // Every layer alone, untrained: the mean over heads of the standardized
  // log mass, for each query group.
  report << "| layer | question tokens | last token |\n|---|---|---|\n";
  for (int64_t a = 0; a < nl; ++a) {
    double mrr[2] = {0, 0};
    for (int g = 0; g < 2; ++g) {
      for (const Question* q : held) {
        std::vector<double> s(q->relevant.size(), 0.0);
        for (size_t p = 0; p < s.size(); ++p) {
          for (int64_t h = 0; h < heads; ++h)
            s[p] += standardized(*q, p, feature(g, a, h));
        }
        mrr[g] += ReciprocalRank(s, q->relevant);
      }
      mrr[g] /= held.size();
    }
    report << absl::StrFormat("| %d | %.3f | %.3f |\n", layers[a], mrr[0],
                              mrr[1]);
  }

  // Trained read-outs of the first L layers.
  struct Fit {
    int depth;
    double l2;
    bool tied;  // One weight per (group, layer), shared by its heads.
    std::vector<int64_t> used;
    std::vector<float> w;
    float length_w;
    double train_mrr, held_mrr;
  };
  auto fit = [&](int depth, double l2, bool tied) {
    Fit out;
    out.depth = depth;
    out.l2 = l2;
    out.tied = tied;
    for (int g = 0; g < 2; ++g)
      for (int64_t a = 0; a < nl; ++a)
        for (int64_t h = 0; h < heads; ++h)
          if (layers[a] <= depth) out.used.push_back(feature(g, a, h));
    const int64_t U = static_cast<int64_t>(out.used.size());
    auto pack = [&](const std::vector<const Question*>& qs, torch::Tensor* x,
                    torch::Tensor* len, torch::Tensor* rel,
                    torch::Tensor* valid) {
      int64_t P = 0;
      for (const Question* q : qs) P = std::max<int64_t>(P, q->relevant.size());
      const int64_t Q = static_cast<int64_t>(qs.size());
      *x = torch::zeros({Q, P, U});
      *len = torch::zeros({Q, P});
      *rel = torch::zeros({Q, P}, torch::kBool);
      *valid = torch::zeros({Q, P}, torch::kBool);
      auto xa = x->accessor<float, 3>();
      auto la = len->accessor<float, 2>();
      auto ra = rel->accessor<bool, 2>();
      auto va = valid->accessor<bool, 2>();
      for (int64_t i = 0; i < Q; ++i) {
        for (size_t p = 0; p < qs[i]->relevant.size(); ++p) {
          for (int64_t u = 0; u < U; ++u)
            xa[i][p][u] =
                static_cast<float>(standardized(*qs[i], p, out.used[u]));
          la[i][p] = std::log(
              static_cast<float>(std::max<int64_t>(qs[i]->tokens[p], 1)));
          ra[i][p] = qs[i]->relevant[p];
          va[i][p] = true;
        }
      }
    };
    torch::Tensor x, len, rel, valid;
    pack(train, &x, &len, &rel, &valid);
    torch::manual_seed(20261130);
    // `used` runs heads innermost, so tied weights repeat per head.
    torch::Tensor v =
        torch::zeros({tied ? U / heads : U}, torch::requires_grad());
    torch::Tensor lw = torch::zeros({1}, torch::requires_grad());
    torch::optim::Adam opt({v, lw}, torch::optim::AdamOptions(options.lr));
    const float neg = -1e9f;
    torch::Tensor w;
    for (int step = 0; step < options.steps; ++step) {
      opt.zero_grad();
      w = tied ? v.repeat_interleave(heads) : v;
      torch::Tensor s = x.matmul(w) + lw * len;
      torch::Tensor all = torch::logsumexp(s.masked_fill(~valid, neg), 1);
      torch::Tensor pos = torch::logsumexp(s.masked_fill(~rel, neg), 1);
      torch::Tensor loss = (all - pos).mean() + l2 * v.pow(2).sum();
      loss.backward();
      opt.step();
    }
    w = (tied ? v.repeat_interleave(heads) : v).detach().contiguous();
    out.w.assign(w.data_ptr<float>(), w.data_ptr<float>() + U);
    out.length_w = lw.item<float>();
    auto measure = [&](const std::vector<const Question*>& qs) {
      double total = 0;
      for (const Question* q : qs) {
        std::vector<double> s(q->relevant.size(), 0.0);
        for (size_t p = 0; p < s.size(); ++p) {
          s[p] =
              out.length_w *
              std::log(static_cast<double>(std::max<int64_t>(q->tokens[p], 1)));
          for (int64_t u = 0; u < U; ++u)
            s[p] += out.w[u] * standardized(*q, p, out.used[u]);
        }
        total += ReciprocalRank(s, q->relevant);
      }
      return total / qs.size();
    };
    out.train_mrr = measure(train);
    out.held_mrr = measure(held);
    return out;
  };

  report
      << "\nTrained read-outs (listwise softmax), layers 1 to L, L2 "
         "strength:\n\n| L | weights | L2 | train MRR@10 | held-out MRR@10 |\n"
         "|---|---|---|---|---|\n";
  std::vector<Fit> fits;
  for (int depth : options.depths) {
    if (depth > layers.back()) continue;
    for (bool tied : {false, true}) {
      for (double l2 : options.l2s) {
        fits.push_back(fit(depth, l2, tied));
        report << absl::StrFormat("| %d | %s | %g | %.3f | %.3f |\n", depth,
                                  tied ? "per layer" : "per head", l2,
                                  fits.back().train_mrr, fits.back().held_mrr);
        std::cerr << "fit L=" << depth << (tied ? " tied" : "") << " l2=" << l2
                  << " held-out " << fits.back().held_mrr << "\n";
      }
    }
  }
  const Fit* chosen = nullptr;
  for (const Fit& f : fits) {
    if (options.layers > 0 && f.depth != options.layers) continue;
    if (chosen == nullptr || f.held_mrr > chosen->held_mrr) chosen = &f;
  }
  if (chosen == nullptr)
    return absl::InvalidArgumentError("no read-out depth fitted");
  report << absl::StrFormat(
      "\nWritten: layers 1 to %d, L2 %g (held-out %.3f vs BM25 %.3f).\n",
      chosen->depth, chosen->l2, chosen->held_mrr, bm25);

  views::AttentionReadout r;
  r.model_sha256 = reader.decoder().sha256();
  r.model_name = reader.decoder().name();
  for (int l : layers) {
    if (l <= chosen->depth) r.layers.push_back(l);
  }
  r.heads = heads;
  r.eps = kEps;
  r.prompt = reader.prompt();
  r.length_weight = chosen->length_w;
  // `used` is ordered (group, layer, head), as the read-out file is.
  for (size_t u = 0; u < chosen->used.size(); ++u) {
    r.mean.push_back(static_cast<float>(mean[chosen->used[u]]));
    r.std.push_back(stdv[chosen->used[u]]);
    r.weights.push_back(chosen->w[u]);
  }
  r.trained_on = absl::StrFormat(
      "%d training questions (corpus index %% 20 not 7 or 13), layers 1-%d, "
      "L2 %g; held-out MRR@10 %.3f among BM25's top candidates (BM25 order "
      "%.3f)",
      train.size(), chosen->depth, chosen->l2, chosen->held_mrr, bm25);
  if (absl::Status s = views::WriteAttentionReadout(r, out_path); !s.ok())
    return s;
  std::ofstream rep(report_path);
  rep << report.str();
  std::cerr << report.str();
  return absl::OkStatus();
}

}  // namespace attnr::train
