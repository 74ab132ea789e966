"""The latest clinical values of an episode, read from its history as it now counts.

What a clinician looks for first on an episode page: the radiograph result, the MRI
measurements and muscle signs, each injection with the relief it gave, the latest pain
and mHHS, the surgical approach. Pure: it reads event views (``seq``, ``trigger``,
``occurred_on``, ``fields``), so the page, a report or a test can use it alike.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

MRI = ("ifs_mm", "qfs_mm", "qf_edema", "qf_fatty_replacement")


def _dated(event: Mapping[str, Any], value: Any) -> dict[str, Any]:
    return {"value": value, "on": event["occurred_on"], "seq": event["seq"]}


def clinical_summary(effective: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """Latest value of each, with the date and event it came from; injections in order with their response."""
    latest: dict[str, Any] = dict.fromkeys(("radiographs", "mri", "pain", "mhhs", "approach"))
    injections: list[dict[str, Any]] = []
    for event in effective:
        fields, trigger = event["fields"], event["trigger"]
        if trigger == "record_radiographs" and "result" in fields:
            latest["radiographs"] = _dated(event, fields["result"])
        if trigger == "record_mri":
            latest["mri"] = _dated(event, {k: fields[k] for k in MRI if k in fields})
        if trigger == "inject":
            injections.append({"on": event["occurred_on"], "seq": event["seq"], "guidance": fields.get("guidance"),
                               "agent": fields.get("agent"), "response": None})  # fmt: skip
        if trigger == "record_injection_response" and injections:
            injections[-1]["response"] = {k: fields.get(k) for k in ("pain_before", "pain_after", "relief")}
        for name in ("pain", "mhhs"):
            if name in fields:
                latest[name] = _dated(event, fields[name])
        if "approach" in fields:
            latest["approach"] = _dated(event, fields["approach"])
    return {**latest, "injections": injections}
