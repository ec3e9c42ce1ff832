"""Training: backends, data, the student, optimizers, schedules, the objective, the loop, ``simulate``.

Everything here depends on :mod:`htdyn.config`; nothing in :mod:`htdyn.io` or
:mod:`htdyn.analysis` depends on it.  The public entry point is
:func:`htdyn.train.simulate.simulate` (``htdyn.simulate``).
"""
