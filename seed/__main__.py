"""`python -m seed [--profile NAME] [--seed N] [--truncate]`: the same as `opentier-explore seed`."""

from __future__ import annotations

import sys

from opentier_explore.cli import main

if __name__ == "__main__":
    sys.exit(main(["seed", *sys.argv[1:]]))
