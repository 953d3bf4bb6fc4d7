// Provenance of a run (include/winoprune/app/provenance.h).
#include "winoprune/app/provenance.h"

#include <unistd.h>

#include <ctime>
#include <fstream>

#include "winoprune/cpu.h"
#include "winoprune/dist/dist.h"

#ifndef WINOPRUNE_VERSION
#define WINOPRUNE_VERSION "0.1.0"
#endif

namespace wp {

const char* winoprune_version() { return WINOPRUNE_VERSION; }

std::string cpu_model_name() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("model name", 0) == 0) {
      size_t colon = line.find(':');
      if (colon != std::string::npos) return line.substr(line.find_first_not_of(' ', colon + 1));
    }
  return "";
}

std::string utc_timestamp() {
  std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

json provenance_to_json(const Provenance& p, uint64_t seed, int threads) {
  char host[256] = {0};
  gethostname(host, sizeof host - 1);
  return json{{"version", winoprune_version()},
              {"command", p.command},
              {"overrides", p.overrides},
              {"config", p.config},
              {"seed", seed},
              {"threads", threads},
              {"ranks", dist::size()},
              {"isa", isa_name(active_isa())},
              {"cpu", cpu_model_name()},
              {"host", std::string(host)},
              {"started", p.started},
              {"finished", utc_timestamp()}};
}

}  // namespace wp
