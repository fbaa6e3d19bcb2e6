"""EHR tabular extracts (patients, encounters, diagnoses, medications, labs) turned into narrative CP text.

One note per encounter, in the plain sentences a discharge summary uses, so the model sees structured
facts as language. The patients table also gives de-identification its deny list (names, MRN, ...).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from client.data.errors import BadInputPolicy, DataError, Location
from client.data.schemas import Row, text_field
from common.records import Note


@dataclass
class EhrTables:
    """Rows of each EHR table as read, with where each came from."""

    rows: dict[str, list[tuple[Location, Row]]] = field(default_factory=lambda: defaultdict(list))

    def add(self, kind: str, where: Location, row: Row) -> None:
        self.rows[kind.removeprefix("ehr-")].append((where, row))

    def __bool__(self) -> bool:
        return any(self.rows.values())

    def narratives(self, policy: BadInputPolicy) -> list[Note]:
        patients = {}
        for where, row in self.rows["patients"]:
            try:
                patients[text_field(row, "patient_id", where)] = row
            except DataError as e:
                policy.handle(e)
        details: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
        for table, describe in (("diagnoses", _diagnosis), ("medications", _medication), ("labs", _lab)):
            for where, row in self.rows[table]:
                try:
                    details[text_field(row, "encounter_id", where)][table].append(describe(row, where))
                except DataError as e:
                    policy.handle(e)
        notes, known = [], set()
        for where, row in self.rows["encounters"]:
            try:
                encounter_id, patient_id = text_field(row, "encounter_id", where), text_field(row, "patient_id", where)
                if patient_id not in patients:
                    raise DataError(where, "unknown-patient", "no row in the patients table has this id", "patient_id")
                date = text_field(row, "date", where)
                known.add(encounter_id)
                notes.append(Note(f"ehr:{encounter_id}", patient_id, date,
                                  _narrative(patients[patient_id], row, date, details[encounter_id])))
            except DataError as e:
                policy.handle(e)
        for table in ("diagnoses", "medications", "labs"):
            for where, row in self.rows[table]:
                if row.get("encounter_id") is not None and str(row["encounter_id"]) not in known:
                    policy.handle(DataError(where, "unknown-encounter", "no encounter row has this id", "encounter_id"))
        return notes

    def patient_identities(self) -> dict[str, dict[str, Any]]:
        """Per patient id: the identifiers the de-identifier must remove wherever they appear."""
        out = {}
        for _, row in self.rows["patients"]:
            names = tuple(str(row[k]) for k in ("first_name", "last_name") if row.get(k))
            out[str(row.get("patient_id"))] = {
                "names": names + ((" ".join(names),) if len(names) > 1 else ()),
                "mrn": str(row.get("mrn") or "") or None, "birth_date": str(row.get("birth_date") or "") or None,
                "addresses": (str(row["address"]),) if row.get("address") else ()}
        return out


def _diagnosis(row: Row, where: Location) -> str:
    code = str(row.get("code") or "").strip()
    return text_field(row, "description", where) + (f" ({code})" if code else "")


def _medication(row: Row, where: Location) -> str:
    extra = " ".join(str(row[k]).strip() for k in ("dose", "route", "frequency") if row.get(k))
    return text_field(row, "name", where) + (f" {extra}" if extra else "")


def _lab(row: Row, where: Location) -> str:
    unit, flag = str(row.get("unit") or "").strip(), str(row.get("flag") or "").strip()
    return (f"{text_field(row, 'test', where)} {text_field(row, 'value', where)}" + (f" {unit}" if unit else "")
            + (f" ({flag})" if flag else ""))


def _narrative(patient: Row, encounter: Row, date: str, details: dict[str, list[str]]) -> str:
    birth = str(patient.get("birth_date") or "")
    age = f"{int(date[:4]) - int(birth[:4])}-year-old " if birth[:4].isdigit() and date[:4].isdigit() else ""
    sex = {"f": "female", "m": "male"}.get(str(patient.get("sex", "")).strip().lower()[:1], "")
    where = f" in {encounter['department']}" if encounter.get("department") else ""
    reason = f" for {encounter['reason']}" if encounter.get("reason") else ""
    first = f"{age}{sex + ' ' if sex else ''}patient seen on {date}{where}{reason}."
    # Only the first letter is raised: str.capitalize() lowercased the rest, and de-identification
    # must see names and places in their original case to find them.
    parts = [first[:1].upper() + first[1:]]
    for table, label in (("diagnoses", "Diagnoses"), ("medications", "Medications"), ("labs", "Laboratory results")):
        if details.get(table):
            parts.append(f"{label}: {'; '.join(details[table])}.")
    return " ".join(parts)
