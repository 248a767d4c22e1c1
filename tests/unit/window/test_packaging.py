"""Packaging: the execution environment, the collection tarball and the collection's metadata.

- The execution environment (execution-environment.yml): `ansible-builder create` writes its build context
  (it only writes files: the network is used by `ansible-builder build` alone, which these tests never run),
  and what goes into the image is the collection's runtime dependencies, never the controller's or the
  tests' tooling; ansible-builder's introspection of the installed collection adds no tooling either.
- The tarball (`ansible-galaxy collection build`): the license, the code and the plans, and no inventory,
  no example site, no tests, no lab, no requirements files of the controller or the tests.
- The metadata: no placeholder or empty URL, the oldest supported ansible-core line, and every collection
  the repository uses declared (galaxy.yml for the roles and plugins, requirements.yml for everything).

The tools are the venv's (the Python running the tests): ansible-builder comes with requirements-test.txt.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import ansible
import pytest
import yaml
from ansible.release import __version__ as ANSIBLE_CORE_VERSION
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet

REPO = Path(__file__).resolve().parents[3]
SITE_PACKAGES = Path(ansible.__file__).resolve().parents[1]

# Never in an execution environment through the collection's requirements: the controller's and the tests' tools.
TOOLING = {"ansible", "ansible-core", "ansible-runner", "ansible-builder", "ansible-lint", "ansible-navigator",
           "molecule", "molecule-plugins", "pytest", "pytest-testinfra", "antsibull-changelog"}
# Never in the tarball: top-level entries that are the repository's, not the collection's.
NOT_SHIPPED_DIRS = ("inventories", "docs/examples", "tests", "molecule", "bench", "collections", "reports",
                    "constraints", "context", ".lab", ".ci", ".config", ".ansible", ".venv", ".pytest_cache")
NOT_SHIPPED_FILES = ("requirements.txt", "requirements-test.txt", "requirements.yml", "execution-environment.yml",
                     "Makefile", "ansible.cfg", ".gitignore", ".ansible-lint", "maintenance.yml")
# The example site's host names (docs/examples/production), which the collection must not carry.
EXAMPLE_SITE_DOMAIN = b"itesm.mx"
URL_KEYS = ("repository", "documentation", "homepage", "issues")


def tool(name):
    """A command of the Python running the tests (the venv), else from PATH; a failure when missing."""
    candidate = Path(sys.executable).parent / name
    if candidate.exists():
        return str(candidate)
    found = shutil.which(name)
    if not found:
        pytest.fail("%s is not installed next to %s nor on PATH: pip install -r requirements-test.txt"
                    % (name, sys.executable))
    return found


def run(command, cwd, **env_extra):
    """Run a tool with no ANSIBLE_* or MAILOPS_* settings of the caller; fail with its output."""
    env = dict((k, v) for k, v in os.environ.items() if not k.startswith(("ANSIBLE_", "MAILOPS_")))
    env.update(ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0")
    env.update(env_extra)
    result = subprocess.run(command, cwd=str(cwd), env=env, capture_output=True, text=True, timeout=300,
                            check=False)
    assert result.returncode == 0, "%s failed (%d):\n%s\n%s" % (
        " ".join(command), result.returncode, result.stdout, result.stderr)
    return result


def load_yaml(relative):
    return yaml.safe_load((REPO / relative).read_text(encoding="utf-8"))


def pip_names(text):
    """The project names of a pip requirements file's requirements (options and comments left out)."""
    names = set()
    for line in text.splitlines():
        line = re.sub(r"(^|\s)#.*$", "", line).strip()
        if line and not line.startswith("-"):
            names.add(Requirement(line).name.lower())
    return names


def pip_requirements(relative):
    """{name: SpecifierSet} of one requirements file of the repository (its -r files not followed)."""
    found = {}
    for line in (REPO / relative).read_text(encoding="utf-8").splitlines():
        line = re.sub(r"(^|\s)#.*$", "", line).strip()
        if line and not line.startswith("-"):
            requirement = Requirement(line)
            found[requirement.name.lower()] = requirement.specifier
    return found


