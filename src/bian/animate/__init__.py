"""Portrait animation: a still photograph → a short video in which its faces blink, smile, glance
around, nod and breathe, or copy the motion of a face in a driving video.

    import bian
    bian.animate("grandmother.jpg", "grandmother.mp4", motion="blink,smile,look", duration=6)

Two engines. ``offline`` (always available, CPU): each face's 68 landmarks become a rig (``rig``) whose
motions (``motions``: presets with easing and seeded variation; ``driving``: transfer from a video)
drive a smooth warp of face and head (``field``: thin-plate spline expression + pseudo-3-D head turn,
``tps``) and a layered eye model (``eyelids``: the lid closes over the eye), rendered in ``render``.
``neural`` runs the Thin-Plate Spline Motion Model (``tpsmm``, ``neural``) when its published weights
are present. ``output`` writes H.264 (with the driving video's audio) and GIF; ``api`` ties it together.
"""
import sys
import types

from .api import animate
from .motions import DEFAULT, PRESETS, Motion

__all__ = ["DEFAULT", "PRESETS", "Motion", "animate"]


class _CallableModule(types.ModuleType):
    """``bian.animate`` is both this package and the API function: importing any ``bian.animate.*`` module
    binds the package over the function on ``bian``, so the package itself answers calls."""

    def __call__(self, photo, output, **options):
        return animate(photo, output, **options)


sys.modules[__name__].__class__ = _CallableModule
