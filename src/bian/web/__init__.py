"""The browser UI (``bian serve``): Photo, Film and Animate tabs over the bian API, with a job queue whose
jobs live in folders under a data directory and survive a server restart. Needs ``pip install bian[web]``."""


def serve(*args, **kwargs):
    """See :func:`bian.web.app.serve`."""
    try:
        from .app import serve as _serve
    except ImportError as exc:
        from ..errors import BianError
        raise BianError(f"the web UI needs packages that are not installed ({exc.name})",
                        hint="pip install 'bian[web]'") from None
    return _serve(*args, **kwargs)
