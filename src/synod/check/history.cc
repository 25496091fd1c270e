#include "synod/check/history.h"

#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <sstream>

#include "absl/status/status.h"

namespace synod::check {
namespace {

using nlohmann::json;

constexpr std::string_view kFields[] = {"client",  "kind", "key",    "value", "expected",
                                        "swapped", "call", "return", "ok"};

absl::Status line_error(size_t line, std::string_view what) {
  return absl::InvalidArgumentError("history line " + std::to_string(line) + ": " +
                                    std::string(what));
}

std::optional<OpKind> kind_from_name(std::string_view name) {
  if (name == "get") return OpKind::kGet;
  if (name == "put") return OpKind::kPut;
  if (name == "delete") return OpKind::kDelete;
  if (name == "cas") return OpKind::kCas;
  return std::nullopt;
}

// Reads an integer field; error text on a missing field or a wrong type.
std::optional<std::string> get_int(const json& object, const char* field, int64_t& out) {
  auto it = object.find(field);
  if (it == object.end()) return std::string("missing \"") + field + "\"";
  if (it->is_number_unsigned()) {
    uint64_t v = it->get<uint64_t>();
    if (v > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
      return std::string("\"") + field + "\" is out of range";
    out = static_cast<int64_t>(v);
    return std::nullopt;
  }
  if (it->is_number_integer()) {
    out = it->get<int64_t>();
    return std::nullopt;
  }
  return std::string("\"") + field + "\" must be an integer";
}

absl::StatusOr<Operation> parse_line(std::string_view text, size_t line) {
  json object = json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  if (object.is_discarded()) return line_error(line, "not valid JSON");
  if (!object.is_object()) return line_error(line, "not a JSON object");
  for (const auto& [name, unused] : object.items()) {
    bool known = false;
    for (std::string_view field : kFields)
      known |= name == field;
    if (!known) return line_error(line, "unknown field \"" + name + "\"");
  }

  Operation op;
  int64_t client = 0;
  if (auto e = get_int(object, "client", client)) return line_error(line, *e);
  if (client < 0) return line_error(line, "\"client\" must not be negative");
  op.client = static_cast<uint64_t>(client);

  auto kind = object.find("kind");
  if (kind == object.end()) return line_error(line, "missing \"kind\"");
  if (!kind->is_string()) return line_error(line, "\"kind\" must be a string");
  auto parsed_kind = kind_from_name(kind->get_ref<const std::string&>());
  if (!parsed_kind)
    return line_error(line, "unknown kind \"" + kind->get<std::string>() +
                                "\" (expected get, put, delete or cas)");
  op.kind = *parsed_kind;

  auto key = object.find("key");
  if (key == object.end()) return line_error(line, "missing \"key\"");
  if (!key->is_string()) return line_error(line, "\"key\" must be a string");
  op.key = key->get<std::string>();

  if (auto e = get_int(object, "call", op.call)) return line_error(line, *e);
  if (op.call < 0) return line_error(line, "\"call\" must not be negative");
  if (auto e = get_int(object, "return", op.ret)) return line_error(line, *e);
  auto ok = object.find("ok");
  if (ok == object.end()) return line_error(line, "missing \"ok\"");
  if (!ok->is_boolean()) return line_error(line, "\"ok\" must be true or false");
  if (op.ret == -1) {
    if (ok->get<bool>())
      return line_error(line,
                        "\"ok\":true with \"return\":-1 (an operation that never returned "
                        "cannot be known to have succeeded)");
    op.outcome = Outcome::kUnknown;
  } else {
    if (op.ret < op.call) return line_error(line, "\"return\" is before \"call\"");
    op.outcome = ok->get<bool>() ? Outcome::kOk : Outcome::kFailed;
  }

  // value / expected / swapped, by kind.
  auto value = object.find("value");
  auto expected = object.find("expected");
  auto swapped = object.find("swapped");
  std::string_view kind_text = kind_name(op.kind);
  auto not_for_kind = [&](const char* field) {
    return line_error(
        line, std::string("\"") + field + "\" is not allowed for " + std::string(kind_text));
  };
  auto string_field = [&](json::const_iterator it, const char* field,
                          std::optional<std::string>& out) -> absl::Status {
    if (it == object.end()) return line_error(line, std::string("missing \"") + field + "\"");
    if (!it->is_string())
      return line_error(line, std::string("\"") + field + "\" must be a string");
    out = it->get<std::string>();
    return absl::OkStatus();
  };
  switch (op.kind) {
    case OpKind::kGet:
      if (value != object.end() && !value->is_null()) {
        if (!value->is_string()) return line_error(line, "\"value\" must be a string or null");
        op.value = value->get<std::string>();
      }
      if (expected != object.end()) return not_for_kind("expected");
      if (swapped != object.end()) return not_for_kind("swapped");
      break;
    case OpKind::kPut:
      if (auto s = string_field(value, "value", op.value); !s.ok()) return s;
      if (expected != object.end()) return not_for_kind("expected");
      if (swapped != object.end()) return not_for_kind("swapped");
      break;
    case OpKind::kDelete:
      if (value != object.end() && !value->is_null()) return not_for_kind("value");
      if (expected != object.end()) return not_for_kind("expected");
      if (swapped != object.end()) return not_for_kind("swapped");
      break;
    case OpKind::kCas:
      if (auto s = string_field(value, "value", op.value); !s.ok()) return s;
      if (auto s = string_field(expected, "expected", op.expected); !s.ok()) return s;
      if (swapped != object.end()) {
        if (!swapped->is_boolean()) return line_error(line, "\"swapped\" must be true or false");
        op.swapped = swapped->get<bool>();
      } else if (op.outcome == Outcome::kOk) {
        return line_error(line, "missing \"swapped\" (required for a cas that returned ok)");
      }
      break;
  }
  return op;
}

}  // namespace

std::string_view kind_name(OpKind kind) {
  switch (kind) {
    case OpKind::kGet:
      return "get";
    case OpKind::kPut:
      return "put";
    case OpKind::kDelete:
      return "delete";
    case OpKind::kCas:
      return "cas";
  }
  return "?";
}

absl::StatusOr<History> parse_history(std::string_view jsonl) {
  History history;
  size_t line = 0;
  while (!jsonl.empty()) {
    ++line;
    size_t end = jsonl.find('\n');
    std::string_view text = jsonl.substr(0, end);
    jsonl = end == std::string_view::npos ? std::string_view() : jsonl.substr(end + 1);
    if (!text.empty() && text.back() == '\r') text.remove_suffix(1);
    if (text.size() > kMaxHistoryLineBytes)
      return line_error(line, "longer than " + std::to_string(kMaxHistoryLineBytes) + " bytes");
    if (text.find_first_not_of(" \t") == std::string_view::npos) continue;
    auto op = parse_line(text, line);
    if (!op.ok()) return op.status();
    history.push_back(*std::move(op));
  }
  return history;
}

absl::StatusOr<History> read_history_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError("cannot open history file " + path);
  std::ostringstream contents;
  contents << in.rdbuf();
  if (in.bad()) return absl::DataLossError("cannot read history file " + path);
  auto history = parse_history(contents.str());
  if (!history.ok())
    return absl::InvalidArgumentError(path + ": " + std::string(history.status().message()));
  return history;
}

std::string to_json_line(const Operation& op) {
  nlohmann::ordered_json line;
  line["client"] = op.client;
  line["kind"] = kind_name(op.kind);
  line["key"] = op.key;
  switch (op.kind) {
    case OpKind::kGet:
      line["value"] = op.value ? nlohmann::ordered_json(*op.value) : nullptr;
      break;
    case OpKind::kPut:
      line["value"] = op.value.value_or("");
      break;
    case OpKind::kDelete:
      break;
    case OpKind::kCas:
      line["expected"] = op.expected.value_or("");
      line["value"] = op.value.value_or("");
      line["swapped"] = op.swapped;
      break;
  }
  line["call"] = op.call;
  line["return"] = op.outcome == Outcome::kUnknown ? int64_t{-1} : op.ret;
  line["ok"] = op.outcome == Outcome::kOk;
  return line.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

}  // namespace synod::check
