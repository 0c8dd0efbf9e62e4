"""``python -m kronos_plugins.training --config CONFIG.yaml`` (also under ``torchrun``): same as ``kronos-train``."""

from ..cli import train_main

if __name__ == "__main__":
    raise SystemExit(train_main())
