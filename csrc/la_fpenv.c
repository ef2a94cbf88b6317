/*
 * la_fpenv.c - the floating-point environment every processing call runs in.
 *
 * Why. A recursive filter fed digital silence (a muted microphone, a paused publisher, the
 * gaps between TTS sentences) decays exponentially towards zero, through the subnormal range
 * below FLT_MIN = 2^-126. Many x86 cores take a microcode assist on every operation that
 * reads or produces a subnormal (tens to about 150 cycles each on Intel cores; AMD Zen 4
 * runs most of them at full speed), and our high-pass filter's state does not even reach zero
 * there: it settles in a limit cycle a few subnormal ulps wide and feeds those values into
 * the spectral stages for as long as the silence lasts. On such a core the APM ran 11-15x
 * slower in silence than in speech.
 *
 * What we chose. Each public processing entry point (la_apm_process_capture and _render,
 * la_resampler_process and _flush, la_mix_s16, la_gain_s16) brackets its work with
 * la_fpenv_enter / la_fpenv_leave:
 *   - x86-64, MXCSR: flush-to-zero (bit 15) and denormals-are-zero (bit 6) on, every exception
 *     masked (bits 7-12), round to nearest even (bits 13-14 cleared);
 *   - arm64, FPCR: flush-to-zero (FZ, bit 24; on AArch64 it also treats subnormal inputs as
 *     zero), round to nearest (RMode, bits 22-23, cleared), every trap disabled (IOE, DZE,
 *     OFE, UFE, IXE, IDE: bits 8-12 and 15);
 * and la_fpenv_leave writes the caller's register back exactly as it was read (on x86 its
 * sticky exception flags too; arm64 keeps those in FPSR, which is not touched), so the
 * caller's environment is untouched by a call. This is
 * the approach of WebRTC's audio processing module (DenormalDisabler in
 * modules/audio_processing, which sets the same FTZ/DAZ bits on x86 and FZ on ARM for the
 * duration of each call and restores the word read before) and of most audio engines
 * (WebKit's and Blink's Web Audio, JUCE's ScopedNoDenormals). Register layouts: Intel 64 and
 * IA-32 Architectures Software Developer's Manual, vol. 1, sec. 10.2.3 (MXCSR); Arm
 * Architecture Reference Manual for A-profile, FPCR.
 *
 * The rounding mode and the trap masks are part of the bracket too, so a caller that changed
 * them (fesetround, feenableexcept) still gets the documented round-to-nearest results and no
 * SIGFPE from inside a kernel. No stage needs IEEE gradual underflow: the smallest normal
 * float is 2^-126, about 750 dB below one int16 step, so flushing changes no output sample.
 *
 * LIVEKIT_AUDIO_IEEE_SUBNORMALS=1 (read on the first call) keeps gradual underflow: the
 * bracket then clears FTZ/DAZ instead of setting them (rounding and masks as above). It exists
 * for diagnosis and for the tests that show what the flush prevents. Elsewhere (other
 * architectures, or MSVC on arm64) the bracket does nothing and the kernels keep IEEE
 * semantics; la_fpenv_kind() says which applies.
 */
#include <stdlib.h>

#include "la_dsp.h"

#if !defined(__STDC_NO_ATOMICS__)
#include <stdatomic.h>
#endif

#if defined(__x86_64__) || defined(_M_X64)
#include <xmmintrin.h>
#define LA_FPENV_X86 1
#define LA_MXCSR_FTZ 0x8000ull      /* bit 15: results below FLT_MIN become zero */
#define LA_MXCSR_DAZ 0x0040ull      /* bit 6: subnormal operands are read as zero */
#define LA_MXCSR_MASKS 0x1F80ull    /* bits 7-12: all six exceptions masked */
#define LA_MXCSR_ROUNDING 0x6000ull /* bits 13-14: rounding control, 00 = nearest even */
#elif defined(__aarch64__) && defined(__GNUC__)
#define LA_FPENV_ARM64 1
#define LA_FPCR_FZ (1ull << 24)
#define LA_FPCR_RMODE (3ull << 22)
#define LA_FPCR_TRAPS ((0x1Full << 8) | (1ull << 15))
#endif

uint64_t la_fpenv_control_word(void) {
#if defined(LA_FPENV_X86)
    return (uint64_t)_mm_getcsr();
#elif defined(LA_FPENV_ARM64)
    uint64_t v;
    __asm__ __volatile__("mrs %0, fpcr" : "=r"(v));
    return v;
#else
    return 0;
#endif
}

void la_fpenv_set_control_word(uint64_t word) {
#if defined(LA_FPENV_X86)
    _mm_setcsr((unsigned int)word);
#elif defined(LA_FPENV_ARM64)
    __asm__ __volatile__("msr fpcr, %0" : : "r"(word));
#else
    (void)word;
#endif
}

/* 1 unless LIVEKIT_AUDIO_IEEE_SUBNORMALS is set to a non-zero value. Read on the first call
 * and cached: every thread computes the same value, so a race can only repeat the read. */
static int la_fpenv_flush_subnormals(void) {
#if !defined(__STDC_NO_ATOMICS__)
    static atomic_int cached = -1;
    int flush = atomic_load_explicit(&cached, memory_order_relaxed);
    if (flush >= 0) {
        return flush;
    }
#endif
    const char *value = getenv("LIVEKIT_AUDIO_IEEE_SUBNORMALS");
    int keep = value != NULL && value[0] != '\0' && value[0] != '0';
#if !defined(__STDC_NO_ATOMICS__)
    atomic_store_explicit(&cached, !keep, memory_order_relaxed);
#endif
    return !keep;
}

la_fpenv la_fpenv_enter(void) {
    la_fpenv saved = la_fpenv_control_word();
#if defined(LA_FPENV_X86)
    const uint64_t flush = LA_MXCSR_FTZ | LA_MXCSR_DAZ;
    uint64_t word = (saved & ~(LA_MXCSR_ROUNDING | flush)) | LA_MXCSR_MASKS;
    la_fpenv_set_control_word(la_fpenv_flush_subnormals() ? word | flush : word);
#elif defined(LA_FPENV_ARM64)
    uint64_t word = saved & ~(LA_FPCR_RMODE | LA_FPCR_TRAPS | LA_FPCR_FZ);
    la_fpenv_set_control_word(la_fpenv_flush_subnormals() ? word | LA_FPCR_FZ : word);
#endif
    return saved;
}

void la_fpenv_leave(la_fpenv saved) {
#if defined(LA_FPENV_X86) || defined(LA_FPENV_ARM64)
    la_fpenv_set_control_word(saved);
#else
    (void)saved;
#endif
}

const char *la_fpenv_kind(void) {
#if defined(LA_FPENV_X86)
    if (la_fpenv_flush_subnormals()) {
        return "x86-64 MXCSR: FTZ+DAZ, round to nearest, exceptions masked";
    }
    return "x86-64 MXCSR: IEEE subnormals (LIVEKIT_AUDIO_IEEE_SUBNORMALS), round to nearest, "
           "exceptions masked";
#elif defined(LA_FPENV_ARM64)
    if (la_fpenv_flush_subnormals()) {
        return "arm64 FPCR: FZ, round to nearest, traps disabled";
    }
    return "arm64 FPCR: IEEE subnormals (LIVEKIT_AUDIO_IEEE_SUBNORMALS), round to nearest, "
           "traps disabled";
#else
    return "none: IEEE subnormals";
#endif
}
