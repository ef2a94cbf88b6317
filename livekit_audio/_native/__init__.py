"""Private Cython wrappers around the C kernels in ``csrc/``. Not a public API."""
