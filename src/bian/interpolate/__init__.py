"""Frame interpolation: making the pictures between two frames.

``motion``: dense optical flow and the geometry built on it (trajectories through a time t,
occlusion from forward–backward consistency, a global affine fit). ``classical``: the offline engine
(no model). ``rife``: the neural engine (RIFE v4.x IFNet). Both engines answer the same call,
``engine.interpolate(a, b, times, prev=None, nxt=None, gaps=(1, 1))``.
"""
