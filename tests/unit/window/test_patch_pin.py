"""The lab's patch bundle is built deterministically and matches the SHA-256 pinned in the lab inventory."""

import hashlib
import pathlib
import subprocess

import yaml

ROOT = pathlib.Path(__file__).resolve().parents[3]


def test_the_built_bundle_matches_the_pinned_checksum(tmp_path):
    subprocess.run(["bash", str(ROOT / "tests/lab/images/cpms/patch/build-patch.sh"), str(tmp_path)], check=True)
    bundle = tmp_path / "cpms-6.7.19.1-patch.tar.gz"
    digest = hashlib.sha256(bundle.read_bytes()).hexdigest()
    published = (tmp_path / "cpms-6.7.19.1-patch.tar.gz.sha256").read_text().split()[0]
    pinned = yaml.safe_load((ROOT / "inventories/lab/group_vars/all/window.yml").read_text())["cpms_patch_sha256"]
    assert digest == published
    assert digest == pinned, "the bundle's sources changed: pin the new SHA-256 in the lab inventory"
