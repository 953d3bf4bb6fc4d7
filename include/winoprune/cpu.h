#pragma once
// CPU feature probe and the ISA level kernels may use. Compiled without ISA flags.
//   cpu_isa():    the best level this CPU (and OS) supports: avx512 (F+BW+DQ+VL), avx2 (+FMA), ref.
//   active_isa(): cpu_isa(), lowered by the environment variable WINOPRUNE_ISA=ref|avx2|avx512.
//                 An unknown value, or a level the CPU lacks, throws InputError naming the
//                 missing feature. Read once, then cached.
#include <string>

namespace wp {

enum class Isa { ref = 0, avx2 = 1, avx512 = 2 };

const char* isa_name(Isa isa);
Isa cpu_isa();
Isa active_isa();
// Parses a WINOPRUNE_ISA value against the CPU's level; exposed for tests. Empty -> cpu level.
Isa resolve_isa(const std::string& requested, Isa cpu_level);

}  // namespace wp
