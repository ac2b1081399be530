"""Types: the installed package carries its stubs and py.typed, and mypy sees
the public API's types (it accepts correct use and rejects a misuse)."""

import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import mlx_cosine_decay as mcd
from mlx_cosine_decay import _ext

# Every public name, with what its docstring must say.
DOCUMENTED = {
    "cosine_decay": ["Args:", "Returns:", "warmup_steps (int", "exponent (float"],
    "cosine_decay_restarts": ["Args:", "Returns:", "t_mul (float", "m_mul (float"],
    "CosineDecaySchedule": ["copies and pickles"],
    "CosineDecayRestartsSchedule": ["pickled"],
    "cosine_decay_restarts_op": ["Args:", "Returns:", "first_decay_steps (int", "t_mul (float"],
    "cosine_decay_op": ["Args:", "Returns:", "init (float or array)", "warmup_steps (int"],
    "cosine_decay_values": ["Args:", "Returns:", "num_steps (int)", "exponent (float"],
    "set_num_threads": ["Args:"],
    "num_threads": ["Returns:"],
    "cpu_isa": ["Returns:"],
}


def package_dirs():
    """The package's directories: one for a wheel install; an editable
    install adds the source directory beside the installed files."""
    return [Path(p) for p in mcd.__path__]


def test_stubs_and_marker_ship_with_the_package():
    stub = Path(_ext.__file__).parent / "_ext.pyi"
    assert stub.is_file(), "nanobind_add_stub output not installed beside _ext"
    text = stub.read_text()
    for signature in [
        "def cosine_decay(step: mlx.core.array, init: float, decay_steps: int, ",
        "decay_steps: int | mlx.core.array",
        "def values(self, num_steps: int, start: int = 0, *, stream: mlx.core.StreamOrDevice",
        "def cpu_isa() -> str:",
        "class Schedule:",
    ]:
        assert signature in text
    assert "Args:" in text and "Returns:" in text  # the docstrings travel too
    assert any((d / "py.typed").is_file() for d in package_dirs())


def test_every_public_name_is_documented():
    assert sorted(DOCUMENTED) == sorted(mcd.__all__)
    for name, wanted in DOCUMENTED.items():
        doc = getattr(mcd, name).__doc__ or ""
        assert all(w in doc for w in wanted), (name, doc)
    # nanobind puts the nb::sig signatures of both overloads first, then
    # their one docstring once.
    doc = mcd.cosine_decay_op.__doc__
    assert "decay_steps: int | mlx.core.array" in doc
    assert "decay_steps: int, end: float" in doc
    assert doc.count("Args:") == 1


GOOD = """
import copy
import pickle

import mlx.core as mx
import mlx.optimizers as optim

import mlx_cosine_decay as mcd
from mlx_cosine_decay import CosineDecaySchedule, cosine_decay

schedule: CosineDecaySchedule = cosine_decay(1e-3, 1000, end=1e-5)
warm: CosineDecaySchedule = cosine_decay(1e-3, 1000, 1e-5, warmup_steps=100, exponent=2.0)
restarts: mcd.CosineDecayRestartsSchedule = mcd.cosine_decay_restarts(1e-3, 100, t_mul=1.5)
lr: mx.array = schedule(mx.arange(10))
lr = schedule(5, stream=mx.cpu)
grid = cosine_decay(mx.array([1e-3, 3e-4]), mx.array([100, 1000]))
lr = grid.values(100, start=10, stream=mx.cpu)
optimizer = optim.AdamW(learning_rate=schedule)
lr = mcd.cosine_decay_op(mx.arange(3), 0.1, 10, 0.0, stream=mx.default_stream(mx.cpu))
lr = mcd.cosine_decay_op(mx.arange(3), mx.array([0.1, 0.2]), mx.array([10, 20]))
lr = mcd.cosine_decay_values(0.1, 10, 0.0, 5, start=-2)
lr = mcd.cosine_decay_values(mx.array([0.1]), 10, mx.array([0.0]), 5)
mcd.set_num_threads(2)
threads: int = mcd.num_threads()
isa: str = mcd.cpu_isa()
same: CosineDecaySchedule = copy.deepcopy(schedule)
restored = pickle.loads(pickle.dumps(schedule))
"""

# Each line a misuse that mypy must report (and only these lines).
BAD = """
from mlx_cosine_decay import cosine_decay, cosine_decay_op, cpu_isa
cosine_decay("1e-3", 1000)
cosine_decay(0.1, 1000).values("10")
cosine_decay_op([1, 2], 0.1, 10)
threads: int = cpu_isa()
"""


def installed_tree(root):
    """A copy of the package's Python files and stubs as one directory (an
    editable install splits them over two, which mypy cannot follow). Found
    through MYPYPATH, not site-packages, its modules are checked as well: the
    facade's own hints must hold."""
    target = root / "mlx_cosine_decay"
    target.mkdir(parents=True)
    for directory in package_dirs():
        for f in directory.iterdir():
            if f.suffix in (".py", ".pyi") or f.name == "py.typed":
                shutil.copy(f, target / f.name)
    return root


def test_mypy_sees_the_types(tmp_path):
    good, bad = tmp_path / "good.py", tmp_path / "bad.py"
    good.write_text(GOOD)
    bad.write_text(textwrap.dedent(BAD))
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--no-error-summary",
            "--show-error-codes",
            "--hide-error-context",
            "--no-color-output",
            "--cache-dir",
            str(tmp_path / "cache"),
            str(good),
            str(bad),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
        env={"MYPYPATH": str(installed_tree(tmp_path / "site")), "PATH": ""},
    )
    errors = [line for line in r.stdout.splitlines() if ": error:" in line]
    assert r.returncode == 1, r.stdout + r.stderr
    lines = sorted(int(e.split(":")[1]) for e in errors if e.startswith("bad.py:"))
    assert lines == [3, 4, 5, 6], r.stdout
    assert all(e.startswith("bad.py:") for e in errors), r.stdout