def installed_collections():
    """{fqcn: version} of the collections installed next to ansible-core (the `ansible` bundle)."""
    found = {}
    for manifest in (SITE_PACKAGES / "ansible_collections").glob("*/*/MANIFEST.json"):
        info = json.loads(manifest.read_text(encoding="utf-8"))["collection_info"]
        found["%s.%s" % (info["namespace"], info["name"])] = info["version"]
    return found


# --- The execution environment -----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def ee_context(tmp_path_factory):
    context = tmp_path_factory.mktemp("ee") / "context"
    # A proxy that refuses everything: `create` must not need the network.
    refused = "http://127.0.0.1:9"
    run([tool("ansible-builder"), "create", "--file", "execution-environment.yml", "--context", str(context)],
        REPO, http_proxy=refused, https_proxy=refused, HTTP_PROXY=refused, HTTPS_PROXY=refused, no_proxy="",
        NO_PROXY="")
    return context


def test_the_ee_definition_takes_the_runtime_files_and_the_supported_line():
    ee = load_yaml("execution-environment.yml")
    assert ee["version"] == 3
    deps = ee["dependencies"]
    assert deps["python"] == "requirements-runtime.txt"
    assert deps["system"] == "bindep.txt"
    assert deps["galaxy"] == "requirements.yml"
    assert ee["images"]["base_image"]["name"]
    # ansible-core of the oldest supported line, which requirements.txt and meta/runtime.yml admit too.
    core = Requirement(deps["ansible_core"]["package_pip"])
    major, minor = re.fullmatch(r">=(\d+)\.(\d+)\.0", load_yaml("meta/runtime.yml")["requires_ansible"]).groups()
    oldest, older = "%s.%s" % (major, minor), "%s.%d" % (major, int(minor) - 1)
    assert core.name == "ansible-core"
    assert core.specifier.contains(oldest + ".0") and core.specifier.contains(oldest + ".99")
    assert not core.specifier.contains(older + ".99")
    assert pip_requirements("requirements.txt")["ansible-core"].contains(oldest + ".0")
    runner = Requirement(deps["ansible_runner"]["package_pip"])
    assert runner.name == "ansible-runner"
    assert runner.specifier.contains("2.4.0") and pip_requirements("requirements.txt")["ansible-runner"].contains("2.4.0")


def test_create_writes_the_build_context_with_the_runtime_requirements_only(ee_context):
    containerfile = ee_context / "Containerfile"
    assert containerfile.is_file()
    text = containerfile.read_text(encoding="utf-8")
    assert 'EE_BASE_IMAGE="%s"' % load_yaml("execution-environment.yml")["images"]["base_image"]["name"] in text
    # ansible-core and ansible-runner come from the definition's own pins, not from a requirements file.
    refs = re.search(r'^ARG ANSIBLE_INSTALL_REFS="([^"]*)"$', text, re.M).group(1).split()
    assert sorted(Requirement(r).name for r in refs) == ["ansible-core", "ansible-runner"]

    python = (ee_context / "_build" / "requirements.txt").read_text(encoding="utf-8")
    names = pip_names(python)
    assert "paramiko" in names
    assert not names & TOOLING, "tooling in the EE's Python requirements: %s" % sorted(names & TOOLING)
    assert names == pip_names((REPO / "requirements-runtime.txt").read_text(encoding="utf-8"))

    bindep = (ee_context / "_build" / "bindep.txt").read_text(encoding="utf-8")
    assert re.search(r"^openssh-clients \[platform:rpm\]$", bindep, re.M)
    assert re.search(r"^openssh-client \[platform:dpkg\]$", bindep, re.M)

    galaxy = yaml.safe_load((ee_context / "_build" / "requirements.yml").read_text(encoding="utf-8"))
    assert {c["name"] for c in galaxy["collections"]} >= {"ansible.posix"}


