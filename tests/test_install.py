"""The install: MLX's backend is chosen by our extras (cpu, cuda12, cuda13),
and a Linux environment with the MLX front end but no backend fails at import
with a message that names them."""

import subprocess
import sys

import pytest
from conftest import ROOT

tomllib = pytest.importorskip("tomllib", reason="tomllib needs Python 3.11")


def test_extras_follow_mlx():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    # No backend unconditionally: it would replace a CUDA user's libmlx.
    assert project["dependencies"] == ["mlx==0.32.4"]
    extras = project["optional-dependencies"]
    for extra in ("cpu", "cuda12", "cuda13"):
        assert extras[extra] == [f"mlx[{extra}]==0.32.4; sys_platform == 'linux'"]


def import_without_backend():
    # `import mlx.core` fails as it does when libmlx.so is missing; the front
    # end itself (`mlx`) is there.
    code = "import sys; sys.modules['mlx.core'] = None\nimport mlx_cosine_decay\n"
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)


@pytest.mark.skipif(sys.platform != "linux", reason="the extras choose a backend on Linux only")
def test_missing_backend_names_the_extras():
    r = import_without_backend()
    assert r.returncode != 0
    last = r.stderr.strip().splitlines()[-1]
    assert last.startswith("ImportError: mlx_cosine_decay needs an MLX backend"), r.stderr
    for extra in ("[cpu]", "[cuda12]", "[cuda13]"):
        assert extra in last
