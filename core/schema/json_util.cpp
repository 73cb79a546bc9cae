#include "schema/json_util.hpp"

#include <cfloat>
#include <cmath>
#include <cstdint>
#include <functional>

namespace osbd::schema::detail {
namespace {

using json = nlohmann::json;

template <typename T>
int three_way(T a, T b) {
  return a < b ? -1 : (a > b ? 1 : 0);
}

int compare_int_uint(std::int64_t a, std::uint64_t b) {
  return a < 0 ? -1 : three_way(static_cast<std::uint64_t>(a), b);
}

// Integer against double without converting the integer to double (which rounds above 2^53):
// compare with the double's integral part, then let its fractional part decide a tie.
int compare_int_double(std::int64_t a, double b) {
  if (std::isnan(b)) {
    return 2;
  }
  if (b >= 9223372036854775808.0) {
    return -1;
  }
  if (b < -9223372036854775808.0) {
    return 1;
  }
  const double whole = std::trunc(b);
  if (const int c = three_way(a, static_cast<std::int64_t>(whole)); c != 0) {
    return c;
  }
  return three_way(0.0, b - whole);
}

int compare_uint_double(std::uint64_t a, double b) {
  if (std::isnan(b)) {
    return 2;
  }
  if (b < 0) {
    return 1;
  }
  if (b >= 18446744073709551616.0) {
    return -1;
  }
  const double whole = std::trunc(b);
  if (const int c = three_way(a, static_cast<std::uint64_t>(whole)); c != 0) {
    return c;
  }
  return three_way(0.0, b - whole);
}

int flip(int c) {
  return c == 2 ? 2 : -c;
}

std::uint64_t magnitude(const json& integer) {
  if (integer.is_number_unsigned()) {
    return integer.get<std::uint64_t>();
  }
  const auto v = integer.get<std::int64_t>();
  return v < 0 ? std::uint64_t{0} - static_cast<std::uint64_t>(v) : static_cast<std::uint64_t>(v);
}

std::size_t combine(std::size_t seed, std::size_t value) {
  return seed ^ (value + 0x9e3779b97f4a7c15ULL + (seed << 6) + (seed >> 2));
}

}  // namespace

int compare_numbers(const json& a, const json& b) {
  if (a.is_number_float() && b.is_number_float()) {
    const auto x = a.get<double>();
    const auto y = b.get<double>();
    return std::isnan(x) || std::isnan(y) ? 2 : three_way(x, y);
  }
  if (a.is_number_float()) {
    return flip(compare_numbers(b, a));
  }
  if (a.is_number_unsigned()) {
    const auto x = a.get<std::uint64_t>();
    if (b.is_number_unsigned()) {
      return three_way(x, b.get<std::uint64_t>());
    }
    if (b.is_number_integer()) {
      return flip(compare_int_uint(b.get<std::int64_t>(), x));
    }
    return compare_uint_double(x, b.get<double>());
  }
  const auto x = a.get<std::int64_t>();
  if (b.is_number_unsigned()) {
    return compare_int_uint(x, b.get<std::uint64_t>());
  }
  if (b.is_number_integer()) {
    return three_way(x, b.get<std::int64_t>());
  }
  return compare_int_double(x, b.get<double>());
}

bool is_multiple_of(const json& value, const json& divisor) {
  if (value.is_number_integer() && divisor.is_number_integer()) {
    const std::uint64_t d = magnitude(divisor);
    return d != 0 && magnitude(value) % d == 0;
  }
  const double quotient = value.get<double>() / divisor.get<double>();
  if (!std::isfinite(quotient)) {
    return false;
  }
  return std::fabs(quotient - std::round(quotient)) <= 4 * DBL_EPSILON * std::fabs(quotient);
}

bool is_integral(const json& number) {
  if (number.is_number_integer()) {
    return true;
  }
  const auto x = number.get<double>();
  return std::isfinite(x) && std::trunc(x) == x;
}

bool json_equal(const json& a, const json& b) {
  if (a.is_number() && b.is_number()) {
    return compare_numbers(a, b) == 0;
  }
  if (a.type() != b.type()) {
    return false;
  }
  if (a.is_array()) {
    if (a.size() != b.size()) {
      return false;
    }
    for (std::size_t i = 0; i < a.size(); ++i) {
      if (!json_equal(a[i], b[i])) {
        return false;
      }
    }
    return true;
  }
  if (a.is_object()) {
    // Objects are std::maps, so equal key sets come out in the same order.
    if (a.size() != b.size()) {
      return false;
    }
    for (auto x = a.begin(), y = b.begin(); x != a.end(); ++x, ++y) {
      if (x.key() != y.key() || !json_equal(x.value(), y.value())) {
        return false;
      }
    }
    return true;
  }
  return a == b;
}

std::size_t json_hash(const json& value) {
  switch (value.type()) {
    case json::value_t::number_integer:
    case json::value_t::number_unsigned:
    case json::value_t::number_float: {
      // Equal numbers convert to the same double (an integer equal to a double is exactly
      // representable); adding 0.0 turns -0.0 into 0.0.
      const double x = value.get<double>() + 0.0;
      return combine(1, std::hash<double>{}(x));
    }
    case json::value_t::string:
      return combine(2, std::hash<std::string>{}(value.get_ref<const std::string&>()));
    case json::value_t::boolean:
      return combine(3, value.get<bool>() ? 1 : 0);
    case json::value_t::array: {
      std::size_t seed = 4;
      for (const auto& item : value) {
        seed = combine(seed, json_hash(item));
      }
      return seed;
    }
    case json::value_t::object: {
      std::size_t seed = 5;
      for (auto it = value.begin(); it != value.end(); ++it) {
        seed = combine(combine(seed, std::hash<std::string>{}(it.key())), json_hash(it.value()));
      }
      return seed;
    }
    default:
      return 6;
  }
}

std::string json_excerpt(const json& value, std::size_t max_chars) {
  std::string text = value.dump(-1, ' ', false, json::error_handler_t::replace);
  if (text.size() > max_chars) {
    // Cut on a UTF-8 boundary so the message stays valid UTF-8.
    std::size_t cut = max_chars;
    while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) {
      --cut;
    }
    text.resize(cut);
    text += "...";
  }
  return text;
}

}  // namespace osbd::schema::detail
