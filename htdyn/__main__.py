"""``python -m htdyn``: the htdyn command."""

from .cli import main

main()
