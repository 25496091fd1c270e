#pragma once

#include <google/protobuf/message.h>

#include <optional>
#include <string>
#include <string_view>

#include "synod/protocol/protocol.h"

namespace synod {

// Typed helpers over Env's byte-level sends. Every message crosses a runtime
// as bytes, in the simulator too, so codec bugs and corruption surface there.

template <typename M>
void send_message(Env& env, ProcessId to, const M& message) {
  env.send(to, message.SerializeAsString());
}

template <typename M>
CallId call_message(Env& env, ProcessId to, const M& message, Duration timeout) {
  return env.call(to, message.SerializeAsString(), timeout);
}

template <typename M>
void respond_message(Env& env, const Incoming& request, const M& message) {
  env.respond(request, message.SerializeAsString());
}

// A large length-delimited field (a snapshot's state), built in place: at
// offset `start` of the string, leave kFieldRoom bytes of room, append the
// field's bytes after them, then frame_field() writes the tag and length
// into the room and drops what is left of it. The bytes are never copied
// to a second string, so a snapshot does not take twice its size in memory.
inline constexpr size_t kFieldRoom = 15;  // the longest tag (5) and length (10)
void frame_field(std::string* out, size_t start, int field_number);

// nullopt when the bytes do not parse: the caller drops the message (and
// may note it), never trusts it.
template <typename M>
std::optional<M> parse_message(std::string_view bytes) {
  M message;
  if (!message.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) return std::nullopt;
  return message;
}

// A short label for traces: the name of the set field of the message's first
// oneof, else the message's type name.
std::string message_label(const google::protobuf::Message& message);

}  // namespace synod
