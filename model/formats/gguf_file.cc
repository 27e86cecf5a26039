#include "model/formats/gguf_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <limits>

#include "absl/strings/str_cat.h"
#include "model/formats/gguf_quants.h"

namespace attnr::formats {
namespace {

constexpr uint32_t kMagic = 0x46554747;  // "GGUF" little-endian.
constexpr uint64_t kDefaultAlignment = 32;
// Nesting of arrays inside arrays: GGUF writers produce one level; the
// bound keeps a hostile file from recursing deeply.
constexpr int kMaxArrayDepth = 4;

// Reads little-endian values from the mapping; every read is bounds-checked
// and names the offset where the file ran out.
class Cursor {
 public:
  Cursor(const uint8_t* data, size_t size) : data_(data), size_(size) {}

  size_t offset() const { return offset_; }

  template <typename T>
  absl::StatusOr<T> Read(const char* what) {
    if (size_ - offset_ < sizeof(T)) return Truncated(what);
    T v;
    std::memcpy(&v, data_ + offset_, sizeof(T));
    offset_ += sizeof(T);
    return v;
  }

  absl::StatusOr<std::string> ReadString(const char* what) {
    absl::StatusOr<uint64_t> n = Read<uint64_t>(what);
    if (!n.ok()) return n.status();
    if (size_ - offset_ < *n) return Truncated(what);
    std::string s(reinterpret_cast<const char*>(data_ + offset_), *n);
    offset_ += *n;
    return s;
  }

  absl::Status Truncated(const char* what) const {
    return absl::DataLossError(absl::StrCat("GGUF file ends inside ", what,
                                            " at byte ", offset_, " (size ",
                                            size_, ")"));
  }

