// The MPI process group (include/winoprune/dist/dist.h). Compiled with WINOPRUNE_MPI when CMake
// found MPI; without it every call is the single-process no-op.
#include "winoprune/dist/dist.h"

#include <chrono>
#include <cstdlib>
#include <stdexcept>
#include <vector>

#ifdef WINOPRUNE_MPI
#include <mpi.h>
#endif

namespace wp::dist {

namespace {

bool g_started = false;
int g_rank = 0, g_size = 1;
double g_comm_seconds = 0;

using Clock = std::chrono::steady_clock;

bool launched_by_mpi() {
  for (const char* v : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK", "PMI_RANK"})
    if (std::getenv(v)) return true;
  return false;
}

}  // namespace

bool built_with_mpi() {
#ifdef WINOPRUNE_MPI
  return true;
#else
  return false;
#endif
}

void init(int* argc, char*** argv) {
#ifdef WINOPRUNE_MPI
  if (g_started || !launched_by_mpi()) return;
  int provided = 0;
  MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided);
  MPI_Comm_rank(MPI_COMM_WORLD, &g_rank);
  MPI_Comm_size(MPI_COMM_WORLD, &g_size);
  g_started = true;
#else
  (void)argc, (void)argv;
#endif
}

void finalize() {
#ifdef WINOPRUNE_MPI
  if (g_started) MPI_Finalize();
  g_started = false;
#endif
}

int rank() { return g_rank; }
int size() { return g_size; }

void allreduce_sum(double* data, int64_t n) {
#ifdef WINOPRUNE_MPI
  if (g_size == 1 || n == 0) return;
  auto t0 = Clock::now();
  MPI_Allreduce(MPI_IN_PLACE, data, int(n), MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
  g_comm_seconds += std::chrono::duration<double>(Clock::now() - t0).count();
#else
  (void)data, (void)n;
#endif
}

void allreduce_sum(float* data, int64_t n) {
#ifdef WINOPRUNE_MPI
  if (g_size == 1 || n == 0) return;
  auto t0 = Clock::now();
  // MPI counts are int: large tensors go in pieces of at most 2^30 elements.
  for (int64_t off = 0; off < n; off += int64_t(1) << 30) {
    const int count = int(std::min<int64_t>(n - off, int64_t(1) << 30));
    MPI_Allreduce(MPI_IN_PLACE, data + off, count, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
  }
  g_comm_seconds += std::chrono::duration<double>(Clock::now() - t0).count();
#else
  (void)data, (void)n;
#endif
}

void barrier() {
#ifdef WINOPRUNE_MPI
  if (g_size > 1) MPI_Barrier(MPI_COMM_WORLD);
#endif
}

bool same_on_all_ranks(uint64_t value) {
#ifdef WINOPRUNE_MPI
  if (g_size == 1) return true;
  unsigned long long lo = value, hi = value;
  MPI_Allreduce(MPI_IN_PLACE, &lo, 1, MPI_UNSIGNED_LONG_LONG, MPI_MIN, MPI_COMM_WORLD);
  MPI_Allreduce(MPI_IN_PLACE, &hi, 1, MPI_UNSIGNED_LONG_LONG, MPI_MAX, MPI_COMM_WORLD);
  return lo == hi;
#else
  (void)value;
  return true;
#endif
}

void abort_job(int status) {
#ifdef WINOPRUNE_MPI
  if (g_started && g_size > 1) MPI_Abort(MPI_COMM_WORLD, status);
#endif
  std::exit(status);
}

double comm_seconds() { return g_comm_seconds; }
void reset_comm_seconds() { g_comm_seconds = 0; }

}  // namespace wp::dist
