// Bucketed gradient allreduce overlapping backward (include/winoprune/dist/gradient_allreduce.h).
#include "winoprune/dist/gradient_allreduce.h"

#include <chrono>
#include <cstring>

#include "winoprune/dist/dist.h"

#ifdef WINOPRUNE_MPI
#include <mpi.h>
#endif

namespace wp {

struct GradientAllreduce::Impl {
  struct Bucket {
    std::vector<size_t> params;    // indices into Impl::params
    std::vector<float> buffer;     // the packed gradients
    size_t ready = 0;
    bool started = false;
#ifdef WINOPRUNE_MPI
    MPI_Request request = MPI_REQUEST_NULL;
#endif
  };
  std::vector<Parameter*> params;
  std::vector<size_t> bucket_of;   // per parameter
  std::vector<Bucket> buckets;
  size_t next_to_start = 0;
  float weight = 1.0f;
  bool overlap = true;
  double exposed = 0;

  void pack(Bucket& b) {
    float* out = b.buffer.data();
    for (size_t i : b.params) {
      Tensor& g = params[i]->var->grad_buffer();   // zeros if nothing flowed into it
      const float* gp = g.data();
      const int64_t n = g.numel();
      for (int64_t k = 0; k < n; ++k) out[k] = gp[k] * weight;
      out += n;
    }
  }
  void unpack(Bucket& b) {
    const float* in = b.buffer.data();
    for (size_t i : b.params) {
      Tensor& g = params[i]->var->grad_buffer();
      std::memcpy(g.data(), in, size_t(g.numel()) * sizeof(float));
      in += g.numel();
    }
  }
  void start(Bucket& b) {
    pack(b);
    b.started = true;
#ifdef WINOPRUNE_MPI
    MPI_Iallreduce(MPI_IN_PLACE, b.buffer.data(), int(b.buffer.size()), MPI_FLOAT, MPI_SUM,
                   MPI_COMM_WORLD, &b.request);
#endif
  }
  // Starts every complete bucket whose predecessors have started (the same order everywhere).
  void start_ready() {
    while (next_to_start < buckets.size()) {
      Bucket& b = buckets[next_to_start];
      if (b.ready < b.params.size()) break;
      start(b);
      ++next_to_start;
    }
#ifdef WINOPRUNE_MPI
    // Open MPI progresses non-blocking collectives inside MPI calls: poke the started ones.
    for (size_t k = 0; k < next_to_start; ++k) {
      int done = 0;
      if (buckets[k].request != MPI_REQUEST_NULL) MPI_Test(&buckets[k].request, &done, MPI_STATUS_IGNORE);
    }
#endif
  }
};

GradientAllreduce::GradientAllreduce(std::vector<Parameter*> params, int64_t bucket_bytes)
    : impl_(std::make_unique<Impl>()) {
  Impl& m = *impl_;
  if (dist::size() == 1) return;
  m.params = std::move(params);
  m.overlap = bucket_bytes > 0;
  m.bucket_of.assign(m.params.size(), 0);
  // Reverse network order: the last layers' gradients are ready first.
  int64_t bytes = 0;
  for (size_t r = m.params.size(); r-- > 0;) {
    const int64_t b = m.params[r]->value().numel() * int64_t(sizeof(float));
    if (m.buckets.empty() || (m.overlap && bytes + b > bucket_bytes && bytes > 0)) {
      m.buckets.emplace_back();
      bytes = 0;
    }
    m.buckets.back().params.push_back(r);
    m.bucket_of[r] = m.buckets.size() - 1;
    bytes += b;
  }
  for (Impl::Bucket& b : m.buckets) {
    int64_t n = 0;
    for (size_t i : b.params) n += m.params[i]->value().numel();
    b.buffer.resize(size_t(n));
  }
  if (!m.overlap) return;
  for (size_t i = 0; i < m.params.size(); ++i) {
    Impl* impl = impl_.get();
    m.params[i]->var->on_grad_ready = [impl, i]() {
      ++impl->buckets[impl->bucket_of[i]].ready;
      impl->start_ready();
    };
  }
}

GradientAllreduce::~GradientAllreduce() {
  for (Parameter* p : impl_->params) p->var->on_grad_ready = nullptr;
}

void GradientAllreduce::begin_step(double weight) {
  Impl& m = *impl_;
  m.weight = float(weight);
  m.next_to_start = 0;
  for (Impl::Bucket& b : m.buckets) b.ready = 0, b.started = false;
}

void GradientAllreduce::finish() {
  Impl& m = *impl_;
  if (m.buckets.empty()) return;
  auto t0 = std::chrono::steady_clock::now();
  // Buckets whose parameters got no hook call (no gradient flowed) start now, in order.
  for (Impl::Bucket& b : m.buckets) b.ready = b.params.size();
  m.start_ready();
#ifdef WINOPRUNE_MPI
  for (Impl::Bucket& b : m.buckets) MPI_Wait(&b.request, MPI_STATUS_IGNORE);
#endif
  for (Impl::Bucket& b : m.buckets) m.unpack(b);
  m.exposed += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

int GradientAllreduce::buckets() const { return int(impl_->buckets.size()); }
double GradientAllreduce::exposed_seconds() const { return impl_->exposed; }

}  // namespace wp
