"""The work plan document (playbooks/work_plan.yml) from the window's plan, and the plan filters.

The playbook runs as `make work-plan` runs it: the venv's ansible-playbook, from the repository root,
with the repository's ansible.cfg, against the lab inventory.
"""

from __future__ import annotations

import copy
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from ansible.errors import AnsibleFilterError

from ansible_collections.mailops.window.plugins.filter.window_plan import FilterModule, plan_text, window_plan

REPO = Path(__file__).resolve().parents[3]
PLAN_FILE = REPO / "playbooks" / "plans" / "celerra_cpms.yml"

# The seed's activity table: (TEC DDT, EMC, Tiempo invertido), row by row.
SEED_ROWS = [
    ("Dar de baja el servicio de correo en los MTAs y después en el servidor de configuración activo (mailconf2).",
     "", "10 minutos"),
    ("Desmontar los shares del Celerra en los servidores de correo.", "", "5 minutos"),
    ("Aplicar el parche al CPMS en los servidores de correo.", "Actualizar el microcódigo en el Control Station.",
     "25 minutos (*)"),
    ("", "Aplicar el microcódigo en los data movers.", "60 minutos"),
    ("Redistribuir los shares dentro de los data movers del Celerra.", "", "5 minutos"),
    ("Montar los shares del Celerra en los servidores de correo.", "", "5 minutos"),
    ("Iniciar el servicio de correo en el servidor de configuración y después en los MTAs.", "", "5 minutos"),
    ("Realizar pruebas de envío y recepción de correo.", "", "5 minutos"),
]
SEED_MINUTES = [10, 5, 25, 60, 5, 5, 5, 5]


def ansible_bin(name):
    """An ansible command of the Python running the tests (the venv), else from PATH."""
    candidate = Path(sys.executable).parent / name
    if candidate.exists():
        return str(candidate)
    found = shutil.which(name)
    if not found:
        pytest.skip("%s is not installed next to %s nor on PATH" % (name, sys.executable))
    return found


def run_work_plan(*extra, check=False):
    env = dict((k, v) for k, v in os.environ.items() if not k.startswith(("ANSIBLE_", "MAILOPS_")))
    env.update(ANSIBLE_CONFIG=str(REPO / "ansible.cfg"), ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0",
               PATH=os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")]))
    command = [ansible_bin("ansible-playbook"), "playbooks/work_plan.yml", "-i", "inventories/lab"] + list(extra)
    if check:
        command.append("--check")
    return subprocess.run(command, cwd=str(REPO), env=env, capture_output=True, text=True, timeout=300, check=False)


def flat(output):
    """Output with every run of white space as one space (the YAML result format folds long messages)."""
    return " ".join(output.split())


def split_row(line):
    """The cells of a Markdown table row ('\\|' is a '|' inside a cell)."""
    assert line.startswith("|") and line.endswith("|"), line
    cells = re.split(r"(?<!\\)\|", line[1:-1])
    return [cell.strip().replace("\\|", "|") for cell in cells]


def activity_table(document, last_header):
    """(header cells, rows of cells) of the table whose header ends with ``last_header``."""
    lines = document.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("|") and line.rstrip().endswith(last_header + " |"))
    assert re.fullmatch(r"\|(---\|)+", lines[start + 1]), lines[start + 1]
    rows = []
    for line in lines[start + 2:]:
        if not line.startswith("|"):
            break
        rows.append(split_row(line))
    return split_row(lines[start]), rows


def section(document, heading):
    """The lines of a '## heading' section, up to the next blank line after its content."""
    lines = document.splitlines()
    start = lines.index("## " + heading) + 2
    body = []
    for line in lines[start:]:
        if not line.strip():
            break
        body.append(line)
    return body


@pytest.fixture(scope="module")
def documents(tmp_path_factory):
    out = tmp_path_factory.mktemp("work-plan")
    proc = run_work_plan("-e", "work_plan_dir=%s" % out)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return {"proc": proc, "dir": out,
            "es": (out / "work-plan.es.md").read_text(encoding="utf-8"),
            "en": (out / "work-plan.en.md").read_text(encoding="utf-8")}


