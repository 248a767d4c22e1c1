"""The data mover agent: ganesha configuration, request validation, protocol, ganesha control."""

import json
import socket
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from conftest_celerra import FakeGanesha, MoverHarness, dm_agent  # noqa: E402

HOSTS = {"mta1": ["10.0.0.11"], "mta2": ["10.0.0.12"], "both": ["10.0.0.11"]}


def resolve(host):
    return HOSTS.get(host, [])


def render(options, mode="rw"):
    return dm_agent.render_config(
        [{"path": "/fs_store1", "fs": "fs_store1", "options": options}],
        [{"fs": "fs_store1", "path": "/fs_store1", "mode": mode}], "/exports", resolve)


def clients(text):
    return [line.strip() for line in text.splitlines() if "CLIENT" in line]


DENY_OTHERS = "CLIENT { Clients = *; Access_Type = MDONLY_RO; SecType = krb5; }"


def test_starting_export_config():
    text = render({"rw": ["mta1", "mta2"], "root": ["mta1", "mta2"],
                   "access": ["mta1", "mta2"]})
    assert text.startswith("# Written by the lab's data mover agent")
    assert "NFS_CORE_PARAM { Protocols = 4; NFS_Port = 2049; Enable_NLM = false; " \
           "Enable_RQUOTA = false; Enable_UDP = false; }\n" in text
    assert "NFSV4 { Graceless = true; }\n" in text
    assert "EXPORT_DEFAULTS { Access_Type = None; }\n" in text
    assert "    Path = /exports/fs_store1;\n    Pseudo = /fs_store1;\n" \
           "    Access_Type = None;\n" in text
    assert "    FSAL { Name = VFS; }\n" in text
    assert clients(text) == [
        "CLIENT { Clients = 10.0.0.11, 10.0.0.12; Access_Type = RW; Squash = No_Root_Squash; }",
        DENY_OTHERS]


def test_rw_list_makes_other_listed_clients_read_only_and_root_controls_squash():
    text = render({"rw": ["mta1"], "root": ["mta2"], "access": ["mta1", "mta2"]})
    assert clients(text) == [
        "CLIENT { Clients = 10.0.0.11; Access_Type = RW; Squash = Root_Squash; }",
        "CLIENT { Clients = 10.0.0.12; Access_Type = RO; Squash = No_Root_Squash; }",
        DENY_OTHERS]


def test_without_access_the_union_of_the_lists_is_admitted():
    text = render({"ro": ["mta2"], "root": ["mta1"]})
    assert clients(text) == [
        "CLIENT { Clients = 10.0.0.12; Access_Type = RO; Squash = Root_Squash; }",
        "CLIENT { Clients = 10.0.0.11; Access_Type = RW; Squash = No_Root_Squash; }",
        DENY_OTHERS]


def test_no_list_admits_everyone_and_ro_forms_are_read_only():
    assert clients(render({})) == [
        "CLIENT { Clients = *; Access_Type = RW; Squash = Root_Squash; }"]
    assert clients(render({"ro": True})) == [
        "CLIENT { Clients = *; Access_Type = RO; Squash = Root_Squash; }"]
    assert clients(render({"rw": ["mta1"]}, mode="ro")) == [
        "CLIENT { Clients = 10.0.0.11; Access_Type = RO; Squash = Root_Squash; }", DENY_OTHERS]


def test_unresolvable_hosts_are_not_admitted_and_addresses_are_not_repeated():
    text = render({"access": ["ghost", "mta1", "both", "10.1.2.3"]})
    assert "    # ghost: does not resolve, not admitted\n" in text
    assert clients(text) == [
        "CLIENT { Clients = 10.0.0.11, 10.1.2.3; Access_Type = RW; Squash = Root_Squash; }",
        DENY_OTHERS]
    assert clients(render({"access": ["ghost"]})) == [DENY_OTHERS]


def test_no_export_config_has_no_export_block():
    text = dm_agent.render_config([], [{"fs": "fs_store1", "path": "/fs_store1", "mode": "rw"}],
                                  "/exports", resolve)
    assert "EXPORT {" not in text and "EXPORT_DEFAULTS" in text


def test_two_exports_get_distinct_ids():
    mounts = [{"fs": "fs_store1", "path": "/a1", "mode": "rw"},
              {"fs": "fs_store2", "path": "/fs_store2", "mode": "rw"}]
    exports = [{"path": "/fs_store2", "options": {}}, {"path": "/a1", "options": {}}]
    text = dm_agent.render_config(exports, mounts, "/exports", resolve)
    assert "Export_Id = 1;\n    Path = /exports/fs_store2;\n    Pseudo = /fs_store2;" in text
    assert "Export_Id = 2;\n    Path = /exports/fs_store1;\n    Pseudo = /a1;" in text


