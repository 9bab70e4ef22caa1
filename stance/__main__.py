"""`python -m stance` runs the CLI."""

from stance.cli import main

main()