# ----------------------------------------------------------------------------------------------
# the playbook and its documents
# ----------------------------------------------------------------------------------------------

def test_writes_both_documents_and_prints_their_paths(documents):
    out = documents["dir"]
    assert sorted(p.name for p in out.iterdir()) == ["work-plan.en.md", "work-plan.es.md"]
    for language in ("es", "en"):
        path = out / ("work-plan.%s.md" % language)
        assert oct(path.stat().st_mode & 0o777) == "0o644"
        assert str(path.resolve()) in documents["proc"].stdout


def test_spanish_activity_table_is_the_seeds(documents):
    header, rows = activity_table(documents["es"], "Tiempo invertido")
    assert header == ["TEC DDT", "EMC", "Tiempo invertido"]
    assert [tuple(row) for row in rows] == SEED_ROWS
    assert [int(row[2].split()[0]) for row in rows] == SEED_MINUTES


def test_spanish_parallel_row_holds_the_patch_and_the_control_station(documents):
    rows = activity_table(documents["es"], "Tiempo invertido")[1]
    parallel = [row for row in rows if row[0] and row[1]]
    assert len(parallel) == 1
    mail, storage, minutes = parallel[0]
    assert "parche al CPMS" in mail
    assert "Control Station" in storage
    assert minutes == "25 minutos (*)"
    assert "Nota: Las actividades descritas en un mismo renglón se ejecutarán en paralelo." in documents["es"]


def test_spanish_rollback_note_below_the_table(documents):
    notes = [line for line in documents["es"].splitlines() if line.startswith("(*)")]
    assert notes == ["(*) En caso de que ocurra una falla en la actualización del microcódigo en el Control Station, "
                     "se regresará a la versión 4.2 (Tiempo estimado: 30 minutos)."]


def test_spanish_summary(documents):
    document = documents["es"]
    assert document.startswith("# Plan de Trabajo\n")
    assert ("Actualización del microcódigo en el Celerra y aplicación de parche de seguridad en el Servicio de Correo"
            in document)
    assert "| Equipos | Celerra |" in document
    assert "| Tiempo de Ejecución | 2 horas |" in document
    assert "| Tiempo de Contingencia | 2.5 horas |" in document
    assert "| Fecha Tentativa | 10 de Enero de 2003 a las 5:00 a.m. |" in document
    objectives = next(line for line in document.splitlines() if line.startswith("| Objetivos |"))
    assert split_row(objectives)[1].split("<br>") == [
        "• Actualizar el microcódigo del Celerra a la versión 5.1",
        "• Aplicar parche de seguridad al CPMS 6.7.19",
    ]
    justifications = next(line for line in document.splitlines() if line.startswith("| Justificaciones |"))
    assert split_row(justifications)[1].split("<br>") == [
        "• La actualización del microcódigo del Celerra es un requisito indispensable para el proyecto de "
        "replicación del Celerra.",
        "• La aplicación del parche es mandatoria para corregir vulnerabilidad reportada por Critical Path.",
    ]


def test_spanish_states_and_backup(documents):
    document = documents["es"]
    assert section(document, "Estado Actual") == [
        "- La versión de microcódigo del Celerra es 4.2",
        "- Los servidores de correo tienen CP Messaging Server 6.7.19",
    ]
    assert section(document, "Estado Final") == [
        "- La versión de microcódigo del Celerra será 5.1",
        "- Los servidores de correo tendrán CP Messaging Server 6.7.19.1",
    ]
    assert section(document, "Respaldo") == [
        "Previo al mantenimiento se realizará un respaldo de los binarios de cada uno de los servidores del "
        "cluster de correo."]
    assert ("A continuación se detalla las actividades a realizar, el orden en que deben efectuarse, la entidad "
            "responsable de realizarlas y el tiempo invertido.") in document


def test_templated_texts_are_resolved(documents):
    for language in ("es", "en"):
        assert "{{" not in documents[language] and "{%" not in documents[language]
        assert "(mailconf2)" in documents[language]
        assert "mailconf1" not in documents[language]


