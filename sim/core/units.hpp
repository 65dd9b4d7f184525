// Physical quantities as types, and the one parser that turns unit strings into them.
//
// Inside fleetsim a quantity is never a bare double: `Flops` and `FlopRate` are
// different types, `Flops / FlopRate` is `Seconds`, `Watts * Seconds` is `Joules`.
// Unit strings ("700W", "3.35TBps", "400Gbps", "30min") are accepted only at the
// edges (scenario and catalog files) through parse_quantity(); the value is unwrapped
// to double only where SimGrid or an output file needs it.
#pragma once

#include <cmath>
#include <optional>
#include <string>
#include <string_view>

namespace fleetsim {

// A quantity of dimension Tag, stored in SI base units (FLOP, byte, second, watt...).
template <typename Tag>
class Quantity {
 public:
  constexpr Quantity() = default;
  constexpr explicit Quantity(double base_value) : value_(base_value) {}
  constexpr double value() const { return value_; }

  constexpr Quantity operator+(Quantity o) const { return Quantity(value_ + o.value_); }
  constexpr Quantity operator-(Quantity o) const { return Quantity(value_ - o.value_); }
  constexpr Quantity& operator+=(Quantity o) { value_ += o.value_; return *this; }
  constexpr Quantity& operator-=(Quantity o) { value_ -= o.value_; return *this; }
  constexpr Quantity operator*(double k) const { return Quantity(value_ * k); }
  constexpr Quantity operator/(double k) const { return Quantity(value_ / k); }
  constexpr double operator/(Quantity o) const { return value_ / o.value_; }  // a ratio
  constexpr bool operator<(Quantity o) const { return value_ < o.value_; }
  constexpr bool operator>(Quantity o) const { return value_ > o.value_; }
  constexpr bool operator<=(Quantity o) const { return value_ <= o.value_; }
  constexpr bool operator>=(Quantity o) const { return value_ >= o.value_; }
  constexpr bool operator==(Quantity o) const { return value_ == o.value_; }
  constexpr bool operator!=(Quantity o) const { return value_ != o.value_; }

 private:
  double value_ = 0.0;
};

template <typename Tag>
constexpr Quantity<Tag> operator*(double k, Quantity<Tag> q) { return q * k; }
template <typename Tag>
constexpr Quantity<Tag> max(Quantity<Tag> a, Quantity<Tag> b) { return a < b ? b : a; }
template <typename Tag>
constexpr Quantity<Tag> min(Quantity<Tag> a, Quantity<Tag> b) { return a < b ? a : b; }

struct FlopTag {};
struct FlopRateTag {};
struct ByteTag {};
struct ByteRateTag {};
struct SecondTag {};
struct WattTag {};
struct JouleTag {};
struct RateTag {};  // events per second ("50/s")

using Flops = Quantity<FlopTag>;          // floating-point operations
using FlopRate = Quantity<FlopRateTag>;   // FLOP/s
using Bytes = Quantity<ByteTag>;          // bytes
using ByteRate = Quantity<ByteRateTag>;   // bytes/s (a "400Gbps" string is stored as 50e9 B/s)
using Seconds = Quantity<SecondTag>;
using Watts = Quantity<WattTag>;
using Joules = Quantity<JouleTag>;
using Rate = Quantity<RateTag>;           // 1/s

// The dimensional algebra fleetsim needs; anything else does not compile.
constexpr Seconds operator/(Flops f, FlopRate r) { return Seconds(f.value() / r.value()); }
constexpr FlopRate operator/(Flops f, Seconds t) { return FlopRate(f.value() / t.value()); }
constexpr Flops operator*(FlopRate r, Seconds t) { return Flops(r.value() * t.value()); }
constexpr Flops operator*(Seconds t, FlopRate r) { return r * t; }
constexpr Seconds operator/(Bytes b, ByteRate r) { return Seconds(b.value() / r.value()); }
constexpr ByteRate operator/(Bytes b, Seconds t) { return ByteRate(b.value() / t.value()); }
constexpr Bytes operator*(ByteRate r, Seconds t) { return Bytes(r.value() * t.value()); }
constexpr Joules operator*(Watts p, Seconds t) { return Joules(p.value() * t.value()); }
constexpr Joules operator*(Seconds t, Watts p) { return p * t; }
constexpr Watts operator/(Joules e, Seconds t) { return Watts(e.value() / t.value()); }
constexpr double operator*(Rate r, Seconds t) { return r.value() * t.value(); }

// What a unit string may denote. The parser refuses a string of the wrong dimension
// and a bare number, and says which unit to append.
enum class Dimension { FlopCount, FlopPerSecond, Size, Bandwidth, Duration, Power, Energy, EventRate };

std::string_view dimension_name(Dimension d);     // "a FLOP/s rate", "a duration"...
std::string_view dimension_example(Dimension d);  // "989TFLOPS", "30min"...

// Parses "3.35TBps" as Dimension::Bandwidth into SI (3.35e12). On failure returns
// nullopt and writes a sentence into *error that says what was expected, e.g.
// "expected a duration with a unit (for example 30min), got the bare number 7200".
std::optional<double> parse_quantity(std::string_view text, Dimension dim, std::string* error);

// Formats an SI value with a readable prefix: format_quantity(7.9e15, FlopRate) -> "7.9 PFLOP/s".
std::string format_quantity(double base_value, Dimension dim);

}  // namespace fleetsim
