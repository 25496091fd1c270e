#include "synod/chaos/client.h"

#include <cctype>

namespace synod::chaos {
namespace {

// The longest part of an error message kept for its kind.
constexpr size_t kMaxKindChars = 80;

const char* code_name(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::OK:
      return "OK";
    case grpc::StatusCode::CANCELLED:
      return "CANCELLED";
    case grpc::StatusCode::UNKNOWN:
      return "UNKNOWN";
    case grpc::StatusCode::INVALID_ARGUMENT:
      return "INVALID_ARGUMENT";
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return "DEADLINE_EXCEEDED";
    case grpc::StatusCode::NOT_FOUND:
      return "NOT_FOUND";
    case grpc::StatusCode::ALREADY_EXISTS:
      return "ALREADY_EXISTS";
    case grpc::StatusCode::PERMISSION_DENIED:
      return "PERMISSION_DENIED";
    case grpc::StatusCode::RESOURCE_EXHAUSTED:
      return "RESOURCE_EXHAUSTED";
    case grpc::StatusCode::FAILED_PRECONDITION:
      return "FAILED_PRECONDITION";
    case grpc::StatusCode::ABORTED:
      return "ABORTED";
    case grpc::StatusCode::OUT_OF_RANGE:
      return "OUT_OF_RANGE";
    case grpc::StatusCode::UNIMPLEMENTED:
      return "UNIMPLEMENTED";
    case grpc::StatusCode::INTERNAL:
      return "INTERNAL";
    case grpc::StatusCode::UNAVAILABLE:
      return "UNAVAILABLE";
    case grpc::StatusCode::DATA_LOSS:
      return "DATA_LOSS";
    case grpc::StatusCode::UNAUTHENTICATED:
      return "UNAUTHENTICATED";
    default:
      return "?";
  }
}

bool never_sent(const grpc::Status& status) {
  const std::string& m = status.error_message();
  // gRPC fails a call at once, without sending it, while its channel cannot
  // connect.
  return status.error_code() == grpc::StatusCode::UNAVAILABLE &&
         (m.find("failed to connect") != std::string::npos ||
          m.find("Connection refused") != std::string::npos);
}

}  // namespace

std::shared_ptr<grpc::Channel> make_channel(const std::string& endpoint) {
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
  args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 100);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 1000);
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  return grpc::CreateCustomChannel(endpoint, grpc::InsecureChannelCredentials(), args);
}

std::unique_ptr<grpc::ClientContext> context_with_timeout(std::chrono::milliseconds timeout) {
  auto ctx = std::make_unique<grpc::ClientContext>();
  ctx->set_deadline(std::chrono::system_clock::now() + timeout);
  return ctx;
}

Fate fate_of(const grpc::Status& status) {
  if (never_sent(status)) return Fate::kNotApplied;
  switch (status.error_code()) {
    // Refused by the server's checks before anything was proposed.
    case grpc::StatusCode::INVALID_ARGUMENT:
    case grpc::StatusCode::NOT_FOUND:
    case grpc::StatusCode::ALREADY_EXISTS:
    case grpc::StatusCode::PERMISSION_DENIED:
    case grpc::StatusCode::FAILED_PRECONDITION:
    case grpc::StatusCode::OUT_OF_RANGE:
    case grpc::StatusCode::UNIMPLEMENTED:
    case grpc::StatusCode::UNAUTHENTICATED:
      return Fate::kNotApplied;
    default:
      // A deadline, a broken connection, "request timed out", "leader
      // changed", "no leader": the request may be in some log already.
      return Fate::kUnknown;
  }
}

std::string error_kind(const grpc::Status& status) {
  std::string kind = code_name(status.error_code());
  if (never_sent(status)) return kind + ": failed to connect";
  std::string message;
  bool in_number = false;
  for (char c : status.error_message()) {
    if (std::isdigit(static_cast<unsigned char>(c))) {
      if (!in_number) message += '#';
      in_number = true;
      continue;
    }
    in_number = false;
    message += c;
    if (message.size() >= kMaxKindChars) break;
  }
  return message.empty() ? kind : kind + ": " + message;
}

}  // namespace synod::chaos
