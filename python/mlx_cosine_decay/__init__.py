"""The cosine-decay learning-rate schedule as one exact, fast MLX primitive.

``cosine_decay(init, decay_steps, end=0.0)`` is a drop-in for
``mlx.optimizers.cosine_decay``; its keyword arguments add a linear warmup and
an exponent, and ``cosine_decay_restarts`` gives warm restarts.
"""

import sys

try:
    import mlx.core as mx
except ImportError as error:
    # On Linux `mlx` is only the front end: libmlx comes with a backend wheel,
    # chosen by an extra as for MLX itself (see pyproject.toml).
    if sys.platform != "linux":
        raise
    raise ImportError(
        f"mlx_cosine_decay needs an MLX backend, but `import mlx.core` failed ({error}). "
        "Install one with the extra for your machine: "
        "pip install 'mlx-cosine-decay[cpu]' (CPU only), "
        "'mlx-cosine-decay[cuda12]' or 'mlx-cosine-decay[cuda13]' "
        "(NVIDIA GPU with a CUDA 12 or 13 driver)."
    ) from error

from ._build_info import mlx_version as _built_with
from ._build_info import version as __version__

_installed = mx.__version__  # type: ignore[attr-defined]  # not in MLX's stubs
if _installed != _built_with:
    raise ImportError(
        f"mlx_cosine_decay {__version__} was built against mlx {_built_with} but "
        f"mlx {_installed} is installed; reinstall one to match the other "
        f"(pip install 'mlx=={_built_with}')."
    )

from . import _ext  # noqa: E402

# CUDA (begin): the CUDA kernels are a library of their own that needs MLX's
# CUDA backend; loading it makes it serve eval_gpu (csrc/cuda/backend.h).
if sys.platform == "linux" and mx.cuda.is_available():
    import ctypes
    from pathlib import Path

    ctypes.CDLL(str(Path(_ext.__file__).parent / "lib" / "libmlx_cosine_decay_cuda.so"))
# CUDA (end)
from ._schedule import (  # noqa: E402
    CosineDecayRestartsSchedule,
    CosineDecaySchedule,
    cosine_decay,
    cosine_decay_restarts,
)

cosine_decay_op = _ext.cosine_decay
cosine_decay_values = _ext.cosine_decay_values
cosine_decay_restarts_op = _ext.cosine_decay_restarts
set_num_threads = _ext.set_num_threads
num_threads = _ext.num_threads
cpu_isa = _ext.cpu_isa

__all__ = [
    "CosineDecaySchedule",
    "CosineDecayRestartsSchedule",
    "cosine_decay",
    "cosine_decay_restarts",
    "cosine_decay_restarts_op",
    "cosine_decay_op",
    "cosine_decay_values",
    "set_num_threads",
    "num_threads",
    "cpu_isa",
]
