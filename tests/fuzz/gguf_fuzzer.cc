// The GGUF reader on arbitrary bytes (written to a file: the reader maps a
// path): a file that is not valid GGUF is refused with a status, never a
// crash or a read outside the mapping; what it accepts can be read.
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <string>

#include "model/formats/gguf_file.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::string path =
      "/tmp/attnr_gguf_fuzz_" + std::to_string(getpid()) + ".gguf";
  FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr) return 0;
  std::fwrite(data, 1, size, f);
  std::fclose(f);
  auto file = attnr::formats::GgufFile::Open(path);
  if (!file.ok()) return 0;
  for (const std::string& key : (*file)->keys()) {
    (void)(*file)->String(key);
    (void)(*file)->Uint(key);
    (void)(*file)->Strings(key);
    (void)(*file)->Floats(key);
  }
  for (const auto& tensor : (*file)->tensors()) {
    if (tensor.elements <= (1u << 20)) (void)(*file)->Dequantize(tensor);
  }
  return 0;
}