 private:
  const uint8_t* data_;
  size_t size_;
  size_t offset_ = 0;
};

absl::StatusOr<GgufValue> ReadValue(Cursor& c, GgufValue::Type type, int depth);

absl::StatusOr<GgufValue> ReadScalar(Cursor& c, GgufValue::Type type) {
  using T = GgufValue::Type;
  GgufValue v;
  v.type = type;
#define ATTNR_GGUF_READ(CType, Store)                   \
  {                                                     \
    absl::StatusOr<CType> x = c.Read<CType>("a value"); \
    if (!x.ok()) return x.status();                     \
    v.value = static_cast<Store>(*x);                   \
    return v;                                           \
  }
  switch (type) {
    case T::kUint8:
      ATTNR_GGUF_READ(uint8_t, uint64_t)
    case T::kInt8:
      ATTNR_GGUF_READ(int8_t, int64_t)
    case T::kUint16:
      ATTNR_GGUF_READ(uint16_t, uint64_t)
    case T::kInt16:
      ATTNR_GGUF_READ(int16_t, int64_t)
    case T::kUint32:
      ATTNR_GGUF_READ(uint32_t, uint64_t)
    case T::kInt32:
      ATTNR_GGUF_READ(int32_t, int64_t)
    case T::kFloat32:
      ATTNR_GGUF_READ(float, double)
    case T::kBool:
      ATTNR_GGUF_READ(uint8_t, uint64_t)
    case T::kUint64:
      ATTNR_GGUF_READ(uint64_t, uint64_t)
    case T::kInt64:
      ATTNR_GGUF_READ(int64_t, int64_t)
    case T::kFloat64:
      ATTNR_GGUF_READ(double, double)
    case T::kString: {
      absl::StatusOr<std::string> s = c.ReadString("a string value");
      if (!s.ok()) return s.status();
      v.value = *std::move(s);
      return v;
    }
    default:
      break;
  }
#undef ATTNR_GGUF_READ
  return absl::InvalidArgumentError(
      absl::StrCat("GGUF value type ", static_cast<uint32_t>(type),
                   " is unknown (byte ", c.offset(), ")"));
}

absl::StatusOr<GgufValue> ReadValue(Cursor& c, GgufValue::Type type,
                                    int depth) {
  if (type != GgufValue::Type::kArray) return ReadScalar(c, type);
  if (depth >= kMaxArrayDepth) {
    return absl::InvalidArgumentError(
        absl::StrCat("GGUF arrays nested deeper than ", kMaxArrayDepth,
                     " at byte ", c.offset()));
  }
  absl::StatusOr<uint32_t> element = c.Read<uint32_t>("an array type");
  if (!element.ok()) return element.status();
  absl::StatusOr<uint64_t> count = c.Read<uint64_t>("an array length");
  if (!count.ok()) return count.status();
  GgufValue v;
  v.type = GgufValue::Type::kArray;
  std::vector<GgufValue> items;
  // Every element takes at least one byte: a count beyond the file is
  // corrupt, not a reason to reserve gigabytes.
  if (*count > std::numeric_limits<uint32_t>::max()) {
    return absl::DataLossError(absl::StrCat("GGUF array of ", *count,
                                            " elements at byte ", c.offset()));
  }
  items.reserve(std::min<uint64_t>(*count, 1 << 20));
  for (uint64_t i = 0; i < *count; ++i) {
    absl::StatusOr<GgufValue> item =
        ReadValue(c, static_cast<GgufValue::Type>(*element), depth + 1);
    if (!item.ok()) return item.status();
    items.push_back(*std::move(item));
  }
  v.value = std::move(items);
  return v;
}

absl::StatusOr<double> AsDouble(const GgufValue& v, const std::string& key) {
  if (const auto* u = std::get_if<uint64_t>(&v.value)) return *u;
  if (const auto* i = std::get_if<int64_t>(&v.value)) return *i;
  if (const auto* d = std::get_if<double>(&v.value)) return *d;
  return absl::InvalidArgumentError(
      absl::StrCat("GGUF key ", key, " is not a number"));
}

absl::StatusOr<int64_t> AsInt(const GgufValue& v, const std::string& key) {
  if (const auto* u = std::get_if<uint64_t>(&v.value)) {
    if (*u > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
      return absl::InvalidArgumentError(
          absl::StrCat("GGUF key ", key, " is out of range"));
    }
    return static_cast<int64_t>(*u);
  }
  if (const auto* i = std::get_if<int64_t>(&v.value)) return *i;
  return absl::InvalidArgumentError(
      absl::StrCat("GGUF key ", key, " is not an integer"));
}

}  // namespace

absl::StatusOr<std::unique_ptr<GgufFile>> GgufFile::Open(
    const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return absl::NotFoundError(
        absl::StrCat("cannot open GGUF file ", path, ": ", strerror(errno)));
  }
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    ::close(fd);
    return absl::NotFoundError(absl::StrCat("cannot stat ", path));
  }
  std::unique_ptr<GgufFile> file(new GgufFile());
  file->path_ = path;
  file->size_ = static_cast<size_t>(st.st_size);
  if (file->size_ > 0) {
    void* map = ::mmap(nullptr, file->size_, PROT_READ, MAP_PRIVATE, fd, 0);
    ::close(fd);
    if (map == MAP_FAILED) {
      return absl::ResourceExhaustedError(
          absl::StrCat("cannot map ", path, ": ", strerror(errno)));
    }
    file->map_ = static_cast<const uint8_t*>(map);
  } else {
    ::close(fd);
  }

  Cursor c(file->map_, file->size_);
  absl::StatusOr<uint32_t> magic = c.Read<uint32_t>("the magic number");
  if (!magic.ok() || *magic != kMagic) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, " is not a GGUF file (no GGUF magic)"));
  }
  absl::StatusOr<uint32_t> version = c.Read<uint32_t>("the version");
  if (!version.ok()) return version.status();
  if (*version != 2 && *version != 3) {
    return absl::InvalidArgumentError(absl::StrCat(
        path, ": GGUF version ", *version, " is not supported (2 and 3 are)"));
  }
  file->version_ = *version;
  absl::StatusOr<uint64_t> tensor_count = c.Read<uint64_t>("the tensor count");
  if (!tensor_count.ok()) return tensor_count.status();
  absl::StatusOr<uint64_t> kv_count = c.Read<uint64_t>("the metadata count");
  if (!kv_count.ok()) return kv_count.status();
  // Each entry takes more than 8 bytes: larger counts are corrupt.
  if (*tensor_count > file->size_ / 8 || *kv_count > file->size_ / 8) {
    return absl::DataLossError(absl::StrCat(
        path, ": ", *tensor_count, " tensors and ", *kv_count,
        " metadata entries cannot fit in ", file->size_, " bytes"));
  }

  for (uint64_t i = 0; i < *kv_count; ++i) {
    absl::StatusOr<std::string> key = c.ReadString("a metadata key");
    if (!key.ok()) return key.status();
    absl::StatusOr<uint32_t> type = c.Read<uint32_t>("a metadata type");
    if (!type.ok()) return type.status();
    absl::StatusOr<GgufValue> value =
        ReadValue(c, static_cast<GgufValue::Type>(*type), 0);
    if (!value.ok()) {
      return absl::Status(value.status().code(),
                          absl::StrCat(path, ": metadata ", *key, ": ",
                                       value.status().message()));
    }
    if (!file->metadata_.emplace(*key, *std::move(value)).second) {
      return absl::DataLossError(
          absl::StrCat(path, ": metadata key ", *key, " appears twice"));
    }
    file->keys_.push_back(*std::move(key));
  }

  uint64_t alignment = kDefaultAlignment;
  if (file->Find("general.alignment") != nullptr) {
    absl::StatusOr<uint64_t> a = file->Uint("general.alignment");
    if (!a.ok() || *a == 0 || (*a & (*a - 1)) != 0) {
      return absl::DataLossError(
          absl::StrCat(path, ": general.alignment is not a power of two"));
    }
    alignment = *a;
  }

  for (uint64_t i = 0; i < *tensor_count; ++i) {
    GgufTensor t;
    absl::StatusOr<std::string> name = c.ReadString("a tensor name");
    if (!name.ok()) return name.status();
    t.name = *std::move(name);
    absl::StatusOr<uint32_t> n_dims = c.Read<uint32_t>("a tensor rank");
    if (!n_dims.ok()) return n_dims.status();
    if (*n_dims == 0 || *n_dims > 4) {
      return absl::DataLossError(absl::StrCat(
          path, ": tensor ", t.name, " has rank ", *n_dims, " (1 to 4)"));
    }
    t.elements = 1;
    for (uint32_t d = 0; d < *n_dims; ++d) {
      absl::StatusOr<uint64_t> dim = c.Read<uint64_t>("a tensor shape");
      if (!dim.ok()) return dim.status();
      if (*dim == 0 || *dim > (uint64_t{1} << 40) ||
          t.elements > (uint64_t{1} << 40) / *dim) {
        return absl::DataLossError(absl::StrCat(path, ": tensor ", t.name,
                                                " has an impossible shape"));
      }
      t.dims.push_back(*dim);
      t.elements *= *dim;
    }
    absl::StatusOr<uint32_t> type = c.Read<uint32_t>("a tensor type");
    if (!type.ok()) return type.status();
    t.type = *type;
    absl::StatusOr<GgmlTypeInfo> info = TypeInfo(t.type);
    if (!info.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(
          path, ": tensor ", t.name, ": ", info.status().message()));
    }
    absl::StatusOr<uint64_t> offset = c.Read<uint64_t>("a tensor offset");
    if (!offset.ok()) return offset.status();
    t.offset = *offset;  // Relative until the data section is known.
    if (info->block_elements != 0) {
      absl::StatusOr<size_t> bytes = RowBytes(t.type, t.dims[0]);
      if (!bytes.ok()) {
        return absl::DataLossError(absl::StrCat(path, ": tensor ", t.name, ": ",
                                                bytes.status().message()));
      }
      t.bytes = *bytes * (t.elements / t.dims[0]);
    }
    if (!file->tensor_index_.emplace(t.name, file->tensors_.size()).second) {
      return absl::DataLossError(
          absl::StrCat(path, ": tensor ", t.name, " appears twice"));
    }
    file->tensors_.push_back(std::move(t));
  }

  const uint64_t data_start =
      (c.offset() + alignment - 1) / alignment * alignment;
  for (GgufTensor& t : file->tensors_) {
    if (t.offset % alignment != 0) {
      return absl::DataLossError(
          absl::StrCat(path, ": tensor ", t.name, " at data offset ", t.offset,
                       " is not aligned to ", alignment));
    }
    t.offset += data_start;
    if (t.offset > file->size_ || t.bytes > file->size_ - t.offset) {
      return absl::DataLossError(
          absl::StrCat(path, ": tensor ", t.name, " (bytes ", t.offset, " to ",
                       t.offset + t.bytes, ") runs past the end of the file (",
                       file->size_, " bytes)"));
    }
  }
  return file;
}

