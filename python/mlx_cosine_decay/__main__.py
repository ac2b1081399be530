"""``python -m mlx_cosine_decay --cmake-dir``: the prefix for CMAKE_PREFIX_PATH."""

import argparse

from ._cmake import cmake_dir


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="python -m mlx_cosine_decay")
    parser.add_argument(
        "--cmake-dir",
        action="store_true",
        help="print the directory to add to CMAKE_PREFIX_PATH for "
        "find_package(mlx_cosine_decay CONFIG)",
    )
    args = parser.parse_args(argv)
    if args.cmake_dir:
        print(cmake_dir())
    else:
        parser.print_help()


if __name__ == "__main__":
    main()
