"""`python -m flyer_cli` runs the `flyer` command."""

from flyer_cli._main import main

raise SystemExit(main())
