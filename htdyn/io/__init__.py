"""Trajectory files: the format, the writer, the reader, the /analysis results, run ids, file safety.

Reading (:mod:`htdyn.io.reader`) needs neither the training code nor the config
classes, so the analysis can read a trajectory anywhere; writing
(:mod:`htdyn.io.writer`) is the training side's.  :mod:`htdyn.io.batchscan` reads what
a sweep's index needs from a batch file (its configs, in one open);
:mod:`htdyn.io.atomic` writes any whole file atomically (temporary name, fsync, rename).
No module outside ``htdyn.io`` opens an HDF5 file itself.
"""
