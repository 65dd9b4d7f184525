// A look at a platform file's text before SimGrid parses it, for the mistakes on which
// SimGrid 3.32 kills the process (xbt_die, a failed xbt_assert or a crash) instead of
// throwing, so that load_platform_file can report them like any other input error.
// Measured on Debian 12's SimGrid 3.32, each of these aborted or crashed the loader:
//   - routing="Star" (any routing SimGrid does not know): "Not a valid model!"
//   - core="0" or core="-1" on a host: "Host a must have at least one core"
//   - with the host energy plugin on, a wattage_per_state that is not IDLE:BUSY or
//     IDLE:EPSILON:BUSY per pstate, whose numbers do not parse ("1:x": segfault), or
//     whose pstate count differs from the host's speed list; a wattage_off that is not a
//     number (segfault)
// Everything else SimGrid refuses by throwing (malformed XML, duplicate names, unknown
// links, bad units), which load_platform_file catches.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"

namespace fleetsim {

// Problems found in `text` (the content of `file`), each with its line and column.
std::vector<Problem> precheck_platform_xml(const std::string& file, std::string_view text);

// One pstate of a wattage_per_state property, in watts for the whole host.
struct PstateWattage {
  double idle = 0;
  double busy = 0;  // all cores busy (the last of IDLE:BUSY or IDLE:EPSILON:BUSY)
};

// Reads wattage_per_state the way SimGrid 3.32's energy plugin does ("IDLE:BUSY" or
// "IDLE:EPSILON:BUSY" per pstate, pstates separated by commas); nullopt where the plugin
// would abort.
std::optional<std::vector<PstateWattage>> parse_wattage_per_state(std::string_view text);

}  // namespace fleetsim
