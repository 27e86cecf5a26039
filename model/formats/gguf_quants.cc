#include "model/formats/gguf_quants.h"

#include <cstring>

#include "absl/strings/str_cat.h"

namespace attnr::formats {
namespace {

constexpr size_t kQK = 32;    // Elements per block of the legacy quants.
constexpr size_t kQKK = 256;  // Elements per super-block of the K-quants.

float HalfToFloat(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000) << 16;
  uint32_t exponent = (h >> 10) & 0x1f;
  uint32_t mantissa = h & 0x3ff;
  uint32_t bits;
  if (exponent == 0x1f) {  // Inf or NaN.
    bits = sign | 0x7f800000 | (mantissa << 13);
  } else if (exponent != 0) {
    bits = sign | ((exponent + 112) << 23) | (mantissa << 13);
  } else if (mantissa == 0) {
    bits = sign;
  } else {  // Subnormal: normalise.
    exponent = 113;
    while ((mantissa & 0x400) == 0) {
      mantissa <<= 1;
      --exponent;
    }
    bits = sign | (exponent << 23) | ((mantissa & 0x3ff) << 13);
  }
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

float HalfAt(const uint8_t* p) {
  uint16_t h;
  std::memcpy(&h, p, 2);
  return HalfToFloat(h);
}

// The 6-bit scale and min of sub-block j of a Q4_K / Q5_K super-block.
void ScaleMinK4(int j, const uint8_t* q, uint8_t* d, uint8_t* m) {
  if (j < 4) {
    *d = q[j] & 63;
    *m = q[j + 4] & 63;
  } else {
    *d = (q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4);
    *m = (q[j + 4] >> 4) | ((q[j] >> 6) << 4);
  }
}

void Q4_0Block(const uint8_t* b, float* y) {
  const float d = HalfAt(b);
  const uint8_t* qs = b + 2;
  for (size_t j = 0; j < kQK / 2; ++j) {
    y[j] = ((qs[j] & 0xF) - 8) * d;
    y[j + kQK / 2] = ((qs[j] >> 4) - 8) * d;
  }
}

void Q4_1Block(const uint8_t* b, float* y) {
  const float d = HalfAt(b);
  const float m = HalfAt(b + 2);
  const uint8_t* qs = b + 4;
  for (size_t j = 0; j < kQK / 2; ++j) {
    y[j] = (qs[j] & 0xF) * d + m;
    y[j + kQK / 2] = (qs[j] >> 4) * d + m;
  }
}

void Q5Block(const uint8_t* b, bool with_min, float* y) {
  const float d = HalfAt(b);
  const float m = with_min ? HalfAt(b + 2) : 0.0f;
  const uint8_t* p = b + (with_min ? 4 : 2);
  uint32_t qh;
  std::memcpy(&qh, p, 4);
  const uint8_t* qs = p + 4;
  const int offset = with_min ? 0 : 16;
  for (size_t j = 0; j < kQK / 2; ++j) {
    const uint8_t h0 = ((qh >> j) << 4) & 0x10;
    const uint8_t h1 = (qh >> (j + 12)) & 0x10;
    y[j] = (((qs[j] & 0xF) | h0) - offset) * d + m;
    y[j + kQK / 2] = (((qs[j] >> 4) | h1) - offset) * d + m;
  }
}

void Q8_0Block(const uint8_t* b, float* y) {
  const float d = HalfAt(b);
  const int8_t* qs = reinterpret_cast<const int8_t*>(b + 2);
  for (size_t j = 0; j < kQK; ++j) y[j] = qs[j] * d;
}

void Q4_KBlock(const uint8_t* b, float* y) {
  const float d = HalfAt(b);
  const float dmin = HalfAt(b + 2);
  const uint8_t* scales = b + 4;
  const uint8_t* q = b + 16;
  int is = 0;
  for (size_t j = 0; j < kQKK; j += 64) {
    uint8_t sc, m;
    ScaleMinK4(is, scales, &sc, &m);
    const float d1 = d * sc, m1 = dmin * m;
    ScaleMinK4(is + 1, scales, &sc, &m);
    const float d2 = d * sc, m2 = dmin * m;
    for (int l = 0; l < 32; ++l) *y++ = d1 * (q[l] & 0xF) - m1;
    for (int l = 0; l < 32; ++l) *y++ = d2 * (q[l] >> 4) - m2;
    q += 32;
    is += 2;
  }
}

void Q5_KBlock(const uint8_t* b, float* y) {
  const float d = HalfAt(b);
  const float dmin = HalfAt(b + 2);
  const uint8_t* scales = b + 4;
  const uint8_t* qh = b + 16;
  const uint8_t* ql = b + 48;
  int is = 0;
  uint8_t u1 = 1, u2 = 2;
  for (size_t j = 0; j < kQKK; j += 64) {
    uint8_t sc, m;
    ScaleMinK4(is, scales, &sc, &m);
    const float d1 = d * sc, m1 = dmin * m;
    ScaleMinK4(is + 1, scales, &sc, &m);
    const float d2 = d * sc, m2 = dmin * m;
    for (int l = 0; l < 32; ++l)
      *y++ = d1 * ((ql[l] & 0xF) + (qh[l] & u1 ? 16 : 0)) - m1;
    for (int l = 0; l < 32; ++l)
      *y++ = d2 * ((ql[l] >> 4) + (qh[l] & u2 ? 16 : 0)) - m2;
    ql += 32;
    is += 2;
    u1 <<= 2;
    u2 <<= 2;
  }
}

void Q6_KBlock(const uint8_t* b, float* y) {
  const uint8_t* ql = b;
  const uint8_t* qh = b + 128;
  const int8_t* sc = reinterpret_cast<const int8_t*>(b + 192);
  const float d = HalfAt(b + 208);
  for (size_t n = 0; n < kQKK; n += 128) {
    for (int l = 0; l < 32; ++l) {
      const int is = l / 16;
      const int q1 = ((ql[l] & 0xF) | (((qh[l] >> 0) & 3) << 4)) - 32;
      const int q2 = ((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32;
      const int q3 = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
      const int q4 = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
      y[l] = d * sc[is] * q1;
      y[l + 32] = d * sc[is + 2] * q2;
      y[l + 64] = d * sc[is + 4] * q3;
      y[l + 96] = d * sc[is + 6] * q4;
    }
    y += 128;
    ql += 64;
    qh += 32;
    sc += 8;
  }
}

// One block of a quantised type decoded into its floats.
using BlockDecoder = void (*)(const uint8_t* block, float* out);

BlockDecoder DecoderOf(GgmlType type) {
  switch (type) {
    case GgmlType::kQ4_0:
      return Q4_0Block;
    case GgmlType::kQ4_1:
      return Q4_1Block;
    case GgmlType::kQ5_0:
      return [](const uint8_t* b, float* y) { Q5Block(b, false, y); };
    case GgmlType::kQ5_1:
      return [](const uint8_t* b, float* y) { Q5Block(b, true, y); };
    case GgmlType::kQ8_0:
      return Q8_0Block;
    case GgmlType::kQ4_K:
      return Q4_KBlock;
    case GgmlType::kQ5_K:
      return Q5_KBlock;
    case GgmlType::kQ6_K:
      return Q6_KBlock;
    default:
      return nullptr;
  }
}

}  // namespace

absl::StatusOr<GgmlTypeInfo> TypeInfo(uint32_t type) {
  switch (static_cast<GgmlType>(type)) {
    case GgmlType::kF32:
      return GgmlTypeInfo{"F32", 1, 4, true};
    case GgmlType::kF16:
      return GgmlTypeInfo{"F16", 1, 2, true};
    case GgmlType::kBF16:
      return GgmlTypeInfo{"BF16", 1, 2, true};
    case GgmlType::kQ4_0:
      return GgmlTypeInfo{"Q4_0", kQK, 18, true};
    case GgmlType::kQ4_1:
      return GgmlTypeInfo{"Q4_1", kQK, 20, true};
    case GgmlType::kQ5_0:
      return GgmlTypeInfo{"Q5_0", kQK, 22, true};
    case GgmlType::kQ5_1:
      return GgmlTypeInfo{"Q5_1", kQK, 24, true};
    case GgmlType::kQ8_0:
      return GgmlTypeInfo{"Q8_0", kQK, 34, true};
    case GgmlType::kQ8_1:
      return GgmlTypeInfo{"Q8_1", kQK, 36, false};
    case GgmlType::kQ2_K:
      return GgmlTypeInfo{"Q2_K", kQKK, 84, false};
    case GgmlType::kQ3_K:
      return GgmlTypeInfo{"Q3_K", kQKK, 110, false};
    case GgmlType::kQ4_K:
      return GgmlTypeInfo{"Q4_K", kQKK, 144, true};
    case GgmlType::kQ5_K:
      return GgmlTypeInfo{"Q5_K", kQKK, 176, true};
    case GgmlType::kQ6_K:
      return GgmlTypeInfo{"Q6_K", kQKK, 210, true};
    case GgmlType::kQ8_K:
      return GgmlTypeInfo{"Q8_K", kQKK, 292, false};
  }
  // The I-quants and other types ggml defines that no decoder here takes:
  // named so that an error says which one a file uses.
  static const char* const kOthers[] = {
      "IQ2_XXS", "IQ2_XS", "IQ3_XXS", "IQ1_S", "IQ4_NL", "IQ3_S", "IQ2_S",
      "IQ4_XS",  "I8",     "I16",     "I32",   "I64",    "F64",   "IQ1_M"};
  if (type >= 16 && type <= 29) {
    return GgmlTypeInfo{kOthers[type - 16], 0, 0, false};
  }
  if (type == 34) return GgmlTypeInfo{"TQ1_0", 0, 0, false};
  if (type == 35) return GgmlTypeInfo{"TQ2_0", 0, 0, false};
  if (type == 39) return GgmlTypeInfo{"MXFP4", 0, 0, false};
  return absl::InvalidArgumentError(
      absl::StrCat("unknown ggml tensor type ", type));
}

absl::StatusOr<size_t> RowBytes(uint32_t type, size_t elements) {
  absl::StatusOr<GgmlTypeInfo> info = TypeInfo(type);
  if (!info.ok()) return info.status();
  if (info->block_elements == 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "ggml tensor type ", info->name,
        " is not supported (supported: F32, "
        "F16, BF16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q4_K, Q5_K, Q6_K)"));
  }
  if (elements % info->block_elements != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat(elements, " elements are not whole ", info->name,
                     " blocks of ", info->block_elements));
  }
  return elements / info->block_elements * info->block_bytes;
}

