"""Temporal film restoration on plain arrays: grain-aware denoising, deflicker and stabilisation.

Every function takes float32 pictures in [0, 1] (RGB H×W×3, or luma H×W where stated) and a finite
window of neighbouring frames, never state from earlier calls, so the stages built on them obey the
window rule of :mod:`bian.stages.base`.
"""
