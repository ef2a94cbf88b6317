"""Build the Cython extensions. Metadata lives in pyproject.toml.

Environment switches (any value but empty or ``0`` turns one on; they combine):

``LA_DEBUG=1``
    Cython bounds/wraparound/initialized checks on, ``-O0 -g -UNDEBUG`` (C ``assert`` on, the
    CPython and numpy headers' included), and the C macro ``LA_DEBUG=1``, which turns on the
    wrappers' checks of what the Python layer promises them (``_native/_debug.pxd``).
``LA_SANITIZE=1``
    AddressSanitizer + UndefinedBehaviorSanitizer (GCC or Clang) on csrc/ and the extensions,
    ``-O1 -g``; undefined behaviour aborts instead of printing and carrying on. CPython itself is
    not instrumented, so the runtime must be preloaded: ``.ci/sanitize`` builds and runs the
    tests this way.
"""

import os
import sys

import numpy as np
from Cython.Build import cythonize
from setuptools import Extension, setup


def _flag(name: str) -> bool:
    return os.environ.get(name, "") not in ("", "0")


DEBUG = _flag("LA_DEBUG")
SANITIZE = _flag("LA_SANITIZE")

CYTHON_DIRECTIVES = {
    "language_level": 3,
    "embedsignature": True,
    "boundscheck": DEBUG,
    "wraparound": DEBUG,
    "initializedcheck": DEBUG,
    "cdivision": not DEBUG,
}

#: Compiler and linker flags of a sanitizer build. GCC's "undefined" leaves out
#: float-cast-overflow (a float -> int conversion out of range, e.g. to int16 samples), so it is
#: named. -fno-sanitize-recover makes the first undefined behaviour fatal (by default UBSan
#: prints and continues, and the tests would pass).
SANITIZE_FLAGS = [
    "-fsanitize=address,undefined,float-cast-overflow",
    "-fno-sanitize-recover=undefined,float-cast-overflow",
    "-fno-omit-frame-pointer",
]

LDFLAGS: list[str] = []
if sys.platform == "win32":
    if SANITIZE:
        raise SystemExit("LA_SANITIZE=1 is supported with GCC or Clang only")
    CFLAGS = ["/Od", "/Zi"] if DEBUG else ["/O2"]
else:
    if DEBUG:
        CFLAGS = ["-O0", "-g", "-UNDEBUG"]
    elif SANITIZE:
        CFLAGS = ["-O1", "-g"]
    else:
        # -O3 without -ffast-math: the kernels rely on IEEE semantics (bit-identical streaming).
        # -fno-trapping-math changes no result (nothing is reassociated or contracted); it only
        # lets the compiler if-convert FP selects, so branch-free per-bin loops vectorise.
        CFLAGS = ["-O3", "-fno-math-errno", "-fno-trapping-math"]
    CFLAGS += ["-std=c11", "-Wall", "-Wextra", "-Wno-unused-function", "-Wno-unused-parameter"]
    if SANITIZE:
        # Python's own CFLAGS carry -fwrapv (CPython needs it), which defines signed overflow and
        # so hides it from UBSan; csrc/ is plain C meant for any build, so it is checked without.
        CFLAGS += [*SANITIZE_FLAGS, "-fno-wrapv"]
        LDFLAGS += SANITIZE_FLAGS

# LA_DEBUG is always defined (0 or 1), so C and Cython (`if LA_DEBUG:`) test it as a value and a
# release build compiles the debug checks out.
MACROS = [("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION"), ("LA_DEBUG", "1" if DEBUG else "0")]

#: Shared C sources linked into every extension (CPU dispatch, Kaiser window, FP environment).
COMMON_C = ["csrc/la_cpu.c", "csrc/la_window.c", "csrc/la_fpenv.c"]

#: One row per extension: module name under livekit_audio._native -> its own C sources.
NATIVE_MODULES = {
    "_resample": ["csrc/la_resample.c"],
    "_mix": ["csrc/la_mix.c"],
    "_g711": ["csrc/la_g711.c"],
    "_apm": [
        "csrc/la_apm.c",
        "csrc/la_hpf.c",
        "csrc/la_ns.c",
        "csrc/la_agc.c",
        "csrc/la_aec.c",
        "csrc/la_band.c",
        "csrc/la_fft.c",
    ],
    "_filter": ["csrc/la_filter_host.c"],
}

#: The package's own filter plug-ins (issue 12): shared libraries that export
#: la_filter_plugin_entry (livekit_audio/include/livekit_audio/filter_plugin.h), not Python
#: modules; livekit_audio.filters finds them next to itself and loads them as AudioFilters.
#: Each dlopens its vendor library at run time, so the wheel carries none.
FILTER_PLUGINS: dict[str, list[str]] = {
    "_rnnoise_plugin": ["csrc/plugins/la_rnnoise_plugin.c", "csrc/plugins/la_plugin_options.c"],
    "_deepfilternet_plugin": [
        "csrc/plugins/la_deepfilternet_plugin.c",
        "csrc/plugins/la_plugin_options.c",
    ],
}

#: Where the plug-in ABI header lives (installed with the package; see get_include()).
PLUGIN_INCLUDE = "livekit_audio/include"


def native_extension(name: str, c_sources: list[str]) -> Extension:
    return Extension(
        f"livekit_audio._native.{name}",
        [f"livekit_audio/_native/{name}.pyx", *c_sources, *COMMON_C],
        include_dirs=["csrc", PLUGIN_INCLUDE, np.get_include()],
        define_macros=MACROS,
        extra_compile_args=CFLAGS,
        extra_link_args=LDFLAGS,
        libraries=[] if sys.platform == "win32" else ["m", "dl"],
    )


def filter_plugin(name: str, c_sources: list[str]) -> Extension:
    # build_ext links an Extension as a plain shared library; export_symbols replaces the
    # PyInit_ symbol it would export on Windows.
    return Extension(
        f"livekit_audio.filters.{name}",
        c_sources,
        include_dirs=[PLUGIN_INCLUDE, "csrc/plugins"],
        extra_compile_args=[*CFLAGS, "-fvisibility=hidden"] if sys.platform != "win32" else CFLAGS,
        extra_link_args=LDFLAGS,
        export_symbols=["la_filter_plugin_entry"],
        libraries=[] if sys.platform == "win32" else ["dl", "m"],
    )


extensions = [native_extension(name, sources) for name, sources in NATIVE_MODULES.items()]
plugins = [filter_plugin(name, sources) for name, sources in FILTER_PLUGINS.items()]

setup(
    ext_modules=cythonize(
        extensions,
        compiler_directives=CYTHON_DIRECTIVES,
    )
    + plugins,
)
