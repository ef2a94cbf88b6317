"""Build the Cython extensions. Metadata lives in pyproject.toml.

Set ``LA_DEBUG=1`` to build with Cython bounds/wraparound checks on and ``-O0 -g``.
"""

import os
import sys

import numpy as np
from Cython.Build import cythonize
from setuptools import Extension, setup

DEBUG = os.environ.get("LA_DEBUG", "") not in ("", "0")

CYTHON_DIRECTIVES = {
    "language_level": 3,
    "embedsignature": True,
    "boundscheck": DEBUG,
    "wraparound": DEBUG,
    "initializedcheck": DEBUG,
    "cdivision": not DEBUG,
}

if sys.platform == "win32":
    CFLAGS = ["/Od", "/Zi"] if DEBUG else ["/O2"]
else:
    # -O3 without -ffast-math: the kernels rely on IEEE semantics (bit-identical streaming).
    # -fno-trapping-math changes no result (nothing is reassociated or contracted); it only
    # lets the compiler if-convert FP selects, so branch-free per-bin loops vectorise.
    CFLAGS = (
        ["-O0", "-g", "-UNDEBUG"] if DEBUG else ["-O3", "-fno-math-errno", "-fno-trapping-math"]
    )
    CFLAGS += ["-std=c11", "-Wall", "-Wextra", "-Wno-unused-function", "-Wno-unused-parameter"]

MACROS = [("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")]

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
}


def native_extension(name: str, c_sources: list[str]) -> Extension:
    return Extension(
        f"livekit_audio._native.{name}",
        [f"livekit_audio/_native/{name}.pyx", *c_sources, *COMMON_C],
        include_dirs=["csrc", np.get_include()],
        define_macros=MACROS,
        extra_compile_args=CFLAGS,
        libraries=[] if sys.platform == "win32" else ["m"],
    )


extensions = [native_extension(name, sources) for name, sources in NATIVE_MODULES.items()]

setup(
    ext_modules=cythonize(
        extensions,
        compiler_directives=CYTHON_DIRECTIVES,
        compile_time_env={"LA_DEBUG": DEBUG},
    ),
)
