// The cost of SimGrid alone for N hosts: write a platform with ONE flat <cluster> of N
// hosts (a private link per host and a backbone, DESIGN.md "Scale facts"), load it with
// Engine::load_platform, run an empty simulation, tear the engine down, exit.
// bench/scale.py times this next to `fleetsim run` on a design with N nodes.
//
// Usage: simgrid_baseline N [--cfg=...]...   (--cfg and --log go to SimGrid, e.g.
//        --cfg=host/model:ptask_L07 for the host model fleetsim runs with)
// Prints one line on stdout: hosts and the seconds spent writing, loading, running and
// tearing down. The numbers are the ones fleetsim's generated pods use for a DGX H100
// node (bw 8 x 400 Gb/s, backbone = nodes x bw, i.e. no oversubscription).
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

#include <simgrid/s4u/Engine.hpp>

namespace {

constexpr double kNodeSpeedFlops = 7.912e15;  // 8 x H100 dense BF16 peak
constexpr double kNodeBandwidthBps = 4e11;    // 8 NICs x 400 Gb/s, in bytes/s
constexpr double kLatencyS = 3.3e-7;

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// A temp file that removes itself.
class TempPlatform {
 public:
  TempPlatform() {
    std::string pattern = (std::filesystem::temp_directory_path() / "simgrid_baseline-XXXXXX.xml").string();
    std::vector<char> buffer(pattern.begin(), pattern.end());
    buffer.push_back('\0');
    const int fd = mkstemps(buffer.data(), 4);
    if (fd < 0) throw std::runtime_error("cannot create a temp file from " + pattern);
    close(fd);
    path_ = buffer.data();
  }
  ~TempPlatform() {
    std::error_code ignored;
    std::filesystem::remove(path_, ignored);
  }
  TempPlatform(const TempPlatform&) = delete;
  TempPlatform& operator=(const TempPlatform&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

void write_flat_cluster(const std::string& path, long hosts) {
  std::ofstream out(path);
  char numbers[256];
  std::snprintf(numbers, sizeof numbers,
                "speed=\"%.17gf\" bw=\"%.17gBps\" lat=\"%.17gs\" bb_bw=\"%.17gBps\" bb_lat=\"%.17gs\"", kNodeSpeedFlops,
                kNodeBandwidthBps, kLatencyS, kNodeBandwidthBps * static_cast<double>(hosts), kLatencyS);
  out << "<?xml version='1.0'?>\n"
         "<!DOCTYPE platform SYSTEM \"https://simgrid.org/simgrid.dtd\">\n"
         "<platform version=\"4.1\">\n"
         "  <cluster id=\"flat\" prefix=\"node-\" suffix=\"\" radical=\"0-"
      << hosts - 1 << "\" " << numbers << " sharing_policy=\"SPLITDUPLEX\"/>\n"
      << "</platform>\n";
  out.close();
  if (!out) throw std::runtime_error("cannot write " + path);
}

int usage(const char* program) {
  std::fprintf(stderr, "usage: %s N [--cfg=...]...\n  N: number of hosts in the flat cluster (>= 1)\n", program);
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    const auto start = Clock::now();
    double write_s = 0;
    double load_s = 0;
    double run_s = 0;
    double teardown_s = 0;
    long hosts = 0;
    std::size_t loaded = 0;
    Clock::time_point teardown_start;
    {
      // The engine takes its --cfg/--log arguments out of argv; what remains is ours.
      simgrid::s4u::Engine engine(&argc, argv);
      if (argc != 2) return usage(argv[0]);
      char* end = nullptr;
      hosts = std::strtol(argv[1], &end, 10);
      if (end == argv[1] || *end != '\0' || hosts < 1) return usage(argv[0]);

      TempPlatform platform;
      auto t = Clock::now();
      write_flat_cluster(platform.path(), hosts);
      write_s = seconds_since(t);

      t = Clock::now();
      engine.load_platform(platform.path());
      load_s = seconds_since(t);
      loaded = engine.get_host_count();

      t = Clock::now();
      engine.run();
      run_s = seconds_since(t);
      teardown_start = Clock::now();
    }  // the engine, and the platform with it, are destroyed here
    teardown_s = seconds_since(teardown_start);
    const double total_s = seconds_since(start);
    if (loaded != static_cast<std::size_t>(hosts)) {
      std::fprintf(stderr, "loaded %zu hosts, expected %ld\n", loaded, hosts);
      return 1;
    }
    std::printf("hosts=%ld write_s=%.3f load_s=%.3f run_s=%.3f teardown_s=%.3f total_s=%.3f\n", hosts, write_s,
                load_s, run_s, teardown_s, total_s);
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "simgrid_baseline: %s\n", e.what());
    return 1;
  }
}
