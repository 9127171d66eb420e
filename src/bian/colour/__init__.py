"""Colourisation: chroma from references, hints or a network, on the source's own luminance.

Every path predicts only the two chroma channels of CIE Lab (``a``, ``b``) and recombines them with
the full-resolution luminance ``L`` of the source, so detail stays as sharp as the input.
"""
