"""The installed C++ package, as a C++ app sees it.

examples/cpp is copied out of the repository, configured from an empty build
directory with only installed locations on CMAKE_PREFIX_PATH, built and run;
its output is checked against the Python API, mlx.optimizers.cosine_decay and
a float64 NumPy truth. Two installs: this pip install, and (slow) a plain
CMake build and install of the repository with the Python bindings off.
"""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import mlx.core as mx
import mlx.optimizers as optim
import numpy as np
import pytest
from conftest import EXAMPLES, ROOT, find_cxx, truth

import mlx_cosine_decay
from mlx_cosine_decay._cmake import cmake_dir

REPO = ROOT
EXAMPLE = EXAMPLES / "cpp"
# What examples/cpp/main.cpp evaluates.
INIT, DECAY_STEPS, END = 0.1, 1000, 1e-3
STEPS = [0, 1, 250, 500, 999, 1000, 5000]
ERROR = "[cosine_decay] decay_steps must be greater than 0, but got 0."

INSTALLED_HEADERS = [
    Path("include/mlx_cosine_decay/core/kernel_params.h"),
    Path("include/mlx_cosine_decay/cosine_decay.h"),
]


def _tool(name):
    # pip installs cmake and ninja beside the interpreter; a venv's bin/ need
    # not be on PATH.
    local = Path(sys.executable).parent / name
    return str(local) if local.is_file() else shutil.which(name)


def _cmake():
    cmake = _tool("cmake")
    if cmake is None:
        pytest.skip("cmake not found (pip install 'cmake>=3.27')")
    version = subprocess.run(
        [cmake, "--version"], capture_output=True, text=True, check=True
    ).stdout
    major, minor = map(int, re.search(r"(\d+)\.(\d+)", version).groups())
    if (major, minor) < (3, 27):
        pytest.skip(f"cmake >= 3.27 not found ({cmake} is {major}.{minor})")
    if find_cxx() is None:
        pytest.skip("no C++ compiler found")
    return cmake


def _run(cmd, **kwargs):
    # Only what the command line says: no prefix paths from the environment.
    env = dict(os.environ)
    for var in ("CMAKE_PREFIX_PATH", "MLX_DIR", "MLX_ROOT", "mlx_cosine_decay_DIR"):
        env.pop(var, None)
    result = subprocess.run(
        [str(c) for c in cmd], capture_output=True, text=True, env=env, **kwargs
    )
    if result.returncode != 0:
        pytest.fail(
            f"{' '.join(map(str, cmd))} exited with {result.returncode}\n"
            f"{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
        )
    return result.stdout


def _generator_args():
    ninja = _tool("ninja")
    return ["-G", "Ninja", f"-DCMAKE_MAKE_PROGRAM={ninja}"] if ninja else []


def _build_example(cmake, tmp_path, prefix_path):
    """Builds examples/cpp against prefix_path; returns (output, CMake cache)."""
    source = tmp_path / "example"
    shutil.copytree(EXAMPLE, source)  # nothing may point back into the repo
    build = tmp_path / "example-build"
    _run(
        [
            cmake,
            "-S",
            source,
            "-B",
            build,
            *_generator_args(),
            "-DCMAKE_BUILD_TYPE=Release",
            f"-DCMAKE_PREFIX_PATH={prefix_path}",
        ]
    )
    _run([cmake, "--build", build, "-j2"])
    app = build / "app"
    return _run([app], timeout=60), (build / "CMakeCache.txt").read_text()


def _printed(lines, kind):
    """The values of the lines "<kind> <step> <value>", as float32."""
    values = dict(
        (int(step), float(value))
        for _, step, value in (line.split() for line in lines if line.startswith(kind + " "))
    )
    assert list(values) == STEPS
    return np.array(list(values.values()), dtype=np.float32)  # %.9g: exact float32