def test_introspection_of_the_installed_collection_adds_no_tooling(tarball, tmp_path):
    """What ansible-builder build adds for a collection installed in an EE: here, mailops.window's."""
    collection = tmp_path / "collections" / "ansible_collections" / "mailops" / "window"
    collection.mkdir(parents=True)
    with tarfile.open(tarball) as archive:
        # The safe extraction filter where this Python has it (3.11.4 and later).
        archive.extractall(collection, **({"filter": "data"} if hasattr(tarfile, "data_filter") else {}))
    pip_out, bindep_out = tmp_path / "pip.txt", tmp_path / "bindep.txt"
    run([tool("ansible-builder"), "introspect", str(tmp_path / "collections"),
         "--user-pip", str(REPO / "requirements-runtime.txt"), "--user-bindep", str(REPO / "bindep.txt"),
         "--write-pip", str(pip_out), "--write-bindep", str(bindep_out)], tmp_path)

    lines = [line for line in pip_out.read_text(encoding="utf-8").splitlines() if line.strip()]
    from_collection = pip_names("\n".join(line for line in lines if "from collection mailops.window" in line))
    runtime = pip_names((REPO / "requirements-runtime.txt").read_text(encoding="utf-8"))
    assert from_collection <= runtime, "the collection brings more than requirements-runtime.txt: %s" % lines
    everything = pip_names("\n".join(lines))
    assert "paramiko" in everything
    assert not everything & TOOLING, "tooling would go into the EE: %s" % lines
    assert re.search(r"^openssh-clients \[platform:rpm\]\s+# from collection mailops\.window$",
                     bindep_out.read_text(encoding="utf-8"), re.M), "bindep.txt is not shipped in the tarball"


# --- The tarball -------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def tarball(tmp_path_factory):
    out = tmp_path_factory.mktemp("build")
    run([tool("ansible-galaxy"), "collection", "build", "--output-path", str(out)], REPO)
    built = sorted(out.glob("mailops-window-*.tar.gz"))
    assert len(built) == 1, built
    return built[0]


@pytest.fixture(scope="module")
def members(tarball):
    with tarfile.open(tarball) as archive:
        return {m.name: (archive.extractfile(m).read() if m.isfile() else None) for m in archive.getmembers()}


def test_the_tarball_ships_the_license(members):
    for name in ("LICENSE", "COPYING"):
        assert name in members, name
        assert members[name] == (REPO / name).read_bytes()
    assert members["LICENSE"] == members["COPYING"]
    head = members["COPYING"][:200].decode()
    assert "GNU GENERAL PUBLIC LICENSE" in head and "Version 3, 29 June 2007" in head


def test_the_tarball_ships_the_code_plans_and_runtime_files(members):
    for relative in ("README.md", "meta/runtime.yml", "requirements-runtime.txt", "bindep.txt"):
        assert relative in members, relative
    for folder in ("plugins/plugin_utils", "plugins/modules", "plugins/callback", "playbooks/plans"):
        shipped = [p.relative_to(REPO).as_posix() for p in sorted((REPO / folder).iterdir())
                   if p.is_file() and p.suffix in (".py", ".yml")]
        assert shipped, folder
        missing = [p for p in shipped if p not in members]
        assert not missing, "not in the tarball: %s" % missing
    manifest = json.loads(members["MANIFEST.json"])["collection_info"]
    assert manifest["license"] == ["GPL-3.0-or-later"]
    assert set(manifest["dependencies"]) == {"ansible.posix"}


def test_the_tarball_holds_no_inventory_lab_tests_or_tooling(members):
    wrong = sorted(name for name in members
                   if any(name == d or name.startswith(d + "/") for d in NOT_SHIPPED_DIRS)
                   or name in NOT_SHIPPED_FILES
                   or "__pycache__" in name.split("/") or name.endswith(".pyc"))
    assert not wrong, "in the tarball: %s" % wrong
    inventories = sorted(name for name in members if name.endswith(("hosts.yml", "hosts.yaml", "hosts.ini")))
    assert not inventories, inventories
    site = sorted(name for name, data in members.items() if data and EXAMPLE_SITE_DOMAIN in data)
    assert not site, "the example site's host names are in %s" % site


# --- The metadata ------------------------------------------------------------------------------------------

