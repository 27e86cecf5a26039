// The safetensors header checks on arbitrary bytes: the first 8 bytes are
// the file's header length, the rest its JSON header, the file's size a
// value the input chooses. A header that is not valid is refused with a
// status, never a crash; what is accepted describes byte ranges that lie
// within the data and match their tensors' shapes.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "model/formats/safetensors_header.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 10) return 0;
  const std::string bytes(reinterpret_cast<const char*>(data), size);
  // The data size: small, or as large as the input's second byte says.
  const uint64_t data_size = uint64_t{1} << (data[8] % 48);
  auto length = attnr::formats::SafetensorsHeaderLength(bytes, data_size + size,
                                                        "fuzz.safetensors");
  const std::string header = bytes.substr(9);
  auto tensors =
      attnr::formats::ParseSafetensorsHeader(header, data_size, "fuzz");
  (void)length;
  if (!tensors.ok()) return 0;
  for (const auto& t : *tensors) {
    uint64_t count = 1;
    for (int64_t d : t.shape) {
      if (d < 0) std::abort();
      count *= static_cast<uint64_t>(d);
    }
    if (t.begin > t.end || t.end > data_size ||
        t.end - t.begin != count * t.element_bytes) {
      std::abort();
    }
  }
  return 0;
}
