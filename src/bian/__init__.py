"""bian (彼岸): bring old photographs and film back to life.

Python API: :func:`restore` (images, videos, folders) and :func:`plan`; errors are :class:`BianError`.
"""
from .errors import BianError

__version__ = "0.1.0"


def restore(input, output, **options):
    """See :func:`bian.api.restore`."""
    from .api import restore as _restore
    return _restore(input, output, **options)


def plan(input, output, **options):
    """See :func:`bian.api.plan`."""
    from .api import plan as _plan
    return _plan(input, output, **options)


__all__ = ["BianError", "__version__", "plan", "restore"]
