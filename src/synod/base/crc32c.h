#pragma once

#include <cstdint>
#include <string_view>

namespace synod {

// CRC-32C (Castagnoli), the checksum on every stored record. Software,
// slicing-by-8.
uint32_t crc32c(std::string_view bytes, uint32_t crc = 0);

}  // namespace synod
