// gemm_time: evaluate fleetsim::gemm_time (sim/models/gemm.hpp, the tile-and-wave model that
// times every GEMM of training and serving) for GEMM shapes read from standard input, so that
// scripts/validate --only gemm can compare it with published per-shape measurements
// (tests/reference/gemm_published.yaml).
//
// Input, one GEMM per line (blank lines and '#' comments ignored):
//   ACCELERATOR PRECISION M N K [OUT_BYTES]
// e.g. "H100-SXM bf16 4096 2048 6144". PRECISION: bf16, fp8 or fp4; OUT_BYTES defaults to 2
// (a bf16 output, as gemm_time's default). C (M x N) = A (M x K) B (K x N), 2 M N K FLOPs.
// Output, one line per input line, tab-separated:
//   ACCELERATOR PRECISION M N K seconds TFLOPS SMS TILES WAVES
// SMS: the catalog's streaming multiprocessors; TILES: the fewer output tiles of the 256x128
// and 128x256 tilings (serving_step's test for the tile model); WAVES: gemm_time's waves.
// All three are 0 for an accelerator without a tiling description (timed at the flat rate).
// Bad input: "gemm_time: <stdin>:LINE: ..." on stderr, exit status 2.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <sstream>
#include <string>

#include "models/gemm.hpp"

using namespace fleetsim;

namespace {

int fail(int line, const std::string& what) {
  std::fprintf(stderr, "gemm_time: <stdin>:%d: %s\n", line, what.c_str());
  return 2;
}

bool parse_precision(const std::string& s, Precision& p) {
  if (s == "bf16")
    p = Precision::BF16;
  else if (s == "fp8")
    p = Precision::FP8;
  else if (s == "fp4")
    p = Precision::FP4;
  else
    return false;
  return true;
}

}  // namespace

int main() {
  const Catalog& catalog = Catalog::builtin();
  std::string text;
  int line_no = 0;
  while (std::getline(std::cin, text)) {
    ++line_no;
    const auto hash = text.find('#');
    if (hash != std::string::npos) text.erase(hash);
    std::istringstream in(text);
    std::string acc_name, prec_name;
    if (!(in >> acc_name)) continue;  // blank line
    if (!(in >> prec_name)) return fail(line_no, "expected 'ACCELERATOR PRECISION M N K [OUT_BYTES]'");
    Precision prec{};
    if (!parse_precision(prec_name, prec))
      return fail(line_no, "precision '" + prec_name + "': expected bf16, fp8 or fp4");
    const Accelerator* acc = catalog.accelerator(acc_name);
    if (acc == nullptr) return fail(line_no, "accelerator '" + acc_name + "' is not in the catalog");
    if (!acc->supports(prec))
      return fail(line_no, "accelerator '" + acc_name + "' has no " + prec_name + " peak in the catalog");
    GemmShape g;
    if (!(in >> g.m >> g.n >> g.k)) return fail(line_no, "M N K: expected three positive numbers");
    if (!(g.m > 0 && g.n > 0 && g.k > 0) || !std::isfinite(g.m * g.n * g.k))
      return fail(line_no, "M N K: expected three positive numbers");
    if (in >> g.out_bytes) {
      if (!(g.out_bytes > 0)) return fail(line_no, "OUT_BYTES: expected a positive number");
    } else if (!in.eof()) {
      return fail(line_no, "OUT_BYTES: expected a positive number");
    } else {
      g.out_bytes = 2.0;
    }
    std::string extra;
    if (in.clear(), in >> extra) return fail(line_no, "unexpected '" + extra + "' after the shape");
    const double seconds = gemm_time(g, *acc, prec).value();
    const int sms = acc->streaming_multiprocessors;
    double tiles = 0, waves = 0;  // 0: no tiling description in the catalog (flat large-GEMM rate)
    if (sms > 0) {
      const double t1 = std::ceil(g.m / kGemmTileM) * std::ceil(g.n / kGemmTileN);
      const double t2 = std::ceil(g.m / kGemmTileN) * std::ceil(g.n / kGemmTileM);
      const double w1 = std::ceil(t1 / sms), w2 = std::ceil(t2 / sms);
      waves = std::min(w1, w2);
      tiles = std::min(t1, t2);
    }
    std::printf("%s\t%s\t%.0f\t%.0f\t%.0f\t%.9g\t%.1f\t%d\t%.0f\t%.0f\n", acc_name.c_str(), prec_name.c_str(), g.m, g.n,
                g.k, seconds, 2.0 * g.m * g.n * g.k / seconds / 1e12, sms, tiles, waves);
  }
  return 0;
}
