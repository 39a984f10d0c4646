// Error and Result: how every fallible operation in mlvault reports failure.
//
// A Result<T> is a std::expected<T, Error> the caller must look at ([[nodiscard]]). An Error
// carries a category (ErrorCode), one human sentence and, optionally, the path of the request
// field it is about (`backupCrn`, `newWorkspaceParameters.workspaceName`), so the CLI can name its
// flag and the REST API its field. The category decides the CLI exit code and the HTTP status,
// each mapped in exactly one place (ExitCodeFor here, api::HttpStatusFor in api/status.h). Errors
// are plain values and are safe to copy across threads.
#pragma once

#include <expected>
#include <string>
#include <string_view>
#include <utility>

namespace mlvault::util {

enum class ErrorCode {
  kInvalidArgument,   // bad input from outside: flags, JSON, paths, policies
  kNotFound,          // the named thing does not exist
  kConflict,          // exists already, or another operation holds it
  kPermissionDenied,  // not allowed, not entitled, wrong key
  kCorruption,        // stored data failed a check (authentication, hash, structure)
  kUnavailable,       // a service or storage is not reachable now; may succeed later
  kIo,                // the operating system refused a read or write
  kCancelled,         // cancelled or timed out by request
  kInternal,          // a bug: an invariant did not hold
};

// Stable lowercase name of the category ("invalid-argument", ...), used in JSON errors.
std::string_view CodeName(ErrorCode code);

// The CLI exit code of SPEC.md: 2 bad input, 3 not found, 4 permission denied,
// 5 conflict, 1 everything else.
int ExitCodeFor(ErrorCode code);

class Error {
 public:
  Error(ErrorCode code, std::string message) : code_(code), message_(std::move(message)) {}
  Error(ErrorCode code, std::string message, std::string field)
      : code_(code), message_(std::move(message)), field_(std::move(field)) {}

  ErrorCode code() const { return code_; }
  const std::string& message() const { return message_; }
  // The request field (JSON path, camelCase) the error is about; empty if none.
  const std::string& field() const { return field_; }

  // Returns this error with "context: " put before the message; the category is kept.
  Error WithContext(std::string_view context) const&;
  Error WithContext(std::string_view context) &&;

  // "<code-name>: <message>"
  std::string ToString() const;

 private:
  ErrorCode code_;
  std::string message_;
  std::string field_;
};

// std::expected<T, Error> that must not be dropped: a call whose Result is ignored does not
// compile (-Werror=unused-result, CMakeLists.txt). Where dropping is right, say why and write
// `std::ignore = f();` (or `(void)f();`). Everything of std::expected is inherited; a plain
// std::expected<T, Error> (e.g. from and_then) converts implicitly.
template <class T>
class [[nodiscard]] Result : public std::expected<T, Error> {
  using Base = std::expected<T, Error>;

 public:
  using Base::Base;
  using Base::operator=;
  Result() = default;
  Result(const Base& e) : Base(e) {}       // NOLINT(google-explicit-constructor)
  Result(Base&& e) : Base(std::move(e)) {}  // NOLINT(google-explicit-constructor)
};
using Status = Result<void>;

inline Status Ok() { return {}; }

inline std::unexpected<Error> MakeError(ErrorCode code, std::string message) {
  return std::unexpected<Error>(Error(code, std::move(message)));
}
inline std::unexpected<Error> InvalidArgument(std::string m) {
  return MakeError(ErrorCode::kInvalidArgument, std::move(m));
}
// kInvalidArgument about one request field: message "<field>: <what>", field() = field.
inline std::unexpected<Error> InvalidField(std::string field, std::string what) {
  std::string m = field + ": " + what;
  return std::unexpected<Error>(Error(ErrorCode::kInvalidArgument, std::move(m), std::move(field)));
}

inline std::unexpected<Error> NotFound(std::string m) {
  return MakeError(ErrorCode::kNotFound, std::move(m));
}
inline std::unexpected<Error> Conflict(std::string m) {
  return MakeError(ErrorCode::kConflict, std::move(m));
}
inline std::unexpected<Error> PermissionDenied(std::string m) {
  return MakeError(ErrorCode::kPermissionDenied, std::move(m));
}
inline std::unexpected<Error> Corruption(std::string m) {
  return MakeError(ErrorCode::kCorruption, std::move(m));
}
inline std::unexpected<Error> Unavailable(std::string m) {
  return MakeError(ErrorCode::kUnavailable, std::move(m));
}
inline std::unexpected<Error> IoError(std::string m) {
  return MakeError(ErrorCode::kIo, std::move(m));
}
inline std::unexpected<Error> Cancelled(std::string m) {
  return MakeError(ErrorCode::kCancelled, std::move(m));
}
inline std::unexpected<Error> Internal(std::string m) {
  return MakeError(ErrorCode::kInternal, std::move(m));
}

// An I/O error from errno: "<what>: <strerror(err)>". ENOENT becomes kNotFound,
// EACCES/EPERM kPermissionDenied, EEXIST kConflict, ENOSPC/others kIo.
std::unexpected<Error> ErrnoError(std::string_view what, int err);

}  // namespace mlvault::util

// MLV_TRY(expr): evaluates a Result; on error returns the error from the enclosing function,
// otherwise yields the value (usable as `auto x = MLV_TRY(f());` or as a statement).
#define MLV_TRY(expr)                                        \
  ({                                                         \
    auto _mlv_r = (expr);                                    \
    if (!_mlv_r) return std::unexpected(std::move(_mlv_r).error()); \
    std::move(_mlv_r).value();                               \
  })

// MLV_TRY_CTX(expr, "context"): like MLV_TRY, adding context to the error message.
#define MLV_TRY_CTX(expr, ctx)                                               \
  ({                                                                         \
    auto _mlv_r = (expr);                                                    \
    if (!_mlv_r) return std::unexpected(std::move(_mlv_r).error().WithContext(ctx)); \
    std::move(_mlv_r).value();                                               \
  })
