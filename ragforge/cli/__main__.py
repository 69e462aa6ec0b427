"""`python -m ragforge.cli ...` runs the `ragforge` command."""

from ragforge.cli import main

main()