def test_english_document_has_the_same_rows(documents):
    header, rows = activity_table(documents["en"], "Time spent")
    assert header == ["TEC DDT", "EMC", "Time spent"]
    spanish = activity_table(documents["es"], "Tiempo invertido")[1]
    assert len(rows) == len(spanish) == 8
    assert [(bool(r[0]), bool(r[1])) for r in rows] == [(bool(r[0]), bool(r[1])) for r in spanish]
    assert [row[2] for row in rows] == ["%d minutes%s" % (m, " (*)" if m == 25 else "") for m in SEED_MINUTES]
    assert rows[0][0] == "Stop mail on the MTAs, then on the active configuration server (mailconf2)."
    assert rows[2][:2] == ["Apply the patch to CPMS on the mail servers.", "Upgrade the microcode on the Control Station."]
    document = documents["en"]
    assert "| Execution Time | 2 hours |" in document
    assert "| Contingency Time | 2.5 hours |" in document
    assert ("(*) If the Control Station microcode upgrade fails, it is rolled back to version 4.2 "
            "(Estimated time: 30 minutes).") in document
    assert section(document, "Final State")[-1] == "- The mail servers will run CP Messaging Server 6.7.19.1"


def test_a_second_run_changes_nothing(documents):
    proc = run_work_plan("-e", "work_plan_dir=%s" % documents["dir"])
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert re.search(r"localhost\s*:\s*ok=\d+\s+changed=0\s", proc.stdout), proc.stdout


