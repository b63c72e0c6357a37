"""`python -m scalinglab.cli` runs the command line."""

from scalinglab.cli import main

main()
