// Fixed-layout UTC times as they travel on the wire (the API's signing dates, the times in S3's
// answers): one parser and one printer, driven by a layout string.
//
// In a layout, 'Y' stands for a digit of the year (4), 'M', 'D', 'h', 'm', 's' for the digits of
// the month, day, hour, minute and second (2 each); any other character stands for itself:
// "YYYYMMDDThhmmssZ", "YYYY-MM-DDThh:mm:ssZ". (RFC 3339 times with offsets and fractions are
// util::ParseTime's, in clock.h.) Thread-safe: plain functions.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace mlvault::util {

// The seconds since 1970 of `text` laid out exactly as `layout`; nullopt when the text does not
// match the layout, a field is out of range (month 00, 31 February, hour 24, ...), or the time
// is before 1970 (such a time would not print back the same).
std::optional<int64_t> ParseUtcSeconds(std::string_view text, std::string_view layout);

// The seconds since 1970 of a UTC calendar time (month 1-12); fields out of range are carried
// over as timegm does (the parsers check ranges first).
int64_t UnixSecondsOf(int year, int month, int day, int hour, int minute, int second);

// `unix_seconds` printed in `layout` (for times from 1970 to the end of year 9999, which is
// what the layouts have digits for).
std::string FormatUtcSeconds(int64_t unix_seconds, std::string_view layout);

}  // namespace mlvault::util
