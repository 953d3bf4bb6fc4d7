#pragma once
// Data-parallel training over MPI: N processes ("ranks") each hold the whole model, each loads
// and computes its 1/N share of every global batch, and the gradients are summed across ranks
// before every optimizer step, so every rank makes the same update and the model stays the
// same everywhere (synchronous SGD, as Intel Caffe with MLSL and PyTorch's DDP do).
//
// A process joins MPI only when an MPI launcher started it (mpirun / mpiexec / srun set
// OMPI_COMM_WORLD_SIZE, PMI_SIZE or PMIX_RANK); otherwise, and in a build without MPI, it is
// rank 0 of 1 and every call below is a no-op. MPI is called from the main thread only
// (MPI_THREAD_FUNNELED); OpenMP threads compute.
#include <cstdint>
#include <string>

namespace wp::dist {

bool built_with_mpi();
// MPI_Init_thread when launched by an MPI launcher (idempotent). Call first in main.
void init(int* argc, char*** argv);
// MPI_Finalize when init started MPI.
void finalize();

int rank();
int size();
inline bool is_root() { return rank() == 0; }

// In-place sums over all ranks (blocking).
void allreduce_sum(double* data, int64_t n);
void allreduce_sum(float* data, int64_t n);
void barrier();
// Whether `value` (e.g. a checksum) is the same on every rank.
bool same_on_all_ranks(uint64_t value);
// Ends every rank of the job (MPI_Abort) with `status`; the caller has printed the cause.
[[noreturn]] void abort_job(int status);

// Seconds spent waiting in allreduce calls since the last reset (for bench rows).
double comm_seconds();
void reset_comm_seconds();

}  // namespace wp::dist
