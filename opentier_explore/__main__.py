"""`python -m opentier_explore` is the `opentier-explore` command."""

from .cli import main

raise SystemExit(main())
