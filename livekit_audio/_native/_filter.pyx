# cython: language_level=3
"""Thin wrappers over the filter plug-in ABI and csrc/la_filter_host.c: dlopen, table checks,
GIL release, status mapping.

Validation of Python-level arguments (types, array shapes, options) happens in
``livekit_audio.audio_filter``. The checks here keep plug-in calls inside their buffers: every
buffer passed to ``process`` holds exactly one frame, and one instance is never entered from two
threads at once.

Libraries are never unloaded (no dlclose): instances keep their library object alive, and
vendor runtimes (thread pools, thread-local storage) are not safe to unload in general.
"""

import os

from cpython.buffer cimport PyBUF_SIMPLE, PyBUF_WRITABLE, PyBuffer_Release, PyObject_GetBuffer
from libc.stdint cimport int16_t, int32_t, uint32_t
from libc.stdlib cimport free, malloc
from posix.dlfcn cimport RTLD_GLOBAL, RTLD_LOCAL, RTLD_NOW, dlerror, dlopen, dlsym

from livekit_audio._native._plugin_abi cimport (
    LA_FILTER_ABI_VERSION,
    LA_FILTER_ENTRY_SYMBOL,
    LA_FILTER_ERROR_SIZE,
    LA_FILTER_OK,
    LA_HOST_ERR_ABI_VERSION,
    LA_HOST_ERR_BAD_CHANNELS,
    LA_HOST_ERR_BAD_RATES,
    LA_HOST_ERR_MISSING_FIELD,
    LA_HOST_ERR_NON_FINITE,
    LA_HOST_ERR_NULL_TABLE,
    LA_HOST_ERR_PLUGIN,
    LA_HOST_ERR_STRUCT_SIZE,
    LA_HOST_MAX_CHANNELS,
    LA_HOST_MAX_RATE_HZ,
    LA_HOST_OK,
    la_all_finite,
    la_filter_check_table,
    la_filter_handle,
    la_filter_plugin,
    la_filter_plugin_entry_fn,
    la_filter_run_f32,
    la_filter_run_s16,
    la_host_status,
)

#: The plug-in ABI version this build hosts.
ABI_VERSION = LA_FILTER_ABI_VERSION
#: The symbol every plug-in exports.
ENTRY_SYMBOL = (<bytes>LA_FILTER_ENTRY_SYMBOL).decode()
#: Largest frame (samples per channel) an instance may ask for: 1 s at the highest rate.
MAX_FRAME_SIZE = 768000


cdef str _dl_error():
    cdef const char *msg = dlerror()
    return "unknown error" if msg == NULL else (<bytes>msg).decode("utf-8", "replace")


cdef str _text(const char *s):
    return "" if s == NULL else (<bytes>s).decode("utf-8", "replace")


def load_dependency(path):
    """dlopen ``path`` with RTLD_NOW | RTLD_GLOBAL, so later plug-ins resolve its symbols.

    Raises OSError with the loader's message when it cannot be loaded.
    """
    cdef bytes raw = os.fsencode(path)
    dlerror()
    if dlopen(raw, RTLD_NOW | RTLD_GLOBAL) == NULL:
        raise OSError(f"cannot load dependency {os.fsdecode(path)!r}: {_dl_error()}")


