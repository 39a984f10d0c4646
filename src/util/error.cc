#include "util/error.h"

#include <cerrno>
#include <cstring>

namespace mlvault::util {

std::string_view CodeName(ErrorCode code) {
  switch (code) {
    case ErrorCode::kInvalidArgument: return "invalid-argument";
    case ErrorCode::kNotFound: return "not-found";
    case ErrorCode::kConflict: return "conflict";
    case ErrorCode::kPermissionDenied: return "permission-denied";
    case ErrorCode::kCorruption: return "corruption";
    case ErrorCode::kUnavailable: return "unavailable";
    case ErrorCode::kIo: return "io";
    case ErrorCode::kCancelled: return "cancelled";
    case ErrorCode::kInternal: return "internal";
  }
  return "internal";
}

int ExitCodeFor(ErrorCode code) {
  switch (code) {
    case ErrorCode::kInvalidArgument: return 2;
    case ErrorCode::kNotFound: return 3;
    case ErrorCode::kPermissionDenied: return 4;
    case ErrorCode::kConflict: return 5;
    default: return 1;
  }
}

Error Error::WithContext(std::string_view context) const& {
  return Error(code_, std::string(context) + ": " + message_, field_);
}
Error Error::WithContext(std::string_view context) && {
  message_.insert(0, std::string(context) + ": ");
  return std::move(*this);
}

std::string Error::ToString() const { return std::string(CodeName(code_)) + ": " + message_; }

std::unexpected<Error> ErrnoError(std::string_view what, int err) {
  ErrorCode code = ErrorCode::kIo;
  if (err == ENOENT || err == ENOTDIR) code = ErrorCode::kNotFound;
  else if (err == EACCES || err == EPERM) code = ErrorCode::kPermissionDenied;
  else if (err == EEXIST || err == ENOTEMPTY) code = ErrorCode::kConflict;
  return MakeError(code, std::string(what) + ": " + std::strerror(err));
}

}  // namespace mlvault::util
