// Units, the unit-string parser and error formatting.
#include <catch2/catch.hpp>

#include "core/error.hpp"
#include "core/units.hpp"

using namespace fleetsim;

static double parse(const char* text, Dimension d) {
  std::string error;
  auto v = parse_quantity(text, d, &error);
  INFO(error);
  REQUIRE(v.has_value());
  return *v;
}

static std::string parse_error(const char* text, Dimension d) {
  std::string error;
  REQUIRE_FALSE(parse_quantity(text, d, &error).has_value());
  return error;
}

TEST_CASE("unit strings of SCENARIO.md parse to SI values") {
  CHECK(parse("700W", Dimension::Power) == Approx(700));
  CHECK(parse("10.2kW", Dimension::Power) == Approx(10200));
  CHECK(parse("150MW", Dimension::Power) == Approx(150e6));
  CHECK(parse("80GiB", Dimension::Size) == Approx(80.0 * 1024 * 1024 * 1024));
  CHECK(parse("80GB", Dimension::Size) == Approx(80e9));
  CHECK(parse("3.35TBps", Dimension::Bandwidth) == Approx(3.35e12));
  // bits: 400 Gb/s is 50 GB/s
  CHECK(parse("400Gbps", Dimension::Bandwidth) == Approx(50e9));
  CHECK(parse("51.2Tbps", Dimension::Bandwidth) == Approx(6.4e12));
  CHECK(parse("989TFLOPS", Dimension::FlopPerSecond) == Approx(989e12));
  CHECK(parse("5us", Dimension::Duration) == Approx(5e-6));
  CHECK(parse("30min", Dimension::Duration) == Approx(1800));
  CHECK(parse("12h", Dimension::Duration) == Approx(43200));
  CHECK(parse("30d", Dimension::Duration) == Approx(2592000));
  CHECK(parse("50/s", Dimension::EventRate) == Approx(50));
  CHECK(parse("2MWh", Dimension::Energy) == Approx(7.2e9));
  CHECK(parse(" 1e3 W ", Dimension::Power) == Approx(1000));
}

TEST_CASE("a bare number where a unit is needed says which unit to append") {
  CHECK(parse_error("7200", Dimension::Duration) ==
        "expected a duration with a unit (for example 30min), got the bare number 7200; append the unit, for "
        "example 7200s");
  CHECK(parse_error("700", Dimension::Power).find("700W") != std::string::npos);
}

TEST_CASE("wrong dimensions, unknown units and negatives are refused") {
  CHECK(parse_error("700W", Dimension::Duration) ==
        "expected a duration with a unit (for example 30min), got the unknown unit 'W' in '700W'");
  CHECK(parse_error("3parsecs", Dimension::Duration).find("unknown unit 'parsecs'") != std::string::npos);
  CHECK(parse_error("-5W", Dimension::Power).find("not negative") != std::string::npos);
  CHECK(parse_error("", Dimension::Power).find("empty") != std::string::npos);
  CHECK(parse_error("nanW", Dimension::Power).find("got 'nanW'") != std::string::npos);
  // "min" takes no SI prefix: "kmin" is not a unit.
  CHECK(parse_error("3kmin", Dimension::Duration).find("unknown unit") != std::string::npos);
  // IEC prefixes are for bytes and bits only.
  CHECK(parse_error("3KiW", Dimension::Power).find("unknown unit") != std::string::npos);
}

TEST_CASE("the type algebra keeps dimensions apart") {
  const Flops work(1e15);
  const FlopRate speed(1e12);
  const Seconds t = work / speed;
  CHECK(t.value() == Approx(1000));
  const Joules e = Watts(700) * Seconds(10);
  CHECK(e.value() == Approx(7000));
  CHECK((e / Seconds(10)).value() == Approx(700));
  CHECK((Bytes(100) / ByteRate(50)).value() == Approx(2));
}

TEST_CASE("format_quantity picks a readable prefix") {
  CHECK(format_quantity(7.912e15, Dimension::FlopPerSecond) == "7.912 PFLOP/s");
  CHECK(format_quantity(10200, Dimension::Power) == "10.2 kW");
  CHECK(format_quantity(80e9, Dimension::Size) == "80 GB");
  CHECK(format_quantity(2592000, Dimension::Duration) == "30 d");
  CHECK(format_quantity(5400, Dimension::Duration) == "1.5 h");
  CHECK(format_quantity(0.25, Dimension::Duration) == "0.25 s");
}

TEST_CASE("problems print as FILE:LINE:COL: key.path: message") {
  Problem p{{"s.yaml", 3, 5}, "workloads.0.gpus", "expected an integer of at least 1, got 0"};
  CHECK(p.to_string() == "s.yaml:3:5: workloads.0.gpus: expected an integer of at least 1, got 0");
  InputError e({p, p});
  CHECK(e.problems().size() == 2);
  CHECK(std::string(e.what()).find('\n') != std::string::npos);
}

TEST_CASE("closest_match suggests near names and nothing for far ones") {
  CHECK(closest_match("horizn", {"name", "horizon", "seed"}) == "horizon");
  CHECK(closest_match("dgx-h1000", {"dgx-h100", "dgx-a100", "hgx-h200"}) == "dgx-h100");
  CHECK(closest_match("zzzzzzzz", {"name", "seed"}).empty());
}
