"""The 6.7.19.1 patch bundle: deterministic build, contents, MANIFEST order, installer syntax."""

import hashlib
import pathlib
import shutil
import subprocess
import tarfile

import pytest

from cpms import common

CPMS_IMAGE = pathlib.Path(__file__).resolve().parents[2] / "lab" / "images" / "cpms"
CPMS_TREE = CPMS_IMAGE / "opt" / "cpms"
CPMS_PATCH = CPMS_IMAGE / "patch"

NAME = "cpms-6.7.19.1-patch"
BUILD = CPMS_PATCH / "build-patch.sh"

pytestmark = pytest.mark.skipif(shutil.which("bash") is None or shutil.which("tar") is None,
                                reason="needs bash and GNU tar")


@pytest.fixture(scope="module")
def bundle(tmp_path_factory):
    out = tmp_path_factory.mktemp("patch")
    subprocess.run(["bash", str(BUILD), str(out)], check=True, capture_output=True)
    return out


def test_two_builds_give_the_same_bytes(bundle, tmp_path):
    subprocess.run(["bash", str(BUILD), str(tmp_path)], check=True, capture_output=True)
    first = (bundle / f"{NAME}.tar.gz").read_bytes()
    assert (tmp_path / f"{NAME}.tar.gz").read_bytes() == first
    assert (tmp_path / f"{NAME}.tar.gz.sha256").read_text() == (bundle / f"{NAME}.tar.gz.sha256").read_text()


def test_checksum_file_is_in_sha256sum_format(bundle):
    digest = hashlib.sha256((bundle / f"{NAME}.tar.gz").read_bytes()).hexdigest()
    assert (bundle / f"{NAME}.tar.gz.sha256").read_text() == f"{digest}  {NAME}.tar.gz\n"
    subprocess.run(["sha256sum", "-c", "--strict", f"{NAME}.tar.gz.sha256"], cwd=bundle, check=True,
                   capture_output=True)


def test_members_are_normalised(bundle):
    with tarfile.open(bundle / f"{NAME}.tar.gz") as tar:
        members = tar.getmembers()
    assert members and all(m.name == NAME or m.name.startswith(NAME + "/") for m in members)
    assert all(m.mtime == 0 and m.uid == 0 and m.gid == 0 for m in members)
    modes = {m.name[len(NAME) + 1:]: m.mode for m in members if m.isfile()}
    assert modes["install.sh"] == 0o755 and modes["files/bin/cpmsctl"] == 0o755
    assert modes["files/lib/cpms/render.py"] == 0o644 and modes["MANIFEST"] == 0o644
    assert not [n for n in modes if "__pycache__" in n or n.endswith(".pyc")]


@pytest.fixture(scope="module")
def unpacked(bundle, tmp_path_factory):
    dest = tmp_path_factory.mktemp("unpacked")
    with tarfile.open(bundle / f"{NAME}.tar.gz") as tar:
        assert all(not m.name.startswith("/") and ".." not in m.name.split("/") for m in tar.getmembers())
        if hasattr(tarfile, "data_filter"):
            tar.extractall(dest, filter="data")
        else:
            tar.extractall(dest)  # nosec - members checked above
    return dest / NAME


def test_every_file_is_bumped_and_consistent(unpacked):
    files = unpacked / "files"
    assert common.check_install(str(files)) == ("6.7.19.1", [])
    # The bundle replaces every file of the install, no more, no less.
    assert common.installed_files(str(files)) == common.installed_files(str(CPMS_TREE))


def test_render_is_the_sanitising_one(unpacked):
    text = (unpacked / "files" / "lib" / "cpms" / "render.py").read_text()
    assert "def sanitise(" in text and "CPMS_BUILD = \"6.7.19.1\"" in text
    assert text == (CPMS_PATCH / "files" / "lib" / "cpms" / "render.py").read_text()


def test_other_files_differ_only_in_the_build_marker(unpacked):
    for rel in common.installed_files(str(CPMS_TREE)):
        if rel == "lib/cpms/render.py":
            continue
        old = (CPMS_TREE / rel).read_text()
        new = (unpacked / "files" / rel).read_text()
        assert new != old
        assert new.replace('CPMS_BUILD = "6.7.19.1"', 'CPMS_BUILD = "6.7.19"') == old


def test_manifest_lists_every_file_with_its_checksum_version_last(unpacked):
    lines = (unpacked / "MANIFEST").read_text().splitlines()
    paths = [line[66:] for line in lines]
    assert paths[-1] == "VERSION" and paths.count("VERSION") == 1
    assert paths[:-1] == sorted(paths[:-1])
    assert sorted(paths) == sorted(
        p.relative_to(unpacked / "files").as_posix() for p in (unpacked / "files").rglob("*") if p.is_file())
    for line in lines:
        digest, rel = line[:64], line[66:]
        assert line[64:66] == "  "
        assert hashlib.sha256((unpacked / "files" / rel).read_bytes()).hexdigest() == digest
    assert (unpacked / "files" / "VERSION").read_text() == "6.7.19.1\n"


def test_installer_is_valid_posix_shell(unpacked):
    subprocess.run(["sh", "-n", str(unpacked / "install.sh")], check=True)


@pytest.mark.parametrize("argv", [[], ["a", "b"], [""]])
def test_build_patch_usage(argv):
    run = subprocess.run(["bash", str(BUILD), *argv], capture_output=True, text=True, check=False)
    assert run.returncode == 2 and "usage: build-patch.sh OUTDIR" in run.stderr
