// application/x-www-form-urlencoded, as browsers send query strings and as
// Python's urllib.parse.urlencode writes them (space as '+').
#pragma once

#include "core/result.h"

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tokend {

using FormFields = std::vector<std::pair<std::string, std::string>>;

// Percent-encodes everything but unreserved characters (A-Z a-z 0-9 - . _ ~),
// with ' ' as '+'.
std::string form_encode(std::string_view text);

// "a=1&b=2", each name and value form-encoded, in the given order.
std::string form_encode(const FormFields& fields);

// Decodes '+' and %XX; fails on a truncated or non-hex escape.
Result<std::string> form_decode(std::string_view text);

// Parses a query string strictly: every pair decodes, and no name listed in
// `unique` appears twice (a repeated `state` or `code` is an attack or a bug,
// not something to pick one of). Empty pairs ("a=1&&b=2") are skipped.
Result<FormFields> parse_query(std::string_view query, const std::vector<std::string_view>& unique);

// The value of the first field called `name`, or nullptr.
const std::string* find_field(const FormFields& fields, std::string_view name);

}  // namespace tokend
