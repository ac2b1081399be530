"""Wheels the CUDA checks need but a CPU install does not have: downloaded
once with pip into a cache directory (MLX_COSINE_DECAY_WHEEL_CACHE, default
~/.cache/mlx-cosine-decay/wheels) and unpacked there. About 90 MB each."""

import os
import subprocess
import sys
import zipfile
from pathlib import Path

# pip download takes a wheel only for a platform tag given here, not for an
# older one that the tag implies: the NVRTC 12 wheels are manylinux_2_12,
# the mlx-cuda ones manylinux_2_35.
PLATFORMS = [
    arg
    for tag in ("manylinux_2_35", "manylinux_2_17", "manylinux_2_12")
    for arg in ("--platform", f"{tag}_x86_64")
]


def cache_dir():
    default = Path.home() / ".cache" / "mlx-cosine-decay" / "wheels"
    return Path(os.environ.get("MLX_COSINE_DECAY_WHEEL_CACHE", default))


def unpacked(requirement, name):
    """The directory holding the unpacked wheel of `requirement` (a pinned
    requirement for Linux x86_64; `name` is its file name prefix)."""
    root = cache_dir()
    target = root / name
    if (target / ".complete").exists():
        return target
    root.mkdir(parents=True, exist_ok=True)
    wheels = sorted(root.glob(f"{name}-*.whl"))
    if not wheels:
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                "-q",
                "--no-deps",
                "--only-binary=:all:",
                *PLATFORMS,
                "--python-version",
                "3.12",
                "-d",
                str(root),
                requirement,
            ],
            check=True,
        )
        wheels = sorted(root.glob(f"{name}-*.whl"))
    with zipfile.ZipFile(wheels[-1]) as z:
        z.extractall(target)
    (target / ".complete").touch()
    return target
