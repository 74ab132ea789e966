"""`pathway demo`: one synthetic patient through the pathway, on a throwaway database.

Each step is a real `pathway` command line, printed and then run in this process, so
the demo doubles as a worked example for coordinators.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import shlex
import shutil
import tempfile
from datetime import timedelta
from pathlib import Path

import click

from pathway.clock import today

# (a note for the reader, a command line); {id} is the latest episode opened, {d:N} the date N days ago.
STEPS: list[tuple[str, str]] = [
    ("Create the database (only `db upgrade` creates one: a mistyped --db path is an error).", "db upgrade"),
    ("Open an episode for a synthetic patient, referred 330 days ago.",
     "episode open --patient DEMO-0001 --side left --referred-on {d:330}"),
    ("Radiographs first, then MRI.", "advance {id} order_radiographs --on {d:328}"),
    ("", "advance {id} record_radiographs --on {d:320} --set result=negative"),
    ("", "advance {id} order_mri --on {d:319}"),
    ("", "advance {id} record_mri --on {d:300} --set ifs_mm=11.5 --set qfs_mm=7 --set qf_edema=true "
         "--set qf_fatty_replacement=false"),
    ("The MRI supports IFI (IFS <= 15 mm, oedema), so the diagnosis guard passes.",
     "advance {id} confirm_diagnosis --on {d:298}"),
    ("", "advance {id} start_conservative --on {d:297} --set pain=7 --set mhhs=55"),
    ("", "advance {id} inject --on {d:280} --set guidance=ultrasound --set agent=corticosteroid_anaesthetic"),
    ("Pain fell from 7 to 2 after the anaesthetic: a positive diagnostic response.",
     "advance {id} record_injection_response --on {d:270} --set pain_before=7 --set pain_after=2 "
     "--set relief=temporary"),
    ("What is next, and why not surgery yet?", "next {id}"),
    ("Surgery is refused: too early, and no reassessment yet.", "advance {id} refer_to_surgery --on {d:250}"),
    ("Relief was temporary, so a repeat injection is second line.",
     "advance {id} inject --on {d:200} --set guidance=ultrasound --set agent=corticosteroid_anaesthetic"),
    ("", "advance {id} record_injection_response --on {d:190} --set pain_before=6 --set pain_after=3 "
         "--set relief=temporary"),
    ("Reassessment at day 112 of conservative care: symptoms persist.",
     "advance {id} reassess --on {d:185} --set outcome=persistent --set pain=6 --set mhhs=58"),
    ("", "advance {id} refer_to_surgery --on {d:180}"),
    ("", "advance {id} schedule_surgery --on {d:170} --set approach=endoscopic --set planned_on={d:140}"),
    ("", "advance {id} record_surgery --on {d:140} --set approach=endoscopic --set sciatic_neurolysis=false"),
    ("", "advance {id} record_followup --on {d:98} --set pain=3 --set mhhs=74"),
    ("", "advance {id} record_followup --on {d:50} --set pain=2 --set mhhs=81.5"),
    ("The same follow-up keyed twice is refused as a likely duplicate.",
     "advance {id} record_followup --on {d:50} --set pain=2 --set mhhs=81.5"),
    ("", "advance {id} discharge --on {d:10} --set outcome=improved --set pain=1 --set mhhs=86"),
    ("The mHHS of that follow-up (event 17) was mis-keyed: a new, audited event corrects it.",
     "correct {id} 17 --set mhhs=80.5 --reason 'clinic sheet says 80.5'"),
    ("The whole audited history, each event with its status:", "episode history {id}"),
    ("A second synthetic patient: radiographs ordered 40 days ago, report never received.",
     "episode open --patient DEMO-0002 --side right --referred-on {d:45}"),
    ("", "advance {id} order_radiographs --on {d:40}"),
    ("The nightly job (cron, systemd timer or CronJob) opens the flags that have come due...", "jobs flag-overdue"),
    ("...and the coordinator's worklist shows what to chase, most overdue first.", "worklist"),
    ("Every episode's hash chain is intact.", "audit verify"),
]  # fmt: skip


def _expand(line: str, episode_id: str) -> list[str]:
    base = today()
    line = line.replace("{id}", episode_id)
    line = re.sub(r"\{d:(\d+)\}", lambda m: (base - timedelta(days=int(m.group(1)))).isoformat(), line)
    return shlex.split(line)


@click.command("demo")
@click.option("--keep", is_flag=True, help="Keep the demo database and print where it is.")
def demo(keep: bool) -> None:
    """Walk one synthetic patient through the pathway on a throwaway SQLite database.

    \b
    Example:
      pathway demo --keep
    """
    root = click.get_current_context().find_root().command
    folder = Path(tempfile.mkdtemp(prefix="pathway-demo-"))
    url = f"sqlite:///{folder / 'demo.sqlite3'}"
    saved = os.environ.get("PATHWAY_DATABASE_URL")
    os.environ["PATHWAY_DATABASE_URL"] = url
    click.secho(f"$ export PATHWAY_DATABASE_URL={url}", fg="cyan")
    episode_id = "?"
    try:
        for note, line in STEPS:
            if note:
                click.secho(f"\n# {note}", fg="yellow")
            args = _expand(line, episode_id)
            click.secho("$ pathway " + shlex.join(args), fg="cyan")
            opens = line.startswith("episode open")
            output = io.StringIO()
            try:
                with contextlib.redirect_stdout(output):
                    root.main(args=args, prog_name="pathway", standalone_mode=False)
            except SystemExit as stop:
                click.echo(output.getvalue(), nl=False)
                click.secho(f"(exit code {stop.code})", fg="red")
                if opens:
                    raise
                continue
            click.echo(output.getvalue(), nl=False)
            if opens:
                episode_id = output.getvalue().strip()
    finally:
        if saved is None:
            os.environ.pop("PATHWAY_DATABASE_URL", None)
        else:
            os.environ["PATHWAY_DATABASE_URL"] = saved
    if keep:
        click.echo(f"\nThe demo database is kept at {folder / 'demo.sqlite3'}.")
    else:
        shutil.rmtree(folder, ignore_errors=True)
