#ifndef ATTNR_MODEL_NETWORK_FAST_EXP_H_
#define ATTNR_MODEL_NETWORK_FAST_EXP_H_

#include <algorithm>
#include <cstdint>
#include <cstring>

namespace attnr::network {

// e^x for a softmax's shifted logits (x <= 0), in plain arithmetic so that
// the kernels' loops over it vectorize (std::exp does not): e^x = 2^n * e^r
// with n = round(x / ln 2) and |r| <= ln 2 / 2, e^r from Cephes' expf
// polynomial (relative error ~1e-7). Below -87 the result would be denormal; it
// is clamped there (e^-87 is 1.6e-38, nothing next to the row's maximum term,
// which is 1).
inline float ExpNonPositive(float x) {
  x = std::max(x, -87.0f);
  // Adding 1.5 * 2^23 rounds x / ln 2 to an integer held in the low
  // mantissa bits, read back as n.
  const float shifted = x * 1.44269504088896341f + 12582912.0f;
  const float n = shifted - 12582912.0f;
  int32_t bits;
  std::memcpy(&bits, &shifted, sizeof bits);
  const int32_t exponent = (bits - 0x4B400000 + 127) << 23;
  float two_n;
  std::memcpy(&two_n, &exponent, sizeof two_n);
  const float r = x - n * 0.693359375f + n * 2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  return (p * r * r + r + 1.0f) * two_n;
}

}  // namespace attnr::network

#endif  // ATTNR_MODEL_NETWORK_FAST_EXP_H_