GgufFile::~GgufFile() {
  if (map_ != nullptr) ::munmap(const_cast<uint8_t*>(map_), size_);
}

const GgufValue* GgufFile::Find(const std::string& key) const {
  auto it = metadata_.find(key);
  return it == metadata_.end() ? nullptr : &it->second;
}

absl::StatusOr<const GgufValue*> GgufFile::Get(const std::string& key) const {
  const GgufValue* v = Find(key);
  if (v == nullptr) {
    return absl::NotFoundError(absl::StrCat(path_, ": no metadata ", key));
  }
  return v;
}

absl::StatusOr<std::string> GgufFile::String(const std::string& key) const {
  absl::StatusOr<const GgufValue*> v = Get(key);
  if (!v.ok()) return v.status();
  if (const auto* s = std::get_if<std::string>(&(*v)->value)) return *s;
  return absl::InvalidArgumentError(
      absl::StrCat(path_, ": metadata ", key, " is not a string"));
}

absl::StatusOr<uint64_t> GgufFile::Uint(const std::string& key) const {
  absl::StatusOr<const GgufValue*> v = Get(key);
  if (!v.ok()) return v.status();
  if (const auto* u = std::get_if<uint64_t>(&(*v)->value)) return *u;
  if (const auto* i = std::get_if<int64_t>(&(*v)->value);
      i != nullptr && *i >= 0)
    return static_cast<uint64_t>(*i);
  return absl::InvalidArgumentError(absl::StrCat(
      path_, ": metadata ", key, " is not a non-negative integer"));
}

