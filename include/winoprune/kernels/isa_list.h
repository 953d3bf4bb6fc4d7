#pragma once
// The one list of the ISA levels that have kernel variants, lowest first. It generates, for
// every kernel family (winograd_tiles.h, masked_products.h, sparse_winograd.h, fma_peak.h,
// lrn.h): the declarations of the per-level entry points, the variant tables that dispatch
// chooses from (src/kernels/dispatch.cpp), and the per-variant sweep of the tests
// (tests/kernels).
// Adding a level means: a row here, a folder src/kernels/<isa>/ with its flags in
// src/kernels/CMakeLists.txt, and an Isa enumerator of the same name (winoprune/cpu.h).
//
// Entry points are named as XNNPACK names its microkernels: data type, operation, then two
// underscores and the ISA level, e.g. f32_winograd_input_tiles__avx512. The tile (m, r) is a
// run-time argument of every family (the grid or argument block carries it): the bodies
// branch to a compile-time specialization per supported tile.
#define WP_KERNEL_ISAS(X) X(ref) X(avx2) X(avx512)

// The name of operation `op` at level `isa`: WP_KERNEL_NAME(f32_fma_loop, avx2) is
// f32_fma_loop__avx2.
#define WP_KERNEL_NAME(op, isa) WP_KERNEL_NAME_(op, isa)
#define WP_KERNEL_NAME_(op, isa) op##__##isa
