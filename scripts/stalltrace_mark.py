"""Step markers for Python training loops, with no dependency.

    from stalltrace_mark import step
    for batch in loader:
        step()            # a step boundary when traced with `tracer --steps`
        ...

It calls stalltrace_step() in libstalltrace_mark.so.1 (installed by `make install`)
through ctypes. Without the library, step() does nothing, so the script runs the
same with or without stalltrace.
"""
import ctypes
import os

_lib = None
for _name in (os.environ.get('STALLTRACE_MARK_LIB', ''), 'libstalltrace_mark.so.1'):
    if not _name:
        continue
    try:
        _lib = ctypes.CDLL(_name)
        break
    except OSError:
        pass


def step():
    """Marks the start of a training step."""
    if _lib is not None:
        _lib.stalltrace_step()
