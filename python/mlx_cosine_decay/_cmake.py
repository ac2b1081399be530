"""Where the installed CMake package lives, for ``find_package(mlx_cosine_decay)``."""

from pathlib import Path

_CONFIG = Path("share", "cmake", "mlx_cosine_decay", "mlx_cosine_decayConfig.cmake")


def cmake_dir() -> Path:
    """The prefix to add to ``CMAKE_PREFIX_PATH`` (as ``python -m mlx --cmake-dir``).

    The package directory in site-packages; an editable install lists it in the
    package's ``__path__`` beside the source directory.
    """
    from . import __path__ as package_dirs

    for directory in package_dirs:
        if (Path(directory) / _CONFIG).is_file():
            return Path(directory)
    raise FileNotFoundError(
        f"mlx_cosine_decay: no {_CONFIG.as_posix()} in {', '.join(package_dirs)}; "
        "this install has no C++ package (reinstall with pip, or build and install "
        "the repository with CMake)."
    )
