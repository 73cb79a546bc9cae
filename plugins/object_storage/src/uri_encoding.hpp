#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace osbd_object_storage {

/// One query parameter, unencoded; an empty value stands for a bare name ("?policy").
using QueryParam = std::pair<std::string, std::string>;

/// The canonical query string of SigV4: names and values percent-encoded as SigV4 wants
/// (osb::plugins::percent_encode, '/' included), sorted by encoded name then value, joined as
/// "a=1&b=&c=x%20y" (a bare name gets "=").
std::string canonical_query(const std::vector<QueryParam>& params);

/// The query string as sent on the wire: the same encoding, in the given order, bare names
/// without "=" ("policy&x=1").
std::string wire_query(const std::vector<QueryParam>& params);

}  // namespace osbd_object_storage
