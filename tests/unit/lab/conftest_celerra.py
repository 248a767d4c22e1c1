"""Shared fixtures of the Celerra lab unit tests (imported by the test files, not a conftest.py).

The Control Station package and the data mover agent are loaded from their image directories by
file path. The `nas` fixture gives a NAS_DB in a temporary directory whose movers are real agents
(dm_agent.Agent and its TCP server on 127.0.0.1) with a stand-in for nfs-ganesha, so every command
goes through the real protocol.
"""

import importlib.machinery
import importlib.util
import io
import os
import sys
import threading
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
IMAGES = REPO / "tests" / "lab" / "images"
CS_LIB = IMAGES / "celerra-cs" / "nas" / "lib"
DM_AGENT = IMAGES / "datamover" / "dm_agent.py"
MOUNT_NFS = IMAGES / "nfsclient" / "mount_nfs.py"
CONTRACT = REPO / "docs" / "celerra-cli.md"

# The image sources are copied into images: no byte-code caches there, from this process or the
# job processes and executables the tests start.
sys.dont_write_bytecode = True
os.environ.setdefault("PYTHONDONTWRITEBYTECODE", "1")

TIME_SCALE = 0.001  # reboot 0.24 s, CS upgrade 1.5 s, rollback 1.8 s, all movers 3.6 s


def load_package(name, directory):
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(
        name, directory / "__init__.py", submodule_search_locations=[str(directory)])
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def load_file(name, path):
    if name in sys.modules:
        return sys.modules[name]
    loader = importlib.machinery.SourceFileLoader(name, str(path))
    spec = importlib.util.spec_from_loader(name, loader)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    loader.exec_module(module)
    return module


celerra_lab = load_package("celerra_lab", CS_LIB / "celerra_lab")
for _sub in ("store", "model", "agent", "commands", "jobs", "faults", "reset", "cli"):
    importlib.import_module("celerra_lab." + _sub)
cl_store = sys.modules["celerra_lab.store"]
cl_model = sys.modules["celerra_lab.model"]
cl_commands = sys.modules["celerra_lab.commands"]
cl_jobs = sys.modules["celerra_lab.jobs"]
cl_faults = sys.modules["celerra_lab.faults"]
cl_reset = sys.modules["celerra_lab.reset"]
cl_cli = sys.modules["celerra_lab.cli"]
dm_agent = load_file("dm_agent", DM_AGENT)


def contract_block(after):
    """The first fenced block of docs/celerra-cli.md that follows a line containing `after`."""
    lines = CONTRACT.read_text(encoding="utf-8").splitlines()
    start = next(i for i, line in enumerate(lines) if after in line)
    i = start + 1
    while not lines[i].strip().startswith("```"):
        i += 1
    j = i + 1
    while not lines[j].strip().startswith("```"):
        j += 1
    block = lines[i + 1:j]
    indent = min(len(ln) - len(ln.lstrip()) for ln in block if ln.strip())
    return "\n".join(ln[indent:] for ln in block) + "\n"


class FakeGanesha:
    """Stands in for nfs-ganesha: records starts and stops; can be told to fail."""

    def __init__(self):
        self.port = 2049
        self.up = False
        self.starts = 0
        self.stops = 0
        self.fail = False

    def running(self):
        return self.up

    def start(self, timeout=None):
        if self.fail:
            raise dm_agent.AgentError("nfs-ganesha exited with 2: test failure")
        self.up = True
        self.starts += 1

    def stop(self, timeout=None):
        if self.up:
            self.stops += 1
        self.up = False


