"""``python -m htdyn.cli``: the htdyn command."""

from . import main

main()