def _check_output(output):
    lines = output.splitlines()
    got = _printed(lines, "lr")
    steps = mx.array(STEPS)
    python = np.array(mlx_cosine_decay.cosine_decay(INIT, DECAY_STEPS, END)(steps))
    np.testing.assert_array_equal(got, python)  # one library behind both
    # The family's C++ options: the same nodes as the Python keywords.
    for kind, schedule in [
        ("warmup", mlx_cosine_decay.cosine_decay(INIT, DECAY_STEPS, END, warmup_steps=100)),
        (
            "restarts",
            mlx_cosine_decay.cosine_decay_restarts(INIT, DECAY_STEPS, END, t_mul=1.5, m_mul=0.5),
        ),
    ]:
        np.testing.assert_array_equal(_printed(lines, kind), np.array(schedule(steps)))
    reference = np.array(optim.cosine_decay(INIT, DECAY_STEPS, END)(steps))
    np.testing.assert_allclose(got, reference, rtol=2e-6, atol=0)
    np.testing.assert_allclose(got, truth(STEPS, INIT, DECAY_STEPS, END), rtol=3e-7, atol=0)

    assert f"error {ERROR}" in lines


def _cache_value(cache, name):
    return Path(re.search(rf"^{name}:PATH=(.*)$", cache, re.M).group(1)).resolve()


def _mlx_prefix():
    return Path(
        subprocess.run(
            [sys.executable, "-m", "mlx", "--cmake-dir"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    )


def test_cmake_dir_cli_points_at_the_config_and_only_the_public_header():
    out = _run([sys.executable, "-m", "mlx_cosine_decay", "--cmake-dir"])
    prefix = Path(out.strip())
    assert prefix == cmake_dir()
    config = prefix / "share/cmake/mlx_cosine_decay"
    assert (config / "mlx_cosine_decayConfig.cmake").is_file()
    assert (config / "mlx_cosine_decayConfigVersion.cmake").is_file()
    # Only the public header and the core types of its primitive's state are
    # installed; the math header is private.
    headers = sorted(p.relative_to(prefix) for p in (prefix / "include").rglob("*.h"))
    assert headers == INSTALLED_HEADERS


def test_cmake_dir_missing_is_a_clear_error(monkeypatch, tmp_path):
    monkeypatch.setattr(mlx_cosine_decay, "__path__", [str(tmp_path)])
    with pytest.raises(FileNotFoundError, match="no share/cmake/mlx_cosine_decay"):
        cmake_dir()


def test_cpp_example_against_pip_install_gives_the_python_values(tmp_path):
    cmake = _cmake()
    output, cache = _build_example(cmake, tmp_path, cmake_dir())
    _check_output(output)
    # The config found the MLX beside it in site-packages on its own.
    assert _cache_value(cache, "MLX_DIR") == (_mlx_prefix() / "share/cmake/MLX").resolve()


@pytest.mark.slow
def test_cpp_example_against_cmake_install_gives_the_python_values(tmp_path):
    cmake = _cmake()
    build, prefix = tmp_path / "build", tmp_path / "prefix"
    _run(
        [
            cmake,
            "-S",
            REPO,
            "-B",
            build,
            *_generator_args(),
            "-DCMAKE_BUILD_TYPE=Release",
            "-DMLX_COSINE_DECAY_BUILD_PYTHON=OFF",
            # What is tested here is the install and the package, not the
            # kernels' speed (the other tests run every ISA): one ISA,
            # unoptimized, saves minutes of compiling. The values must still
            # be the optimized build's, bit for bit.
            "-DMLX_COSINE_DECAY_CPU_ISAS=baseline",
            "-DCMAKE_CXX_FLAGS_RELEASE=-O0 -DNDEBUG",
            f"-DCMAKE_PREFIX_PATH={_mlx_prefix()}",
        ]
    )
    _run([cmake, "--build", build, "-j2"], timeout=1800)
    _run([cmake, "--install", build, "--prefix", prefix])
    headers = sorted(p.relative_to(prefix) for p in prefix.rglob("*.h"))
    assert headers == INSTALLED_HEADERS

    output, cache = _build_example(cmake, tmp_path, prefix)
    _check_output(output)
    assert _cache_value(cache, "mlx_cosine_decay_DIR").is_relative_to(prefix.resolve())