cdef class PluginLibrary:
    """A loaded plug-in library and its checked table (one per path)."""

    cdef const la_filter_plugin *_table
    cdef readonly str path

    def __cinit__(self, path):
        cdef bytes raw = os.fsencode(path)
        cdef void *handle
        cdef void *entry
        cdef const char *field = NULL
        cdef la_host_status st
        self.path = os.fsdecode(path)
        dlerror()
        handle = dlopen(raw, RTLD_NOW | RTLD_LOCAL)
        if handle == NULL:
            raise OSError(f"cannot load filter plug-in {self.path!r}: {_dl_error()}")
        dlerror()
        entry = dlsym(handle, LA_FILTER_ENTRY_SYMBOL)
        if entry == NULL:
            raise ValueError(
                f"{self.path!r} is not a livekit_audio filter plug-in: it does not export "
                f"{ENTRY_SYMBOL} (see livekit_audio/include/livekit_audio/filter_plugin.h)"
            )
        self._table = (<la_filter_plugin_entry_fn>entry)()
        st = la_filter_check_table(self._table, &field)
        if st == LA_HOST_OK:
            return
        if st == LA_HOST_ERR_NULL_TABLE:
            reason = f"its {ENTRY_SYMBOL}() returned NULL"
        elif st == LA_HOST_ERR_ABI_VERSION:
            reason = (
                f"it was built for plug-in ABI version {self._table.abi_version}, this "
                f"livekit_audio hosts version {LA_FILTER_ABI_VERSION}"
            )
        elif st == LA_HOST_ERR_STRUCT_SIZE:
            reason = (
                f"its table is {self._table.struct_size} bytes, smaller than ABI version "
                f"{LA_FILTER_ABI_VERSION}'s {sizeof(la_filter_plugin)}"
            )
        elif st == LA_HOST_ERR_MISSING_FIELD:
            reason = f"its table's {_text(field)} is NULL"
        elif st == LA_HOST_ERR_BAD_RATES:
            reason = (
                "its sample_rates_hz must list 1 to 64 rates in (0, "
                f"{LA_HOST_MAX_RATE_HZ}] Hz, strictly ascending"
            )
        elif st == LA_HOST_ERR_BAD_CHANNELS:
            reason = (
                f"its max_channels is {self._table.max_channels}, expected 1 to "
                f"{LA_HOST_MAX_CHANNELS}"
            )
        else:
            reason = f"host status {<int>st}"
        self._table = NULL
        raise ValueError(f"filter plug-in {self.path!r} rejected: {reason}")

    @property
    def abi_version(self):
        return self._table.abi_version

    @property
    def name(self):
        return _text(self._table.name)

    @property
    def description(self):
        return _text(self._table.description)

    @property
    def sample_rates_hz(self):
        return tuple(self._table.sample_rates_hz[i] for i in range(self._table.num_sample_rates))

    @property
    def max_channels(self):
        return self._table.max_channels


