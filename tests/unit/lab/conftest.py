"""Helpers for the unit tests of the lab's images: their Python code is imported by path, no containers."""

import importlib.util
import pathlib
import sys

import pytest

# The image sources are copied into images: keep byte-code caches out of them.
sys.dont_write_bytecode = True

IMAGES = pathlib.Path(__file__).resolve().parents[2] / "lab" / "images"
CPMS_IMAGE = IMAGES / "cpms"
CPMS_TREE = CPMS_IMAGE / "opt" / "cpms"
CPMS_LIB = CPMS_TREE / "lib"
CPMS_PATCH = CPMS_IMAGE / "patch"

if str(CPMS_LIB) not in sys.path:
    sys.path.insert(0, str(CPMS_LIB))


def load_module(path, name):
    """Import one Python file under a name of the caller's choosing."""
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def cpms_render_patched():
    """render.py of the 6.7.19.1 patch (with the sanitiser)."""
    return load_module(CPMS_PATCH / "files" / "lib" / "cpms" / "render.py", "cpms_render_6_7_19_1")
