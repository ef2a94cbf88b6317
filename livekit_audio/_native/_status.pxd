# Maps la_status codes to exceptions after the GIL is back. Shared by every _native module.
from livekit_audio._native._csrc cimport la_status, LA_OK


cdef inline int check_status(la_status rc, str what) except -1:
    """Raise the exception for a non-OK status; return 0 otherwise."""
    if rc == LA_OK:
        return 0
    from livekit_audio._errors import DSPError, VALUE_ERROR_CODES, STATUS_NAMES
    if <int>rc in VALUE_ERROR_CODES:
        raise ValueError(f"{what}: {STATUS_NAMES.get(<int>rc, <int>rc)}")
    raise DSPError(what, <int>rc)
