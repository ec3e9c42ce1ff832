"""Trajectory files: the format, the writer, the reader, the /analysis results, run ids, file safety.

Reading (:mod:`htdyn.io.reader`) needs neither the training code nor the config
classes, so the analysis can read a trajectory anywhere; writing
(:mod:`htdyn.io.writer`) is the training side's.
"""
