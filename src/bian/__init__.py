"""bian (彼岸): bring old photographs and film back to life.

Python API: :func:`restore` (images, videos, folders), :func:`plan` and :func:`animate` (a portrait → a
short video); errors are :class:`BianError`.
"""
from .errors import BianError
from .memory import tune_allocator

tune_allocator()  # must precede heavy imports (torch) to take effect; see bian.memory

__version__ = "0.1.0"


def restore(input, output, **options):
    """See :func:`bian.api.restore`."""
    from .api import restore as _restore
    return _restore(input, output, **options)


def plan(input, output, **options):
    """See :func:`bian.api.plan`."""
    from .api import plan as _plan
    return _plan(input, output, **options)


def animate(photo, output, **options):
    """See :func:`bian.animate.api.animate`. (After the first call ``bian.animate`` is the package, which
    is callable the same way.)"""
    from .animate.api import animate as _animate
    return _animate(photo, output, **options)


__all__ = ["BianError", "__version__", "animate", "plan", "restore"]
