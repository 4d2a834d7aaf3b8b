// The x86 intrinsics prelude of the int8 kernel files: includes
// <immintrin.h> on x86 and defines DWAE_HAVE_X86 (1 there, 0 elsewhere, where
// the kernel files compile their portable fallbacks only).
//
// GCC 12's AVX-512 intrinsics start from _mm512_undefined_*(), which
// -Wmaybe-uninitialized and -Wuninitialized report inside the header (a
// known false positive), so the files that include this header silence
// both. GCC only: clang has no -Wmaybe-uninitialized (an error under
// -Werror). Include it from .cc files only: the pragmas apply to the rest of
// the including file.
#ifndef DWAE_CORE_X86_INTRINSICS_H_
#define DWAE_CORE_X86_INTRINSICS_H_

#if defined(__x86_64__) || defined(__i386__)
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#endif
#include <immintrin.h>
#define DWAE_HAVE_X86 1
#else
#define DWAE_HAVE_X86 0
#endif

#endif  // DWAE_CORE_X86_INTRINSICS_H_
