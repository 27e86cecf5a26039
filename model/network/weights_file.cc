#include "model/network/weights_file.h"

#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "model/network/digest.h"

namespace attnr::network {
namespace {

constexpr char kMagic[] = "ATTNRW01";
constexpr size_t kMagicSize = 8;
constexpr size_t kDigestSize = 32;

template <typename T>
void Put(std::string* out, T value) {
  out->append(reinterpret_cast<const char*>(&value), sizeof(value));
}

// Reads a length-prefixed field at *pos; false if it runs past `end`.
template <typename T>
bool Take(const std::string& data, size_t end, size_t* pos, std::string* out) {
  if (*pos + sizeof(T) > end) return false;
  T length;
  std::memcpy(&length, data.data() + *pos, sizeof(T));
  *pos += sizeof(T);
  if (length > end - *pos) return false;
  out->assign(data, *pos, length);
  *pos += length;
  return true;
}

}  // namespace

absl::Status SaveWeights(const std::string& path, const ModelHeader& header,
                         const Vocabulary& vocabulary, Encoder& encoder) {
  const std::string header_json = nlohmann::json{
      {"name", header.name},
      {"version", header.version},
      {"encoder", nlohmann::json::parse(header.encoder.ToJson())},
      {"notes", header.notes}}.dump();
  std::ostringstream tensors;
  try {
    torch::serialize::OutputArchive archive;
    encoder->save(archive);
    archive.save_to(tensors);
  } catch (const c10::Error& e) {
    return absl::InternalError(
        absl::StrCat("cannot serialize weights: ", e.what()));
  }
  const std::string vocab = vocabulary.Serialize();
  std::string out(kMagic, kMagicSize);
  Put<uint32_t>(&out, static_cast<uint32_t>(header_json.size()));
  out += header_json;
  Put<uint32_t>(&out, static_cast<uint32_t>(vocab.size()));
  out += vocab;
  const std::string blob = tensors.str();
  Put<uint64_t>(&out, blob.size());
  out += blob;
  out += Sha256(out);
  const std::string tmp = path + ".tmp";
  {
    std::ofstream f(tmp, std::ios::binary);
    f.write(out.data(), static_cast<std::streamsize>(out.size()));
    if (!f) return absl::InternalError(absl::StrCat("cannot write ", tmp));
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    return absl::InternalError(
        absl::StrCat("cannot rename ", tmp, " to ", path));
  }
  return absl::OkStatus();
}

absl::StatusOr<LoadedModel> LoadWeights(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f)
    return absl::NotFoundError(
        absl::StrCat("weights file ", path, " not found"));
  std::stringstream buffer;
  buffer << f.rdbuf();
  const std::string data = buffer.str();
  auto corrupt = [&](absl::string_view why) {
    return absl::DataLossError(
        absl::StrCat("weights file ", path, " is corrupt: ", why));
  };
  if (data.size() < kMagicSize + kDigestSize ||
      data.compare(0, kMagicSize, kMagic) != 0) {
    return corrupt("not an attnr weights file (bad magic or too short)");
  }
  const size_t end = data.size() - kDigestSize;
  if (Sha256(absl::string_view(data).substr(0, end)) != data.substr(end)) {
    return corrupt("SHA-256 checksum mismatch");
  }
  size_t pos = kMagicSize;
  std::string header_json, vocab, blob;
  if (!Take<uint32_t>(data, end, &pos, &header_json) ||
      !Take<uint32_t>(data, end, &pos, &vocab) ||
      !Take<uint64_t>(data, end, &pos, &blob) || pos != end) {
    return corrupt("sections do not add up to the file size");
  }
  LoadedModel model;
  const auto header = nlohmann::json::parse(header_json, nullptr, false);
  if (header.is_discarded() || !header.contains("encoder") ||
      !header.contains("name") || !header.contains("version") ||
      !model.header.encoder.FromJson(header["encoder"].dump())) {
    return absl::FailedPreconditionError(absl::StrCat(
        "weights file ", path, " has a header this build cannot read"));
  }
  model.header.name = header["name"];
  model.header.version = header["version"];
  model.header.notes = header.value("notes", "");
  const EncoderConfig& config = model.header.encoder;
  auto vocabulary = Vocabulary::Create(vocab, config.vocab_buckets);
  if (!vocabulary.ok()) return vocabulary.status();
  if (vocabulary->word_count() != config.vocab_words) {
    return absl::FailedPreconditionError(absl::StrCat(
        "weights file ", path, ": vocabulary has ", vocabulary->word_count(),
        " words but the encoder expects ", config.vocab_words));
  }
  model.vocabulary = *std::move(vocabulary);
  try {
    model.encoder = Encoder(config);
    // Module::load replaces tensors wholesale (shape included), so compare
    // every tensor with the shape the declared architecture gives it.
    std::vector<std::pair<std::string, std::vector<int64_t>>> declared;
    for (const auto& p : model.encoder->named_parameters()) {
      declared.emplace_back(p.key(), p.value().sizes().vec());
    }
    std::istringstream in(blob);
    torch::serialize::InputArchive archive;
    archive.load_from(in);
    model.encoder->load(archive);
    // named_parameters() returns its dictionary by value: keep it alive
    // while pointers into it are read.
    const auto loaded_parameters = model.encoder->named_parameters();
    for (const auto& [name, shape] : declared) {
      const torch::Tensor* loaded = loaded_parameters.find(name);
      if (loaded == nullptr || loaded->sizes().vec() != shape) {
        return absl::FailedPreconditionError(absl::StrCat(
            "weights file ", path,
            " does not match the encoder it declares: "
            "tensor '",
            name, "' has shape [",
            loaded == nullptr ? "missing" : absl::StrJoin(loaded->sizes(), ","),
            "], the header implies [", absl::StrJoin(shape, ","), "]"));
      }
    }
  } catch (const c10::Error& e) {
    return absl::FailedPreconditionError(absl::StrCat(
        "weights file ", path, " does not match the encoder it declares: ",
        e.what_without_backtrace()));
  }
  model.encoder->eval();
  model.sha256 = Sha256Hex(data);  // What `sha256sum` prints for the file.
  return model;
}

}  // namespace attnr::network