# ---------------------------------------------------------------- validation

@pytest.fixture
def exports_root(tmp_path):
    for fs in ("fs_store1", "fs_store2"):
        (tmp_path / fs).mkdir()
    return tmp_path


def test_validate_accepts_the_control_stations_request(exports_root):
    mounts, exports = dm_agent.validate({
        "mounts": [{"fs": "fs_store1", "path": "/fs_store1", "mode": "rw"}],
        "exports": [{"path": "/fs_store1", "fs": "fs_store1",
                     "options": {"rw": ["mta1"], "ro": True}}]}, str(exports_root), False)
    assert mounts == [{"fs": "fs_store1", "path": "/fs_store1", "mode": "rw"}]
    assert exports[0]["fs"] == "fs_store1"


@pytest.mark.parametrize("request_, message", [
    ({"mounts": []}, "apply needs 'mounts' and 'exports' lists"),
    ({"mounts": [{"fs": "fs_x", "path": "/fs_x"}], "exports": []},
     "file system fs_x has no back-end volume on this mover"),
    ({"mounts": [{"fs": "../etc", "path": "/x"}], "exports": []}, "bad file system name"),
    ({"mounts": [{"fs": "fs_store1", "path": "/a/b"}], "exports": []}, "bad mount point"),
    ({"mounts": [{"fs": "fs_store1", "path": "/a", "mode": "rx"}], "exports": []},
     "bad mount mode"),
    ({"mounts": [{"fs": "fs_store1", "path": "/a"}, {"fs": "fs_store2", "path": "/a"}],
      "exports": []}, "mount point /a used twice"),
    ({"mounts": [], "exports": [{"path": "/fs_store1", "options": {}}]},
     "export '/fs_store1' is not a mount point on this mover"),
    ({"mounts": [{"fs": "fs_store1", "path": "/a"}],
      "exports": [{"path": "/a", "options": {"anon": ["0"]}}]}, "bad export option 'anon'"),
    ({"mounts": [{"fs": "fs_store1", "path": "/a"}],
      "exports": [{"path": "/a", "options": {"rw": ["a b"]}}]}, "bad host list"),
    ({"mounts": [{"fs": "fs_store1", "path": "/a"}],
      "exports": [{"path": "/a", "options": {"root": True}}]}, "bad host list"),
])
def test_validate_rejects(exports_root, request_, message):
    with pytest.raises(dm_agent.AgentError) as exc:
        dm_agent.validate(request_, str(exports_root), False)
    assert message in str(exc.value)


def test_validate_requires_a_mounted_volume(exports_root):
    with pytest.raises(dm_agent.AgentError) as exc:
        dm_agent.validate({"mounts": [{"fs": "fs_store1", "path": "/a"}], "exports": []},
                          str(exports_root), True)
    assert "is not a mounted volume" in str(exc.value)


# ---------------------------------------------------------------- protocol

def ask(harness, payload, raw=None):
    with socket.create_connection(("127.0.0.1", harness.port), timeout=5) as sock:
        sock.sendall(raw if raw is not None else (json.dumps(payload) + "\n").encode())
        data = b""
        while not data.endswith(b"\n"):
            chunk = sock.recv(4096)
            if not chunk:
                break
            data += chunk
    return json.loads(data)


@pytest.fixture
def mover(tmp_path):
    harness = MoverHarness("server_2", tmp_path)
    yield harness
    harness.close()


APPLY = {"op": "apply", "mover": "server_2",
         "mounts": [{"fs": "fs_store1", "path": "/fs_store1", "mode": "rw"}],
         "exports": [{"path": "/fs_store1", "options": {"access": ["mta1"]}}]}


def test_protocol_apply_status_down(mover):
    assert ask(mover, {"op": "status", "mover": "server_2"}) == {
        "ok": True, "mover": "server_2", "state": "unconfigured", "ganesha": False,
        "exports": []}
    answer = ask(mover, APPLY)
    assert answer == {"ok": True, "mover": "server_2", "state": "up", "ganesha": True,
                      "exports": ["/fs_store1"]}
    assert mover.ganesha.starts == 1
    # the same configuration again: no restart
    assert ask(mover, APPLY)["ok"] and mover.ganesha.starts == 1
    changed = dict(APPLY, exports=[])
    assert ask(mover, changed)["exports"] == [] and mover.ganesha.starts == 2
    assert ask(mover, {"op": "down", "mover": "server_2"})["state"] == "down"
    assert not mover.ganesha.up and mover.ganesha.stops == 2
    assert ask(mover, APPLY)["state"] == "up" and mover.ganesha.up


