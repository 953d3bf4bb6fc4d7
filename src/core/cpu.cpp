#include "winoprune/cpu.h"

#include <cstdlib>

#include "winoprune/error.h"

namespace wp {

const char* isa_name(Isa isa) {
  switch (isa) {
    case Isa::avx512: return "avx512";
    case Isa::avx2: return "avx2";
    default: return "ref";
  }
}

// __builtin_cpu_supports reads CPUID and checks that the OS saves the registers (XCR0), so an
// avx512 answer means the zmm state is usable. This file has no ISA flags.
Isa cpu_isa() {
  __builtin_cpu_init();
  bool avx512 = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl") &&
                __builtin_cpu_supports("fma");
  if (avx512) return Isa::avx512;
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return Isa::avx2;
  return Isa::ref;
}

static const char* missing_feature(Isa level) {
  __builtin_cpu_init();
  // __builtin_cpu_supports takes only string literals, hence the explicit chain.
  if (level == Isa::avx512) {
    if (!__builtin_cpu_supports("avx512f")) return "avx512f";
    if (!__builtin_cpu_supports("avx512bw")) return "avx512bw";
    if (!__builtin_cpu_supports("avx512dq")) return "avx512dq";
    if (!__builtin_cpu_supports("avx512vl")) return "avx512vl";
  }
  if (!__builtin_cpu_supports("avx2")) return "avx2";
  if (!__builtin_cpu_supports("fma")) return "fma";
  return "(unknown feature)";
}

Isa resolve_isa(const std::string& requested, Isa cpu_level) {
  if (requested.empty()) return cpu_level;
  Isa want;
  if (requested == "ref") want = Isa::ref;
  else if (requested == "avx2") want = Isa::avx2;
  else if (requested == "avx512") want = Isa::avx512;
  else
    throw InputError("WINOPRUNE_ISA: expected one of ref, avx2, avx512, got '" + requested + "'");
  if (static_cast<int>(want) > static_cast<int>(cpu_level))
    throw InputError(std::string("WINOPRUNE_ISA=") + requested + ": this CPU lacks " +
                     missing_feature(want) + " (its best level is " + isa_name(cpu_level) + ")");
  return want;
}

Isa active_isa() {
  static const Isa level = [] {
    const char* env = std::getenv("WINOPRUNE_ISA");
    return resolve_isa(env ? env : "", cpu_isa());
  }();
  return level;
}

}  // namespace wp
