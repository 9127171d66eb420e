"""The same pipeline on a Ray cluster, one task per segment (``bian restore --executor ray``).

Ray is optional (``pip install 'bian[scale]'``); nothing here imports it until a job runs.
:mod:`bian.scale.tasks` is what a worker runs, :mod:`bian.scale.driver` schedules the tasks, owns the
resume manifests and assembles each output. See docs/SCALE.md.
"""