cdef class FilterInstance:
    """One instance of a plug-in at a fixed sample rate and channel count."""

    cdef PluginLibrary _lib
    cdef const la_filter_plugin *_table
    cdef la_filter_handle *_handle
    cdef float *_work
    cdef readonly uint32_t sample_rate_hz
    cdef readonly uint32_t num_channels
    cdef readonly uint32_t frame_size
    cdef readonly uint32_t latency_samples
    cdef bint _busy

    def __cinit__(self, PluginLibrary lib, uint32_t sample_rate_hz, uint32_t num_channels,
                  bytes options_json):
        cdef char error[256]
        cdef const char *opts = options_json
        cdef la_filter_handle *handle = NULL
        cdef int32_t rc
        cdef uint32_t size
        if LA_FILTER_ERROR_SIZE > sizeof(error):
            raise SystemError("error buffer smaller than LA_FILTER_ERROR_SIZE")
        self._lib = lib
        self._table = lib._table
        error[0] = 0
        with nogil:
            rc = self._table.create(sample_rate_hz, num_channels, opts, &handle, error,
                                    sizeof(error))
        error[sizeof(error) - 1] = 0
        if rc != LA_FILTER_OK:
            if handle != NULL:
                self._table.destroy(handle)
            _raise_create(lib.name, rc, _text(error))
        if handle == NULL:
            from livekit_audio._errors import FilterError
            raise FilterError(lib.name, "create", "NULL_INSTANCE",
                              "create() returned OK without an instance")
        self._handle = handle
        self.sample_rate_hz = sample_rate_hz
        self.num_channels = num_channels
        size = self._table.frame_size(handle)
        if size == 0 or size > MAX_FRAME_SIZE:
            self.close()
            from livekit_audio._errors import FilterError
            raise FilterError(lib.name, "create", "BAD_FRAME_SIZE",
                              f"frame_size() is {size}, expected 1 to {MAX_FRAME_SIZE}")
        self.frame_size = size
        self.latency_samples = self._table.latency_samples(handle)
        self._work = <float *>malloc(2 * <size_t>size * num_channels * sizeof(float))
        if self._work == NULL:
            self.close()
            raise MemoryError("filter work buffers")

    def __dealloc__(self):
        if self._handle != NULL and not self._busy:
            self._table.destroy(self._handle)
            self._handle = NULL
        free(self._work)
        self._work = NULL

    @property
    def closed(self):
        return self._handle == NULL

    cdef int _enter(self, str what) except -1:
        if self._handle == NULL:
            raise RuntimeError(f"filter {what}: the instance is closed")
        if self._busy:
            raise RuntimeError(f"filter {what}: the instance is in use by another thread")
        self._busy = True
        return 0

    cdef int _fail(self, la_host_status st, int32_t rc, str what) except -1:
        from livekit_audio._errors import FILTER_STATUS_NAMES, FilterError
        if st == LA_HOST_ERR_NON_FINITE:
            raise FilterError(self._lib.name, what, "NON_FINITE_OUTPUT",
                              "the plug-in returned NaN or infinity; the frame is discarded")
        if st == LA_HOST_ERR_PLUGIN:
            raise FilterError(self._lib.name, what, FILTER_STATUS_NAMES.get(rc, str(rc)),
                              _text(self._table.last_error(self._handle)))
        raise SystemError(f"filter {what}: host status {<int>st}")

    cdef int _process(self, object inp, object out, bint f32) except -1:
        cdef Py_buffer ib
        cdef Py_buffer ob
        cdef la_host_status st
        cdef int32_t rc = 0
        cdef size_t n = <size_t>self.frame_size * self.num_channels
        cdef size_t item = 4 if f32 else 2
        kind = "float32" if f32 else "int16"
        self._enter("process")
        try:
            PyObject_GetBuffer(inp, &ib, PyBUF_SIMPLE)
            try:
                PyObject_GetBuffer(out, &ob, PyBUF_SIMPLE | PyBUF_WRITABLE)
                try:
                    if <size_t>ib.len != item * n or <size_t>ob.len != item * n:
                        raise ValueError(
                            f"filter process: expected {n} {kind} samples in and out "
                            f"({self.frame_size} per channel x {self.num_channels}), got "
                            f"{ib.len // item} and {ob.len // item}"
                        )
                    if f32 and not la_all_finite(<const float *>ib.buf, n):
                        raise ValueError("filter process: the input holds NaN or infinity")
                    with nogil:
                        if f32:
                            st = la_filter_run_f32(self._table, self._handle,
                                                   <const float *>ib.buf, <float *>ob.buf,
                                                   self._work, self.frame_size,
                                                   self.num_channels, &rc)
                        else:
                            st = la_filter_run_s16(self._table, self._handle,
                                                   <const int16_t *>ib.buf, <int16_t *>ob.buf,
                                                   self._work, self._work + n, self.frame_size,
                                                   self.num_channels, &rc)
                finally:
                    PyBuffer_Release(&ob)
            finally:
                PyBuffer_Release(&ib)
        finally:
            self._busy = False
        if st != LA_HOST_OK:
            self._fail(st, rc, "process")
        return 0

    def process_s16(self, inp, out):
        """One frame: int16 interleaved ``inp`` (exactly frame_size * num_channels samples,
        C-contiguous) into ``out`` (same size, writable; may be ``inp``)."""
        self._process(inp, out, False)

    def process_f32(self, inp, out):
        """One frame: float32 interleaved ``inp`` (finite, exactly frame_size * num_channels
        samples) into ``out`` (same size, writable; may be ``inp``)."""
        self._process(inp, out, True)

    def reset(self):
        """Back to the state just after create()."""
        cdef int32_t rc
        self._enter("reset")
        try:
            with nogil:
                rc = self._table.reset(self._handle)
        finally:
            self._busy = False
        if rc != LA_FILTER_OK:
            self._fail(LA_HOST_ERR_PLUGIN, rc, "reset")

    def close(self):
        """Destroy the instance (idempotent)."""
        cdef la_filter_handle *handle = self._handle
        if handle == NULL:
            return
        if self._busy:
            raise RuntimeError("filter close: the instance is in use by another thread")
        self._handle = NULL
        with nogil:
            self._table.destroy(handle)


cdef int _raise_create(str plugin, int32_t rc, str detail) except -1:
    from livekit_audio._errors import FILTER_STATUS_NAMES, FILTER_VALUE_ERROR_CODES, FilterError
    name = FILTER_STATUS_NAMES.get(rc, f"LA_FILTER_STATUS_{rc}")
    if rc in FILTER_VALUE_ERROR_CODES:
        raise ValueError(f"filter plug-in {plugin!r}: {detail or name} ({name})")
    if name == "LA_FILTER_ERR_OUT_OF_MEMORY":
        raise MemoryError(f"filter plug-in {plugin!r}: {detail or name}")
    raise FilterError(plugin, "create", name, detail)