def test_check_mode_writes_nothing(tmp_path):
    out = tmp_path / "not-yet"
    proc = run_work_plan("-e", "work_plan_dir=%s" % out, check=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert not out.exists()
    assert str(out.resolve() / "work-plan.es.md") in proc.stdout


def _plan_source():
    return yaml.safe_load(PLAN_FILE.read_text(encoding="utf-8"))


def _with_after(phase_id, after):
    source = _plan_source()
    for phase in source["window_plan"]["phases"]:
        if phase["id"] == phase_id:
            phase["after"] = after
    return source


@pytest.mark.parametrize("source, expected", [
    (_with_after("stop_mail", ["backup", "start_mail"]),
     ["the after: dependencies form a cycle: stop_mail -> start_mail ->", "-> unmount_shares -> stop_mail"]),
    (_with_after("mount_shares", ["redistribute_shares", "patch_cmps"]),
     ["(mount_shares).after: unknown phase", "patch_cmps"]),
], ids=["cycle", "unknown-phase"])
def test_an_invalid_plan_fails_naming_the_phase(tmp_path, source, expected):
    plan_file = tmp_path / "plan.yml"
    plan_file.write_text(yaml.safe_dump(source, allow_unicode=True), encoding="utf-8")
    out = tmp_path / "out"
    proc = run_work_plan("-e", "work_plan_dir=%s" % out, "-e", "work_plan_file=%s" % plan_file.resolve())
    assert proc.returncode != 0
    output = flat(proc.stdout + proc.stderr).replace("''", "'")
    assert "window_plan: invalid plan" in output, output
    for text in expected:
        assert text in output, output
    assert not out.exists()


# ----------------------------------------------------------------------------------------------
# the filters, called directly
# ----------------------------------------------------------------------------------------------

MINIMAL = {
    "id": "small",
    "title": {"en": "A small window", "es": "Una ventana pequeña"},
    "window_minutes": 60,
    "contingency_minutes": 90,
    "lanes": [{"id": "mail", "team": "Mail"}, {"id": "storage", "team": "Storage"}],
    "phases": [
        {"id": "stop", "lane": "mail", "title": "Stop", "budget_minutes": 10},
        {"id": "patch", "lane": "mail", "title": "Patch", "budget_minutes": 20, "after": ["stop"]},
        {"id": "upgrade", "lane": "storage", "title": "Upgrade", "budget_minutes": 30, "after": ["stop"]},
        {"id": "undo", "lane": "storage", "title": "Undo", "budget_minutes": 15, "rollback_of": "upgrade"},
        {"id": "start", "lane": "mail", "title": "Start", "budget_minutes": 5, "after": ["patch", "upgrade"]},
    ],
}


def test_filters_are_registered():
    assert FilterModule().filters() == {"window_plan": window_plan, "plan_text": plan_text}


def test_window_plan_rows_and_paths():
    plan = window_plan(copy.deepcopy(MINIMAL))
    assert plan["rows"] == [{"phases": ["stop"], "minutes": 10.0},
                            {"phases": ["patch", "upgrade"], "minutes": 30.0},
                            {"phases": ["start"], "minutes": 5.0}]
    assert plan["critical_path"] == ["stop", "upgrade", "start"]
    assert plan["planned_minutes"] == 45.0
    assert plan["planned_minutes_with_contingency"] == 60.0
    assert plan["warnings"] == []
    assert plan_text(plan["title"], "es") == "Una ventana pequeña"
    undo = next(p for p in plan["phases"] if p["id"] == "undo")
    assert undo["after"] == ["upgrade"]


def test_window_plan_of_the_seed_file():
    source = _plan_source()["window_plan"]
    plan = window_plan(source)
    assert [row["minutes"] for row in plan["rows"]] == SEED_MINUTES
    assert plan["rows"][2]["phases"] == ["patch_cpms", "upgrade_control_station"]
    assert plan["window_minutes"] == 120 and plan["contingency_minutes"] == 150
    assert plan["planned_minutes"] == 120 and plan["planned_minutes_with_contingency"] == 150
    assert [lane["team"] for lane in plan["lanes"]] == [{"": "TEC DDT"}, {"": "EMC"}]


def test_window_plan_does_not_change_its_input():
    source = copy.deepcopy(MINIMAL)
    window_plan(source)
    assert source == MINIMAL


@pytest.mark.parametrize("change, message", [
    (lambda p: p["phases"][1].update(after=["start"]), "cycle: .*start"),
    (lambda p: p["phases"][1].update(after=["stpo"]), r"phases\[1\] \(patch\)\.after: unknown phase 'stpo'"),
    (lambda p: p["phases"][1].update(after=["patch"]), r"\(patch\)\.after: a phase cannot wait for itself"),
    (lambda p: p["phases"][3].update(rollback_of="nothing"), r"\(undo\)\.rollback_of: unknown phase 'nothing'"),
    (lambda p: p["phases"][2].update(lane="network"), r"\(upgrade\)\.lane: unknown lane 'network'"),
    (lambda p: p.pop("lanes"), "window_plan.lanes is required"),
    (lambda p: p.update(contingency_minutes=30), "contingency_minutes"),
])
def test_window_plan_refuses_an_invalid_plan(change, message):
    source = copy.deepcopy(MINIMAL)
    change(source)
    with pytest.raises(AnsibleFilterError, match="window_plan: invalid plan: .*" + message):
        window_plan(source)


def test_window_plan_refuses_what_is_not_a_mapping():
    with pytest.raises(AnsibleFilterError, match="must be a mapping"):
        window_plan(["not", "a", "plan"])


@pytest.mark.parametrize("value, language, expected", [
    ({"en": "Backup", "es": "Respaldo"}, "es", "Respaldo"),
    ({"en": "Backup", "es": "Respaldo"}, "en", "Backup"),
    ({"en": "Backup"}, "es", "Backup"),
    ({"": "Celerra"}, "es", "Celerra"),
    ("Celerra", "es", "Celerra"),
    (None, "es", ""),
])
def test_plan_text_picks_one_language(value, language, expected):
    assert plan_text(value, language) == expected


def test_plan_text_defaults_to_english():
    assert plan_text({"es": "Respaldo", "en": "Backup"}) == "Backup"


@pytest.mark.parametrize("value, language, message", [
    (42, "es", "expected a string or a mapping"),
    ({"es": 42}, "es", "is not a string"),
    ("text", "", "language code"),
])
def test_plan_text_refuses_what_is_not_a_text(value, language, message):
    with pytest.raises(AnsibleFilterError, match=message):
        plan_text(value, language)
