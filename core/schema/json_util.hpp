#pragma once

// JSON value semantics that JSON Schema defines differently from nlohmann::json: numbers compare
// by value across integer and floating representations (1 == 1.0), exactly.

#include <cstddef>
#include <string>

#include <nlohmann/json.hpp>

namespace osbd::schema::detail {

/// Compares two JSON numbers exactly: -1, 0 or 1 (2 when either is NaN).
int compare_numbers(const nlohmann::json& a, const nlohmann::json& b);

/// True when value is an integer multiple of divisor (divisor > 0). Exact for two integers; with
/// a floating operand the quotient must be integral within 4 ulps, which absorbs decimal
/// rounding (0.3 is a multiple of 0.1) without accepting real remainders.
bool is_multiple_of(const nlohmann::json& value, const nlohmann::json& divisor);

/// True when a number has no fractional part (1, 1.0, 1e300), whatever its representation.
bool is_integral(const nlohmann::json& number);

/// JSON Schema equality: numbers by value, objects regardless of member order.
bool json_equal(const nlohmann::json& a, const nlohmann::json& b);

/// A hash consistent with json_equal (equal values hash equally).
std::size_t json_hash(const nlohmann::json& value);

/// Compact JSON text for messages, cut at max_chars with "..." so a huge enum stays readable.
std::string json_excerpt(const nlohmann::json& value, std::size_t max_chars = 120);

}  // namespace osbd::schema::detail
