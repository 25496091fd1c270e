#include "synod/protocol/message.h"

#include <google/protobuf/descriptor.h>

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

}  // namespace synod
