"""Super-resolution algorithms on pictures (the networks themselves live in :mod:`bian.models`).

Only constants here, so the CLI can list options without importing torch.
"""

DEFAULT_STRENGTH = 0.65
"""Share of the network's detail kept over a Lanczos enlargement (see :func:`bian.superres.enlarge.finish`)."""
TONE_SIGMA = 2.0
"""Input pixels over which the result's tones are locked to the input's (finer detail is left alone)."""
