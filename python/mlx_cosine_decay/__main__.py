"""``python -m mlx_cosine_decay``: see ``mlx_cosine_decay.cli``."""

from .cli import main

raise SystemExit(main())
