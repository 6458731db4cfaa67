"""The wheel holds every module of the tree under its installed name, and declares the ``hyperparty`` script.

The wheel is built from a copy of the source tree (so the worktree gets no ``build/``) to which a new
subpackage (``feeds/zz_new/``) and a new top-level layer (``zzlayer/``) are added: setup.py must pick them
up with no edit.  Expected names are computed here from the files, independently of setup.py's rule: every
``.py`` file under a top-level folder that holds Python code (except tests/ and bench/) must be in the wheel
as ``hyperparty/<path>`` (the folder ``hyperparty/`` as itself).  The wheel also holds the compiled hot path
(hyperparty/_native.py): an extension module beside each compiled module's ``.py`` and their shared
library, unless compiling is switched off (``HYPERPARTY_NO_COMPILE``).
"""

from __future__ import annotations

import configparser
import email.parser
import importlib.util
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

import hyperparty
from hyperparty import _native

ROOT = Path(__file__).resolve().parents[1]
NOT_INSTALLED = {"tests", "bench", "build", "dist"}
KNOWN_LAYERS = {"hyperparty", "storage", "protocol", "feeds", "party"}
SKIP = shutil.ignore_patterns(".git", ".venv", "node_modules", "build", "dist", "*.egg-info", "__pycache__",
                              ".pytest_cache", ".hypothesis", "tests", "bench")

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]


def expected_modules(tree: Path) -> set[str]:
    """``hyperparty/...`` paths of every .py file of the installed layers of ``tree``."""
    names: set[str] = set()
    for layer in tree.iterdir():
        if not layer.is_dir() or layer.name in NOT_INSTALLED or layer.name.startswith("."):
            continue
        for path in layer.rglob("*.py"):
            rel = path.relative_to(tree)
            if "__pycache__" in rel.parts:
                continue
            prefix = () if layer.name == "hyperparty" else ("hyperparty",)
            names.add("/".join(prefix + rel.parts))
    return names


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> tuple[Path, zipfile.ZipFile]:
    tmp = tmp_path_factory.mktemp("wheel")
    src = tmp / "src"
    shutil.copytree(ROOT, src, ignore=SKIP)
    (src / "feeds" / "zz_new").mkdir()
    (src / "feeds" / "zz_new" / "__init__.py").write_text('"""a subpackage added after setup.py was written"""\n')
    (src / "feeds" / "zz_new" / "module.py").write_text("VALUE = 1\n")
    (src / "zzlayer").mkdir()
    (src / "zzlayer" / "__init__.py").write_text('"""a new top-level layer"""\n')
    out = tmp / "out"
    cmd = [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation", "--no-index",
           "-w", str(out), str(src)]
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=850)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "deprecated" not in result.stderr.lower(), result.stderr
    wheels = list(out.glob("hyperparty-*.whl"))
    assert len(wheels) == 1, wheels
    with zipfile.ZipFile(wheels[0]) as wheel:
        yield src, wheel


def dist_info(wheel: zipfile.ZipFile, name: str) -> str:
    matches = [n for n in wheel.namelist() if n.endswith(".dist-info/" + name)]
    assert len(matches) == 1, matches
    return wheel.read(matches[0]).decode()


def test_every_module_of_the_tree_is_in_the_wheel(built) -> None:
    src, wheel = built
    names = set(wheel.namelist())
    expected = expected_modules(src)
    assert {"hyperparty/feeds/zz_new/module.py", "hyperparty/zzlayer/__init__.py",
            "hyperparty/cli/__init__.py", "hyperparty/feeds/hypercore/core.py"} <= expected
    missing = sorted(expected - names)
    assert not missing, f"modules missing from the wheel: {missing}"
    python_files = {n for n in names if n.endswith(".py")}
    assert python_files == expected, sorted(python_files - expected)  # nothing from tests/ or bench/


def test_the_wheel_holds_the_compiled_hot_path(built) -> None:
    if os.environ.get("HYPERPARTY_NO_COMPILE", "") not in ("", "0"):
        pytest.skip("compiling is switched off (HYPERPARTY_NO_COMPILE)")
    _, wheel = built
    names = wheel.namelist()
    for module in _native.COMPILED:
        stem = module.replace(".", "/")
        assert any(n.startswith(stem + ".") and n.endswith(".so") for n in names), f"{module} is not compiled"
        assert stem + ".py" in names  # the pure-Python fallback ships too
    assert any(n.startswith("hyperparty__mypyc") and n.endswith(".so") for n in names)


def test_the_real_tree_has_every_layer() -> None:
    expected = expected_modules(ROOT)
    for layer in KNOWN_LAYERS - {"hyperparty"}:
        assert f"hyperparty/{layer}/__init__.py" in expected
    assert "hyperparty/__init__.py" in expected and "hyperparty/cli/core.py" in expected


def test_console_script_and_metadata(built) -> None:
    _, wheel = built
    entry_points = configparser.ConfigParser()
    entry_points.read_string(dist_info(wheel, "entry_points.txt"))
    assert entry_points["console_scripts"]["hyperparty"].strip() == "hyperparty.cli:main"
    metadata = email.parser.Parser().parsestr(dist_info(wheel, "METADATA"))
    assert metadata["Name"] == "hyperparty"
    assert metadata["Version"] == hyperparty.__version__
    assert metadata["License-Expression"] == "MIT"


def test_setup_derives_packages_and_folders(tmp_path) -> None:
    spec = importlib.util.spec_from_file_location("hyperparty_setup", ROOT / "setup.py")
    setup = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(setup)  # not __main__: only defines package_map
    for folder in ("hyperparty/cli", "feeds/hypertrie/inner", "discovery", "tests", "bench", ".hidden", "docs"):
        (tmp_path / folder).mkdir(parents=True)
    for init in ("hyperparty", "hyperparty/cli", "feeds", "feeds/hypertrie", "feeds/hypertrie/inner",
                 "discovery", "tests", "bench", ".hidden"):
        (tmp_path / init / "__init__.py").write_text("")
    packages, package_dir = setup.package_map(tmp_path)
    assert sorted(packages) == [
        "hyperparty", "hyperparty.cli", "hyperparty.discovery", "hyperparty.feeds", "hyperparty.feeds.hypertrie",
        "hyperparty.feeds.hypertrie.inner",
    ]
    assert package_dir == {"hyperparty": "hyperparty", "hyperparty.discovery": "discovery",
                           "hyperparty.feeds": "feeds"}