def test_protocol_refusals(mover):
    assert ask(mover, dict(APPLY, mover="server_3")) == {
        "ok": False, "error": "this is server_2, not server_3"}
    assert ask(mover, {"op": "reboot", "mover": "server_2"}) == {
        "ok": False, "error": "unknown op 'reboot'"}
    assert ask(mover, None, raw=b"not json\n") == {"ok": False, "error": "bad request"}
    assert ask(mover, None, raw=b"[1]\n") == {"ok": False,
                                              "error": "request is not a JSON object"}
    answer = ask(mover, dict(APPLY, mounts=[]))
    assert answer["ok"] is False and "not a mount point" in answer["error"]
    assert mover.agent.state == "unconfigured"


def test_failed_start_restores_the_previous_configuration(mover):
    assert ask(mover, APPLY)["ok"]
    before = mover.config
    mover.ganesha.fail = True
    answer = ask(mover, dict(APPLY, exports=[]))
    assert answer == {"ok": False, "error": "nfs-ganesha exited with 2: test failure"}
    assert mover.agent.exports[0]["path"] == "/fs_store1"
    mover.ganesha.fail = False
    assert mover.config == before


def test_agent_restores_its_last_state_after_a_restart(tmp_path):
    first = MoverHarness("server_2", tmp_path)
    try:
        assert ask(first, APPLY)["ok"]
    finally:
        first.close()
    again = dm_agent.Agent("server_2", export_root=first.agent.export_root,
                           conf_path=first.agent.conf_path, state_path=first.agent.state_path,
                           ganesha=FakeGanesha(), resolve=resolve, require_mount=False)
    again.restore()
    assert again.state == "up" and [e["path"] for e in again.exports] == ["/fs_store1"]
    again.down()
    third = dm_agent.Agent("server_2", export_root=first.agent.export_root,
                           conf_path=first.agent.conf_path, state_path=first.agent.state_path,
                           ganesha=FakeGanesha(), resolve=resolve, require_mount=False)
    third.restore()
    assert third.state == "down" and not third.ganesha.up


def test_refresh_restarts_when_a_client_address_changes(mover):
    assert ask(mover, APPLY)["ok"]
    assert mover.ganesha.starts == 1
    mover.agent.refresh()
    assert mover.ganesha.starts == 1
    mover.agent.resolve = lambda host: ["10.0.0.99"] if host == "mta1" else []
    mover.agent.refresh()
    assert mover.ganesha.starts == 2
    assert "Clients = 10.0.0.99;" in mover.config


# ---------------------------------------------------------------- ganesha control

FAKE_GANESHA = """\
#!{python}
import socket, sys, time, os
conf = sys.argv[sys.argv.index("-f") + 1]
text = open(conf).read()
if "FAIL" in text:
    print("CRIT: config broken", file=open(sys.argv[sys.argv.index("-L") + 1], "w"))
    sys.exit(2)
time.sleep(0.2)
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(os.environ["FAKE_PORT"])))
s.listen()
while True:
    conn, _ = s.accept()
    conn.close()
"""


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_ganesha_start_waits_for_the_port_and_stop_closes_it(tmp_path, monkeypatch):
    binary = tmp_path / "ganesha.nfsd"
    binary.write_text(FAKE_GANESHA.format(python=sys.executable))
    binary.chmod(0o755)
    port = free_port()
    monkeypatch.setenv("FAKE_PORT", str(port))
    monkeypatch.setattr(dm_agent.os, "makedirs", lambda *a, **k: None)
    conf = tmp_path / "g.conf"
    conf.write_text("ok")
    g = dm_agent.Ganesha(str(conf), str(tmp_path / "g.log"), binary=str(binary), port=port)
    started = time.time()
    g.start(timeout=10)
    assert time.time() - started >= 0.2
    assert g.running()
    socket.create_connection(("127.0.0.1", port), timeout=1).close()
    g.stop()
    assert not g.running()
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    conf.write_text("FAIL")
    with pytest.raises(dm_agent.AgentError) as exc:
        g.start(timeout=10)
    assert "nfs-ganesha exited with 2: CRIT: config broken" in str(exc.value)
