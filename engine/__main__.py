"""``python -m engine`` runs the ``vram`` command."""

from .cli import main

raise SystemExit(main())
