# Checks a debug build (LA_DEBUG=1, see setup.py) makes of what the Python layer promises the
# wrappers. LA_DEBUG is a C macro, not a Cython compile-time constant (Cython 3 deprecates
# DEF/IF): setup.py always defines it, 0 or 1, so in a release build `if LA_DEBUG:` is
# `if (0)` in C and the compiler drops the check. Failures raise AssertionError: they are bugs
# in this package, not bad user input (that is ValueError/TypeError, raised in Python).
cdef extern from *:
    """
    #ifndef LA_DEBUG
    #define LA_DEBUG 0
    #endif
    """
    const bint LA_DEBUG


cdef inline int check_whole_frames(Py_ssize_t nbytes, Py_ssize_t frame_bytes,
                                   str what) except -1:
    """Debug builds: raise AssertionError unless ``nbytes`` is a whole number of frames.

    The wrappers compute frame counts as ``len // frame_bytes``; a partial trailing frame would
    be dropped silently.
    """
    if LA_DEBUG and (frame_bytes <= 0 or nbytes % frame_bytes != 0):
        raise AssertionError(f"{what}: {nbytes} bytes is not a whole number of "
                             f"{frame_bytes}-byte frames")
    return 0
