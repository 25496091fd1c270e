#pragma once

// gRPC plumbing shared by the chaos workloads and the cluster: channels to
// members, deadlines, and what an error says about a request's fate.

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <memory>
#include <string>

namespace synod::chaos {

// A channel to one member ("host:port"). Reconnection backoff is capped at a
// second (gRPC's default grows to two minutes, longer than a whole run's
// fault), so a restarted member is reached again promptly.
std::shared_ptr<grpc::Channel> make_channel(const std::string& endpoint);

// A context whose deadline is `timeout` from now.
std::unique_ptr<grpc::ClientContext> context_with_timeout(std::chrono::milliseconds timeout);

// What a failed call says about its effect on the store.
enum class Fate {
  kNotApplied,  // certainly not applied: never sent, or refused before it was proposed
  kUnknown,     // may have been applied, now or later (a timeout, a broken connection)
};
Fate fate_of(const grpc::Status& status);

// A short name for an error, for counting errors by kind: its code and its
// message with numbers and addresses blanked ("UNAVAILABLE: failed to connect").
std::string error_kind(const grpc::Status& status);

}  // namespace synod::chaos
