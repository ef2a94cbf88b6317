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
    CFLAGS = ["-O0", "-g", "-UNDEBUG"] if DEBUG else ["-O3", "-fno-math-errno"]
    CFLAGS += ["-std=c11", "-Wall", "-Wextra", "-Wno-unused-function", "-Wno-unused-parameter"]

MACROS = [("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")]

C_SOURCES = ["csrc/la_resample.c", "csrc/la_cpu.c"]

extensions = [
    Extension(
        "livekit_audio._native._resample",
        ["livekit_audio/_native/_resample.pyx", *C_SOURCES],
        include_dirs=["csrc", np.get_include()],
        define_macros=MACROS,
        extra_compile_args=CFLAGS,
        libraries=[] if sys.platform == "win32" else ["m"],
    ),
]

setup(
    ext_modules=cythonize(
        extensions,
        compiler_directives=CYTHON_DIRECTIVES,
        compile_time_env={"LA_DEBUG": DEBUG},
    ),
)