absl::StatusOr<double> GgufFile::Float(const std::string& key) const {
  absl::StatusOr<const GgufValue*> v = Get(key);
  if (!v.ok()) return v.status();
  return AsDouble(**v, key);
}

absl::StatusOr<bool> GgufFile::Bool(const std::string& key) const {
  absl::StatusOr<const GgufValue*> v = Get(key);
  if (!v.ok()) return v.status();
  if ((*v)->type != GgufValue::Type::kBool) {
    return absl::InvalidArgumentError(
        absl::StrCat(path_, ": metadata ", key, " is not a bool"));
  }
  return std::get<uint64_t>((*v)->value) != 0;
}

template <typename T>
absl::StatusOr<std::vector<T>> GgufFile::Array(
    const std::string& key,
    absl::FunctionRef<absl::StatusOr<T>(const GgufValue&)> convert) const {
  absl::StatusOr<const GgufValue*> v = Get(key);
  if (!v.ok()) return v.status();
  const auto* items = std::get_if<std::vector<GgufValue>>(&(*v)->value);
  if (items == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat(path_, ": metadata ", key, " is not an array"));
  }
  std::vector<T> out;
  out.reserve(items->size());
  for (const GgufValue& item : *items) {
    absl::StatusOr<T> x = convert(item);
    if (!x.ok()) return x.status();
    out.push_back(*std::move(x));
  }
  return out;
}

absl::StatusOr<std::vector<std::string>> GgufFile::Strings(
    const std::string& key) const {
  return Array<std::string>(
      key, [&](const GgufValue& item) -> absl::StatusOr<std::string> {
        if (const auto* s = std::get_if<std::string>(&item.value)) return *s;
        return absl::InvalidArgumentError(absl::StrCat(
            path_, ": metadata ", key, " is not an array of strings"));
      });
}

absl::StatusOr<std::vector<double>> GgufFile::Floats(
    const std::string& key) const {
  return Array<double>(
      key, [&](const GgufValue& item) { return AsDouble(item, key); });
}

absl::StatusOr<std::vector<int64_t>> GgufFile::Ints(
    const std::string& key) const {
  return Array<int64_t>(
      key, [&](const GgufValue& item) { return AsInt(item, key); });
}

const GgufTensor* GgufFile::FindTensor(const std::string& name) const {
  auto it = tensor_index_.find(name);
  return it == tensor_index_.end() ? nullptr : &tensors_[it->second];
}

absl::Span<const uint8_t> GgufFile::Data(const GgufTensor& tensor) const {
  return absl::MakeConstSpan(map_ + tensor.offset, tensor.bytes);
}

absl::StatusOr<std::vector<float>> GgufFile::Dequantize(
    const GgufTensor& tensor) const {
  std::vector<float> out(tensor.elements);
  absl::Status s = DequantizeRow(tensor.type, map_ + tensor.offset,
                                 tensor.elements, out.data());
  if (!s.ok()) {
    return absl::Status(s.code(), absl::StrCat(path_, ": tensor ", tensor.name,
                                               ": ", s.message()));
  }
  return out;
}

}  // namespace attnr::formats
