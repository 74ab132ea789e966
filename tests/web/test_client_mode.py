"""The command line as a client of a real server: the same outputs, JSON and exit codes as direct mode.

One walk-through runs twice on the same database: on episode A through the server (with
the clinician's token, no database URL), and on episode B directly (``--db``, ``--as``).
Outputs are compared after putting ids, instants, hashes and how the actor was
established in neutral form, the only things that may differ.
"""

from __future__ import annotations

import json
import os
import re
import stat
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from cli import cli
from tests.web.conftest import PASSWORD, USER_OF, Site

WALK = [
    ("episode", "open", "--patient", "{ref}", "--side", "left", "--referred-on", "2026-03-02"),
    ("advance", "{id}", "order_radiographs", "--on", "2026-03-03"),
    ("advance", "{id}", "order_mri", "--on", "2026-03-04"),  # refused: exit 1
    ("advance", "{id}", "record_radiographs", "--on", "2026-03-10", "--set", "result=negatve"),  # exit 2
    ("advance", "{id}", "record_radiographs", "--on", "2026-03-10", "--set", "result=negative"),
    ("advance", "{id}", "order_mri", "--on", "2026-03-10"),
    ("advance", "{id}", "record_mri", "--on", "2026-03-24", "--set", "ifs_mm=11.5", "--set", "qfs_mm=7",
     "--set", "qf_edema=true", "--set", "qf_fatty_replacement=false"),
    ("advance", "{id}", "confirm_diagnosis", "--on", "2026-03-31"),
    ("advance", "{id}", "start_conservative", "--on", "2026-04-01", "--set", "pain=7"),
    ("advance", "{id}", "refer_to_surgery", "--on", "2026-04-20"),  # refused, overridable
    ("advance", "{id}", "refer_to_surgery", "--on", "2026-04-20", "--override", "MDT agreed"),
    ("next", "{id}"),
    ("episode", "show", "{id}"),
    ("episode", "history", "{id}"),
    ("episode", "show", "999999"),  # exit 3
    ("rules", "show"),
    ("rules", "diff", "1", "1"),
    ("correct", "{id}", "5", "--set", "ifs_mm=12", "--reason", "report re-read"),
    ("correct", "{id}", "5", "--set", "ifs_mm=abc", "--reason", "typo"),  # exit 2
    ("void", "{id}", "8", "--reason", "referred on the wrong episode"),
    ("episode", "history", "{id}"),
]  # fmt: skip
NEUTRAL = [
    (re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?\+00:00"), "<instant>"),
    (re.compile(r"\b[0-9a-f]{64}\b"), "<hash>"),
    (re.compile(r'"auth": "(token|claimed)"'), '"auth": "<auth>"'),
]


def neutral(text: str, ref: str, episode_id: str) -> str:
    for pattern, replacement in NEUTRAL:
        text = pattern.sub(replacement, text)
    text = text.replace(ref, "<ref>")
    if text.strip() == episode_id:  # what `episode open` prints
        return "<id>\n"
    return re.sub(rf"(Episode |episode |\"id\": |\"episode_id\": ){episode_id}\b", r"\1<id>", text)


def run(args: tuple[str, ...], env: dict[str, str | None]) -> Result:
    result = CliRunner(env=env).invoke(cli, list(args), catch_exceptions=False)
    assert "Traceback" not in result.output
    return result


def client_env(site: Site, role: str = "clinician") -> dict[str, str | None]:
    return {"PATHWAY_SERVER": site.url, "PATHWAY_TOKEN": site.tokens[role], "PATHWAY_DATABASE_URL": None,
            "PATHWAY_USER": None}  # fmt: skip


def walk(prefix: tuple[str, ...], env: dict[str, str | None], ref: str) -> list[tuple[int, str, str]]:
    seen: list[tuple[int, str, str]] = []
    episode_id = ""
    for step in WALK:
        args = tuple(a.replace("{ref}", ref).replace("{id}", episode_id) for a in step)
        result = run((*prefix, *args), env)
        if step[:2] == ("episode", "open"):
            episode_id = json.loads(result.stdout)["id"] if "--json" in prefix else result.stdout.strip()
            episode_id = str(episode_id)
        seen.append((result.exit_code, neutral(result.stdout, ref, episode_id), neutral(result.stderr, ref, episode_id)))
    return seen


@pytest.mark.parametrize("json_mode", [False, True], ids=["text", "json"])
def test_the_walk_through_prints_the_same_through_the_server_as_directly(site: Site, json_mode: bool) -> None:
    mode = ("--json",) if json_mode else ()
    served = walk(mode, client_env(site), "MRN-CLIENT")
    direct = walk(("--db", site.pathway.url, "--as", USER_OF["clinician"], *mode), {"PATHWAY_SERVER": None},
                  "MRN-DIRECT")  # fmt: skip
    assert [code for code, _, _ in served] == [0, 0, 1, 2, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 3, 0, 0, 0, 2, 0, 0]
    for step, (got, want) in enumerate(zip(served, direct, strict=True)):
        assert got == want, f"step {step} ({' '.join(WALK[step])}) differs through the server"


def test_events_recorded_through_the_server_say_a_token_proved_the_actor(site: Site) -> None:
    env = client_env(site)
    episode_id = run(("episode", "open", "--patient", "MRN-AUTH", "--side", "right"), env).stdout.strip()
    history = json.loads(run(("--json", "episode", "history", episode_id), env).stdout)
    assert [(e["actor"], e["auth"]) for e in history] == [(USER_OF["clinician"], "token")]


def test_as_is_refused_in_client_mode_and_nothing_is_sent(site: Site) -> None:
    result = run(("--as", "amira", "episode", "open", "--patient", "MRN-AS", "--side", "left"), client_env(site))
    assert result.exit_code == 2
    assert "--as is refused in client mode" in result.stderr
    listed = json.loads(run(("--json", "episode", "list", "--patient", "MRN-AS"), client_env(site)).stdout)
    assert listed == []


def test_the_server_decides_rights_by_the_token_not_by_a_claim(site: Site) -> None:
    refused = run(("episode", "open", "--patient", "MRN-CRON", "--side", "left"), client_env(site, "service"))
    assert refused.exit_code == 5
    assert "cron (service) may not" in refused.stderr


def test_commands_the_api_does_not_offer_say_where_to_run_them(site: Site, tmp_path: Path) -> None:
    result = run(("db", "backup", str(tmp_path / "never-written.sqlite3")), client_env(site, "admin"))
    assert result.exit_code == 2
    assert "the API does not offer it" in result.stderr and "--db URL" in result.stderr
    assert not (tmp_path / "never-written.sqlite3").exists()


def test_a_bad_token_or_an_unreachable_server_is_a_sentence(site: Site, tmp_path: Path) -> None:
    bad = run(("next", "1"), {**client_env(site), "PATHWAY_TOKEN": "pw_not-a-token"})
    assert bad.exit_code == 5 and "did not accept the token" in bad.stderr
    gone = run(("next", "1"), {**client_env(site), "PATHWAY_SERVER": "http://127.0.0.1:9"})
    assert gone.exit_code == 2 and "Cannot reach the server" in gone.stderr


def test_db_info_names_the_mode(site: Site) -> None:
    client = json.loads(run(("--json", "db", "info"), client_env(site)).stdout)
    assert client["mode"] == "client" and client["user"] == USER_OF["clinician"] and "clinician" in client["roles"]
    direct = json.loads(run(("--json", "--db", site.pathway.url, "--as", "amira", "db", "info"), {}).stdout)
    assert direct["mode"] == "direct"


def test_login_stores_a_private_token_and_logout_revokes_it(site: Site, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    name = USER_OF["coordinator"]
    set_password = CliRunner().invoke(cli, ["--db", site.pathway.url, "--as", "amira", "user", "password", name,
                                            "--stdin"], input=PASSWORD + "\n")  # fmt: skip
    assert set_password.exit_code == 0, set_password.output
    env: dict[str, str | None] = {"PATHWAY_SERVER": None, "PATHWAY_TOKEN": None, "PATHWAY_DATABASE_URL": None}
    wrong = CliRunner(env=env).invoke(cli, ["login", site.url, "--name", name], input="not the password\n")
    assert wrong.exit_code == 5 and not (tmp_path / "config" / "pathway" / "server.json").exists()
    done = CliRunner(env=env).invoke(cli, ["login", site.url, "--name", name], input=PASSWORD + "\n")
    assert done.exit_code == 0, done.output
    stored = tmp_path / "config" / "pathway" / "server.json"
    assert stat.S_IMODE(stored.stat().st_mode) == 0o600
    token = json.loads(stored.read_text())["token"]
    assert PASSWORD not in stored.read_text()
    me = json.loads(run(("--json", "db", "info"), env).stdout)
    assert me["user"] == name and me["login"] == str(stored)
    out = run(("logout",), env)
    assert out.exit_code == 0 and not stored.exists()
    with site.client() as client:
        assert client.get("/api/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    assert os.environ.get("PATHWAY_TOKEN") is None


def _caseload(site: Site) -> None:
    env = client_env(site)
    for step in WALK[:9]:
        args = tuple(a.replace("{ref}", "MRN-EXPORT").replace("{id}", "1") for a in step)
        run(args, env)


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_exports_through_the_server_are_the_files_direct_mode_writes(site: Site, tmp_path: Path, fmt: str) -> None:
    _caseload(site)
    direct_args = ("--db", site.pathway.url, "--as", USER_OF["clinician"])
    for extra in ((), ("--identified",)):
        served = run(("audit", "export", "--format", fmt, "--out", str(tmp_path / f"s.{fmt}"), *extra),
                     client_env(site))  # fmt: skip
        direct = run((*direct_args, "audit", "export", "--format", fmt, "--out", str(tmp_path / f"d.{fmt}"), *extra),
                     {"PATHWAY_SERVER": None})  # fmt: skip
        assert served.exit_code == direct.exit_code == 0, served.output
        assert (tmp_path / f"s.{fmt}").read_bytes() == (tmp_path / f"d.{fmt}").read_bytes()
        assert served.stderr.replace(f"s.{fmt}", "X") == direct.stderr.replace(f"d.{fmt}", "X")
    piped = run(("audit", "export", "--format", fmt), client_env(site))
    piped_direct = run((*direct_args, "audit", "export", "--format", fmt), {"PATHWAY_SERVER": None})
    assert piped.stdout == piped_direct.stdout and piped.stdout.count("\n") >= 7


def test_a_fhir_export_through_the_server_is_the_same_folder(site: Site, tmp_path: Path) -> None:
    _caseload(site)
    served = run(("--json", "audit", "export", "--format", "fhir", "--out", str(tmp_path / "s")), client_env(site))
    direct = run(("--json", "--db", site.pathway.url, "--as", USER_OF["clinician"], "audit", "export", "--format",
                  "fhir", "--out", str(tmp_path / "d")), {"PATHWAY_SERVER": None})  # fmt: skip
    assert served.exit_code == direct.exit_code == 0, served.output
    names = sorted(p.name for p in (tmp_path / "d").iterdir())
    assert names == sorted(p.name for p in (tmp_path / "s").iterdir()) and names
    for name in names:
        assert (tmp_path / "s" / name).read_bytes() == (tmp_path / "d" / name).read_bytes()
    assert json.loads(served.stdout.replace(str(tmp_path / "s"), "X")) == json.loads(
        direct.stdout.replace(str(tmp_path / "d"), "X"))


@pytest.mark.parametrize("fmt", ["text", "json", "csv"])
def test_the_quality_report_through_the_server_reads_the_same(site: Site, fmt: str) -> None:
    _caseload(site)
    args = ("report", "quality", "--since", "2026-01-01", "--format", fmt)
    served = run(args, client_env(site))
    direct = run(("--db", site.pathway.url, "--as", USER_OF["clinician"], *args), {"PATHWAY_SERVER": None})
    assert served.exit_code == direct.exit_code == 0, served.output
    assert served.stdout == direct.stdout


USER_WALK = [
    ("user", "add", "{name}", "--role", "coordinator"),
    ("user", "add", "{name}", "--role", "clinician"),
    ("user", "add", "{name}", "--role", "wizard"),  # exit 2
    ("user", "revoke", "{name}", "coordinator"),
    ("user", "revoke", "{name}", "coordinator"),  # unchanged
    ("user", "set", "{name}", "--email", "{name}@clinic.test", "--digest", "daily"),
    ("user", "set", "{name}", "--email", "not an address"),  # exit 2
    ("user", "set", "{name}", "--digest", "daily"),  # unchanged
    ("user", "set", "{name}", "--email", "", "--digest", "off"),
    ("user", "disable", "{name}"),
    ("user", "enable", "{name}"),
    ("user", "revoke", "amira", "admin"),  # the last administrator: refused
    ("user", "disable", "nobody-here"),  # exit 3
]


@pytest.mark.parametrize("json_mode", [False, True], ids=["text", "json"])
def test_user_management_prints_the_same_through_the_server_as_directly(site: Site, json_mode: bool) -> None:
    mode = ("--json",) if json_mode else ()

    def steps(prefix: tuple[str, ...], env: dict[str, str | None], name: str) -> list[tuple[int, str, str]]:
        seen = []
        for step in USER_WALK:
            result = run((*prefix, *(a.replace("{name}", name) for a in step)), env)
            shown = [NEUTRAL[0][0].sub("<instant>", t).replace(name, "<name>") for t in (result.stdout, result.stderr)]
            seen.append((result.exit_code, *shown))
        return seen

    served = steps(mode, client_env(site, "admin"), "served-user")
    direct = steps(("--db", site.pathway.url, "--as", "amira", *mode), {"PATHWAY_SERVER": None}, "direct-user")
    assert [code for code, _, _ in served] == [code for code, _, _ in direct]
    assert served == direct
    listed = json.loads(run(("--json", "user", "list"), client_env(site, "admin")).stdout)
    assert {"served-user", "direct-user"} <= {u["name"] for u in listed}
    refused = run(("user", "add", "x-user", "--role", "coordinator"), client_env(site, "coordinator"))
    assert refused.exit_code == 5


@pytest.mark.parametrize("base_url", ["https://pathway.clinic.test", ""], ids=["set", "unset"])
def test_the_digest_job_reads_the_same_through_the_server_as_directly(
    site: Site, monkeypatch: pytest.MonkeyPatch, base_url: str
) -> None:
    monkeypatch.setenv("PATHWAY_BASE_URL", base_url)
    args = ("--json", "jobs", "notify", "--dry-run", "--now", "2026-12-03T07:00")
    served = run(args, client_env(site, "service"))
    direct = run(("--db", site.pathway.url, "--as", USER_OF["service"], *args), {"PATHWAY_SERVER": None})
    assert (served.exit_code, served.stdout, served.stderr) == (direct.exit_code, direct.stdout, direct.stderr)
    assert served.exit_code == (0 if base_url else 2)


def test_a_token_made_through_the_server_works_and_is_revoked_through_it(site: Site) -> None:
    env = client_env(site, "admin")
    made = json.loads(run(("--json", "user", "token", "create", "cron", "--note", "nightly"), env).stdout)
    mine = {**env, "PATHWAY_TOKEN": made["token"]}
    assert run(("--json", "worklist"), mine).exit_code == 0
    tokens = json.loads(run(("--json", "user", "token", "list", "cron"), env).stdout)
    newest = max(tokens, key=lambda t: t["id"])
    assert newest["note"] == "nightly"
    assert run(("user", "token", "revoke", "cron", str(newest["id"])), env).exit_code == 0
    assert run(("worklist",), mine).exit_code == 5
    password = CliRunner(env=env).invoke(cli, ["user", "password", "kim", "--stdin"], input="short\n")
    assert password.exit_code == 2 and "12 characters" in password.output


def _caseload_file(folder: Path, prefix: str, *, broken: bool = False) -> Path:
    text = (Path(__file__).resolve().parents[2] / "examples" / "caseload.csv").read_text().replace("MRN-", prefix)
    if broken:  # one invalid value and one step the rules refuse
        text = text.replace("order_radiographs,2026-02-03", "order_radiographs,2026-02-31", 1)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / ("broken.csv" if broken else "caseload.csv")
    path.write_text(text)
    return path


def _import_steps(prefix: tuple[str, ...], env: dict[str, str | None], folder: Path, ref: str
                  ) -> list[tuple[int, str, str]]:  # fmt: skip
    good, broken = _caseload_file(folder, ref), _caseload_file(folder, ref, broken=True)
    seen = []
    for args in (("import", str(good), "--dry-run"), ("import", str(good)), ("import", str(good)),
                 ("import", str(broken)), ("import", str(folder / "missing.csv"))):  # fmt: skip
        result = run((*prefix, *args), env)
        texts = [NEUTRAL[0][0].sub("<instant>", re.sub(r"\b[0-9a-f]{12,64}\b|(?<=episode )\d+", "<n>", t)).replace(
                 str(folder), "<dir>").replace(ref, "<ref>") for t in (result.stdout, result.stderr)]  # fmt: skip
        seen.append((result.exit_code, *texts))
    return seen


@pytest.mark.parametrize("json_mode", [False, True], ids=["text", "json"])
def test_an_import_through_the_server_reads_as_it_does_directly(site: Site, tmp_path: Path, json_mode: bool) -> None:
    mode = ("--json",) if json_mode else ()
    served = _import_steps(mode, client_env(site, "clinician"), tmp_path / "s", "SRV-")
    direct = _import_steps(("--db", site.pathway.url, "--as", USER_OF["clinician"], *mode),
                           {"PATHWAY_SERVER": None}, tmp_path / "d", "DIR-")  # fmt: skip
    assert [code for code, _, _ in served] == [0, 0, 1, 2, 2]
    assert served == direct
    listed = json.loads(run(("--json", "episode", "list"), client_env(site)).stdout)
    assert sum(e["patient_ref"].startswith("SRV-") for e in listed) == sum(e["patient_ref"].startswith("DIR-")
                                                                           for e in listed) > 0  # fmt: skip


def test_an_upload_over_the_servers_limit_is_refused_before_anything_is_read(site: Site) -> None:
    import socket
    from urllib.parse import urlparse

    where = urlparse(site.url)
    with socket.create_connection((where.hostname, where.port), timeout=60) as raw:  # a client that claims 1 TB
        raw.sendall(f"POST /api/import HTTP/1.1\r\nHost: {where.netloc}\r\nAuthorization: Bearer "
                    f"{site.tokens['coordinator']}\r\nContent-Length: {10**12}\r\n\r\n".encode())  # fmt: skip
        answer = raw.makefile("rb")
        status = answer.readline().decode()
        headers = dict(line.decode().lower().split(":", 1) for line in iter(answer.readline, b"\r\n"))
        length = int(headers["content-length"])
        body = json.loads(answer.read(length))
    assert status.startswith("HTTP/1.1 413") and body["error"]["exit_code"] == 2
    with site.client() as anonymous:
        assert anonymous.post("/api/import", content=b"patient_ref\r\n").status_code == 401