def test_galaxy_yml_has_no_placeholder_or_empty_urls():
    text = (REPO / "galaxy.yml").read_text(encoding="utf-8")
    assert "example.invalid" not in text
    galaxy = yaml.safe_load(text)
    for key in URL_KEYS:
        if key in galaxy:
            value = galaxy[key]
            assert isinstance(value, str) and value.startswith("https://"), (key, value)
            assert not re.search(r"\.(invalid|example|test|localhost)(/|$)|example\.(com|org|net)", value), \
                (key, value)
    assert galaxy["license"] == ["GPL-3.0-or-later"] and "license_file" not in galaxy
    assert all(author.strip() for author in galaxy["authors"])


def test_meta_runtime_requires_the_oldest_supported_line():
    requires = load_yaml("meta/runtime.yml")["requires_ansible"]
    assert requires == ">=2.19.0"
    assert SpecifierSet(requires).contains(ANSIBLE_CORE_VERSION, prereleases=True)


def test_the_example_site_inventory_lives_in_the_docs():
    assert not (REPO / "inventories" / "production").exists()
    example = REPO / "docs" / "examples" / "production"
    result = run([tool("ansible-inventory"), "-i", str(example), "--graph"], REPO,
                 ANSIBLE_CONFIG=str(REPO / "ansible.cfg"))
    for group in ("cpms_config", "cpms_mta", "cpms_config_active", "celerra"):
        assert "@%s:" % group in result.stdout, result.stdout


def uses(fqcn_prefix, text):
    return re.search(r"(?<![\w.])%s\.[a-z_][a-z0-9_]*" % re.escape(fqcn_prefix), text) is not None


def test_every_collection_used_is_declared():
    """A collection of the ansible bundle used by the roles, plugins or playbooks is a dependency in
    galaxy.yml; used anywhere (tests, lab, molecule too), it is in requirements.yml."""
    declared = {c["name"]: c.get("version", "*") for c in load_yaml("requirements.yml")["collections"]}
    runtime_deps = load_yaml("galaxy.yml").get("dependencies") or {}
    candidates = set(installed_collections()) | set(declared) | set(runtime_deps)
    candidates -= {"ansible.builtin", "ansible.legacy", "mailops.window"}

    def used_in(*folders):
        found = set()
        for folder in folders:
            root = REPO / folder
            if root.is_file():
                files = [root]
            else:
                files = [p for p in root.rglob("*") if p.is_file() and p.suffix in (".yml", ".yaml", ".py", ".j2")]
            for path in files:
                text = path.read_text(encoding="utf-8", errors="replace")
                found |= {fqcn for fqcn in candidates if uses(fqcn, text)}
        return found

    runtime = used_in("roles", "plugins", "playbooks")
    everywhere = runtime | used_in("molecule", "tests/lab")
    assert runtime <= set(runtime_deps), "used at run time, not in galaxy.yml: %s" % sorted(runtime - set(runtime_deps))
    assert everywhere <= set(declared), "used, not in requirements.yml: %s" % sorted(everywhere - set(declared))
    assert set(runtime_deps) <= set(declared)
    assert {"ansible.posix", "containers.podman", "community.general"} <= everywhere


def test_the_bundle_meets_the_declared_ranges():
    """The venv gets the collections from the `ansible` bundle: its versions are within the declared ranges."""
    installed = installed_collections()
    declared = {c["name"]: c.get("version", "*") for c in load_yaml("requirements.yml")["collections"]}
    declared_runtime = load_yaml("galaxy.yml").get("dependencies") or {}
    if not installed:
        pytest.skip("no `ansible` bundle next to ansible-core %s" % ANSIBLE_CORE_VERSION)
    for source, ranges in (("requirements.yml", declared), ("galaxy.yml", declared_runtime)):
        for name, spec in ranges.items():
            assert name in installed, "%s: %s is not in the bundle" % (source, name)
            if spec != "*":
                assert SpecifierSet(spec).contains(installed[name], prereleases=True), \
                    "%s: %s %s does not admit the bundle's %s" % (source, name, spec, installed[name])