absl::Status DequantizeRow(uint32_t type, const uint8_t* data, size_t elements,
                           float* out) {
  absl::StatusOr<size_t> bytes = RowBytes(type, elements);
  if (!bytes.ok()) return bytes.status();
  const GgmlTypeInfo info = *TypeInfo(type);
  if (!info.dequantizable) {
    return absl::InvalidArgumentError(absl::StrCat(
        "ggml tensor type ", info.name,
        " is not supported (supported: F32, "
        "F16, BF16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q4_K, Q5_K, Q6_K)"));
  }
  const size_t blocks = elements / info.block_elements;
  const size_t n = info.block_elements;
  const size_t w = info.block_bytes;
  switch (static_cast<GgmlType>(type)) {
    case GgmlType::kF32:
      std::memcpy(out, data, elements * 4);
      break;
    case GgmlType::kF16:
      for (size_t i = 0; i < elements; ++i) out[i] = HalfAt(data + 2 * i);
      break;
    case GgmlType::kBF16:
      for (size_t i = 0; i < elements; ++i) {
        uint16_t h;
        std::memcpy(&h, data + 2 * i, 2);
        const uint32_t bits = static_cast<uint32_t>(h) << 16;
        std::memcpy(out + i, &bits, 4);
      }
      break;
    default: {
      const BlockDecoder decode = DecoderOf(static_cast<GgmlType>(type));
      if (decode == nullptr) {
        return absl::InternalError(absl::StrCat("no decoder for ", info.name));
      }
      for (size_t i = 0; i < blocks; ++i) decode(data + i * w, out + i * n);
    }
  }
  return absl::OkStatus();
}

}  // namespace attnr::formats
