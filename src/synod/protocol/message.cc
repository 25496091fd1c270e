#include "synod/protocol/message.h"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/wire_format_lite.h>

#include "synod/base/assert.h"

namespace synod {

std::string message_label(const google::protobuf::Message& message) {
  const auto* descriptor = message.GetDescriptor();
  if (descriptor->oneof_decl_count() > 0) {
    const auto* field =
        message.GetReflection()->GetOneofFieldDescriptor(message, descriptor->oneof_decl(0));
    if (field != nullptr) return field->name();
  }
  return descriptor->name();
}

void frame_field(std::string* out, size_t start, int field_number) {
  using google::protobuf::internal::WireFormatLite;
  using google::protobuf::io::CodedOutputStream;
  SYNOD_ASSERT(out->size() >= start + kFieldRoom);
  uint8_t head[kFieldRoom];
  uint8_t* end = CodedOutputStream::WriteTagToArray(
      WireFormatLite::MakeTag(field_number, WireFormatLite::WIRETYPE_LENGTH_DELIMITED), head);
  end = CodedOutputStream::WriteVarint64ToArray(out->size() - start - kFieldRoom, end);
  size_t used = static_cast<size_t>(end - head);
  SYNOD_ASSERT(used <= kFieldRoom);
  // Shifts the bytes down over the unused room: in place, no second string.
  out->replace(start, kFieldRoom, reinterpret_cast<const char*>(head), used);
}

}  // namespace synod
