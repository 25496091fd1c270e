#include "synod/api/snapshot_file.h"

#include <openssl/sha.h>

#include <cstring>

namespace synod::api {

namespace {
constexpr std::string_view kMagic = "synodsnp";
constexpr size_t kHeaderBytes = 16;  // magic, length
constexpr size_t kAlign = 512;

std::string sha256(std::string_view bytes) {
  unsigned char sum[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(), sum);
  return std::string(reinterpret_cast<const char*>(sum), sizeof sum);
}
}  // namespace

std::string encode_snapshot_file(std::string_view state) {
  std::string out(kMagic);
  uint64_t length = state.size();
  for (int i = 0; i < 8; ++i)
    out.push_back(static_cast<char>((length >> (8 * i)) & 0xff));
  out += state;
  out.resize((out.size() + kAlign - 1) / kAlign * kAlign, '\0');
  out += sha256(out);
  return out;
}

absl::StatusOr<std::string> decode_snapshot_file(std::string_view file) {
  if (file.size() < kAlign + SHA256_DIGEST_LENGTH || file.size() % kAlign != SHA256_DIGEST_LENGTH)
    return absl::DataLossError("not a snapshot: " + std::to_string(file.size()) +
                               " bytes, not a multiple of 512 and a SHA-256");
  std::string_view body = file.substr(0, file.size() - SHA256_DIGEST_LENGTH);
  if (sha256(body) != file.substr(body.size()))
    return absl::DataLossError("the snapshot's SHA-256 does not match its contents: it is damaged");
  if (!body.starts_with(kMagic))
    return absl::InvalidArgumentError(
        "not a synod snapshot (an etcd snapshot holds a bbolt database, which synod cannot read)");
  uint64_t length = 0;
  for (int i = 0; i < 8; ++i)
    length |= uint64_t{static_cast<unsigned char>(body[kMagic.size() + i])} << (8 * i);
  if (length > body.size() - kHeaderBytes)
    return absl::DataLossError("the snapshot says it holds " + std::to_string(length) +
                               " bytes, more than the file has");
  return std::string(body.substr(kHeaderBytes, length));
}

}  // namespace synod::api