class MoverHarness:
    """A real agent (protocol, validation, config) on 127.0.0.1 with a fake ganesha."""

    def __init__(self, name, tmp):
        self.name = name
        self.export_root = tmp / ("exports-" + name)
        for fs in ("fs_store1", "fs_store2"):
            (self.export_root / fs).mkdir(parents=True)
        self.ganesha = FakeGanesha()
        self.agent = dm_agent.Agent(
            name, export_root=str(self.export_root), conf_path=str(tmp / (name + ".conf")),
            state_path=str(tmp / (name + "-desired.json")), ganesha=self.ganesha,
            resolve=lambda host: {"mta1": ["10.0.0.11"], "mta2": ["10.0.0.12"]}.get(host, []),
            require_mount=False)
        self.server = dm_agent.serve(self.agent, host="127.0.0.1", port=0)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.02,),
                                       daemon=True)
        self.thread.start()
        self.requests = []
        original = self.agent.handle

        def recording(request):
            self.requests.append(request)
            return original(request)

        self.agent.handle = recording

    def close(self):
        self.server.shutdown()
        self.server.server_close()

    @property
    def exports(self):
        return [e["path"] for e in self.agent.exports] if self.agent.state == "up" else []

    @property
    def config(self):
        return Path(self.agent.conf_path).read_text(encoding="utf-8")


class Nas:
    """A NAS_DB in a temporary directory, reset to the starting state."""

    def __init__(self, root, movers):
        self.root = str(root)
        self.movers = movers

    def run(self, cmd, *args):
        out = io.StringIO()
        err = io.StringIO()
        code = cl_cli.run(cmd, list(args), out=out, err=err)
        return code, out.getvalue() + err.getvalue()

    def state(self):
        return cl_store.load(self.root)

    def fault(self, *args):
        out, err = io.StringIO(), io.StringIO()
        code = cl_faults.main(list(args), out=out, err=err)
        return code, out.getvalue() + err.getvalue()

    def wait_for(self, predicate, timeout=20.0, what="condition"):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if predicate(self.state()):
                return
            time.sleep(0.02)
        raise AssertionError("timed out waiting for %s" % what)

    def wait_jobs(self, timeout=20.0):
        """Until no job runs and the global lock is free: a job that is exiting has left /proc's command
        lines (the kernel releases its memory first) while it still holds the lock's descriptor."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            if not cl_jobs.job_pids(self.root) and not self.state().get("jobs") and cl_store.global_lock_free(self.root):
                return
            time.sleep(0.02)
        raise AssertionError("jobs still running or the lock still held: %r" % cl_jobs.job_pids(self.root))


def set_scale(nas, scale):
    """Change the time scale of a fake set up at TIME_SCALE (lab.conf is read by each command and job)."""
    conf = Path(nas.root) / "state" / "lab.conf"
    text = conf.read_text(encoding="utf-8").replace("time_scale=%s" % TIME_SCALE,
                                                    "time_scale=%s" % scale)
    conf.write_text(text, encoding="utf-8")


def served(nas, mover):
    return nas.movers[mover].exports


def wait_cs(nas, states):
    nas.wait_for(lambda s: s["cs"]["upgrade"]["state"] in states, what="cs " + str(states))


@pytest.fixture
def nas(tmp_path, monkeypatch):
    root = tmp_path / "nas"
    (root / "state").mkdir(parents=True)
    movers = {name: MoverHarness(name, tmp_path) for name in ("server_2", "server_3")}
    (root / "state" / "lab.conf").write_text(
        "time_scale=%s\n" % TIME_SCALE
        + "".join("mover.%s=127.0.0.1:%d\n" % (n, m.port) for n, m in movers.items()),
        encoding="utf-8")
    monkeypatch.setenv("NAS_DB", str(root))
    out, err = io.StringIO(), io.StringIO()
    assert cl_reset.main([], out=out, err=err) == 0, err.getvalue()
    for mover in movers.values():
        mover.requests.clear()
    harness = Nas(root, movers)
    yield harness
    cl_jobs.stop_all(str(root))
    for mover in movers.values():
        mover.close()


__all__ = ["nas", "Nas", "MoverHarness", "FakeGanesha", "contract_block", "load_file",
           "cl_store", "cl_model", "cl_commands", "cl_jobs", "cl_faults", "cl_reset", "cl_cli",
           "dm_agent", "MOUNT_NFS", "TIME_SCALE", "os"]
