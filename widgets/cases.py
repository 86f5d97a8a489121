"""Read the case files in ``cases/`` into typed, validated objects and pandas tables.

Every case figure in the book comes from here. A broken or incomplete file raises
``CaseFileError`` naming the file, the field and what is wrong, so a trainer who edits a
case file sees at once where to look.
"""
from __future__ import annotations

import math
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, StrictFloat, StrictInt, ValidationError, field_validator

if TYPE_CHECKING:  # pandas is imported lazily: the workshop's participant app stays lean.
    import pandas as pd

CASES_DIR = Path(__file__).resolve().parent.parent / "cases"
SOURCES_FILE = "sources.yaml"

# The three ways of forming producer associations compared in the Bangladesh paper.
APPROACHES = {
    "ngo-mfi-broker": "Market access through an NGO/MFI broker",
    "commercial-finance-network": "Production network through commercial finance",
    "lead-firm-linkage": "Backward linkages from a lead firm",
}

KEY_PATTERN = r"^[a-z][a-z0-9_]*$"


class CaseFileError(ValueError):
    """A case file that cannot be read, or that breaks the schema."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class Source(_Strict):
    id: str = Field(pattern=r"^[a-z][a-z0-9-]*$")
    key: str = Field(min_length=1)
    title: str = Field(min_length=1)
    author: str = Field(min_length=1)
    publisher: str = Field(min_length=1)
    year: int | None = Field(default=None, ge=1900, le=2100)
    note: str | None = None
    kind: str = Field(min_length=1)


class Fact(_Strict):
    """A statement that is not a number (partners, products, plans), with its source."""

    text: str = Field(min_length=1)
    source: str
    section: str = Field(min_length=1)


class Figure(_Strict):
    """One number from a source: value, unit, year where known, and where it was found."""

    label: str = Field(min_length=1)
    value: StrictInt | StrictFloat
    unit: str = Field(min_length=1)
    year: int | None = Field(default=None, ge=1900, le=2100)
    note: str | None = None
    source: str
    section: str = Field(min_length=1)

    @field_validator("value")
    @classmethod
    def _finite(cls, value: float) -> float:
        if not math.isfinite(value):
            raise ValueError("must be a finite number")
        return value

    def formatted(self) -> str:
        """The value with its unit, as a reader would write it: '5,000 farmers', '10%'."""
        number = _format_number(self.value)
        if self.unit == "year":
            return str(self.value)
        if self.unit == "percent":
            return f"{number}%"
        if self.unit == "US dollars":
            return f"US${number}"
        return f"{number} {self.unit}"


class Profile(_Strict):
    """How a producer association was formed and linked to markets (for the comparison)."""

    organised_by: str = Field(min_length=1)
    finance: str = Field(min_length=1)
    market_access: str = Field(min_length=1)
    who_sets_prices: str = Field(min_length=1)
    services: str = Field(min_length=1)
    buyers: str = Field(min_length=1)
    outside_support_now: str = Field(min_length=1)
    main_risk: str = Field(min_length=1)


class Case(_Strict):
    id: str = Field(pattern=r"^[a-z][a-z0-9-]*$")
    name: str = Field(min_length=1)
    short_name: str = Field(min_length=1)
    country: str = Field(min_length=1)
    place: str = Field(min_length=1)
    organisation: str = Field(min_length=1)
    sector: str = Field(min_length=1)
    summary: str = Field(min_length=1)
    approach: Literal["ngo-mfi-broker", "commercial-finance-network", "lead-firm-linkage"] | None = None
    profile: Profile | None = None
    facts: dict[str, Fact] = Field(default_factory=dict)
    figures: dict[str, Figure]

    @field_validator("facts", "figures")
    @classmethod
    def _keys_are_names(cls, items: dict) -> dict:
        import re

        for key in items:
            if not re.match(KEY_PATTERN, key):
                raise ValueError(f"key {key!r} must be lower case letters, digits and underscores")
        return items

    def figure(self, key: str) -> Figure:
        try:
            return self.figures[key]
        except KeyError:
            raise KeyError(f"{self.id} has no figure {key!r}; it has: {', '.join(sorted(self.figures))}") from None

    def value(self, key: str) -> int | float:
        """The bare number of a figure, for passing to a model."""
        return self.figure(key).value


def _format_number(value: int | float) -> str:
    if float(value).is_integer():
        return f"{int(value):,}"
    return f"{value:,.2f}".rstrip("0").rstrip(".")


_UNION_BRANCHES = {"int", "float", "function-after[_finite(), float]", "function-after[_finite(), int]"}


def _describe_all(errors: list[dict]) -> str:
    """Pydantic's errors as one line; a number that fits neither int nor float is one error."""
    lines = []
    for error in errors:
        line = _describe(error)
        if line not in lines:
            lines.append(line)
    return "; ".join(lines)


def _describe(error: dict) -> str:
    loc = list(error["loc"])
    if loc and str(loc[-1]) in _UNION_BRANCHES:
        loc.pop()
        if error["type"] in ("int_type", "int_parsing", "float_type", "float_parsing", "int_from_float"):
            return f"{'.'.join(map(str, loc))}: must be a number (got {error.get('input')!r})"
    location = ".".join(str(part) for part in loc) or "(top level)"
    if error["type"] == "missing":
        return f"{location}: missing (this field is required)"
    if error["type"] == "extra_forbidden":
        return f"{location}: not a known field (check the spelling)"
    message = error["msg"].removeprefix("Value error, ")
    return f"{location}: {message} (got {error.get('input')!r})"


def _read_yaml(path: Path):
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CaseFileError(f"{path}: file not found") from None
    except yaml.YAMLError as exc:
        raise CaseFileError(f"{path}: not valid YAML: {exc}") from None


def load_sources(directory: Path = CASES_DIR) -> dict[str, Source]:
    path = Path(directory) / SOURCES_FILE
    raw = _read_yaml(path)
    if not isinstance(raw, list):
        raise CaseFileError(f"{path}: expected a list of sources")
    try:
        sources = [Source.model_validate(item) for item in raw]
    except ValidationError as exc:
        raise CaseFileError(f"{path}: " + _describe_all(exc.errors())) from None
    return {source.id: source for source in sources}


def load_case_file(path: Path, sources: dict[str, Source]) -> Case:
    """Read and check one case file; any problem names the file and the field."""
    path = Path(path)
    raw = _read_yaml(path)
    if not isinstance(raw, dict):
        raise CaseFileError(f"{path}: expected a mapping of fields (id, name, figures, ...)")
    try:
        case = Case.model_validate(raw)
    except ValidationError as exc:
        raise CaseFileError(f"{path}: " + _describe_all(exc.errors())) from None
    problems = []
    if case.id != path.stem:
        problems.append(f"id: {case.id!r} must match the file name {path.stem!r}")
    if case.approach and case.profile is None:
        problems.append("profile: missing (a case with an approach needs a profile for the comparison)")
    for kind, items in (("facts", case.facts), ("figures", case.figures)):
        for key, item in items.items():
            if item.source not in sources:
                problems.append(
                    f"{kind}.{key}.source: unknown source {item.source!r}; known: {', '.join(sorted(sources))}"
                )
    if problems:
        raise CaseFileError(f"{path}: " + "; ".join(problems))
    return case


@cache
def _load_all(directory: Path) -> tuple[dict[str, Source], dict[str, Case]]:
    sources = load_sources(directory)
    cases = {}
    for path in sorted(directory.glob("*.yaml")):
        if path.name == SOURCES_FILE:
            continue
        case = load_case_file(path, sources)
        cases[case.id] = case
    return sources, cases


def load_cases(directory: Path | str = CASES_DIR) -> dict[str, Case]:
    """Every case in the folder, by id."""
    return dict(_load_all(Path(directory).resolve())[1])


def load_case(case_id: str, directory: Path | str = CASES_DIR) -> Case:
    cases = load_cases(directory)
    if case_id not in cases:
        raise KeyError(f"No case {case_id!r}; the cases are: {', '.join(sorted(cases))}")
    return cases[case_id]


def sources(directory: Path | str = CASES_DIR) -> dict[str, Source]:
    return dict(_load_all(Path(directory).resolve())[0])


def lookup(reference: str, directory: Path | str = CASES_DIR) -> Figure:
    """A figure by ``case-id.figure_key``, as the book's ``{fact}`` role writes it."""
    case_id, _, key = reference.partition(".")
    if not key:
        raise KeyError(f"{reference!r} should look like 'modhupur.processor_price'")
    return load_case(case_id, directory).figure(key)


def figures_frame(directory: Path | str = CASES_DIR) -> "pd.DataFrame":
    """All figures of all cases, one row each, with their sources."""
    import pandas as pd

    known_sources = sources(directory)
    rows = []
    for case in load_cases(directory).values():
        for key, fig in case.figures.items():
            rows.append(
                {
                    "case": case.short_name,
                    "key": key,
                    "figure": fig.label,
                    "value": fig.value,
                    "unit": fig.unit,
                    "year": fig.year,
                    "source": known_sources[fig.source].title,
                    "section": fig.section,
                }
            )
    return pd.DataFrame(rows).astype({"year": "Int64"})


def comparison_frame(directory: Path | str = CASES_DIR) -> "pd.DataFrame":
    """The three approaches to forming producer associations, side by side."""
    import pandas as pd

    columns = {}
    for case in load_cases(directory).values():
        if case.approach is None:
            continue
        heading = f"{APPROACHES[case.approach]}: {case.short_name}"
        columns[heading] = {
            field.replace("_", " ").capitalize(): value for field, value in case.profile.model_dump().items()
        }
    order = list(APPROACHES)
    ordered = sorted(columns, key=lambda heading: [APPROACHES[a] for a in order].index(heading.split(":")[0]))
    return pd.DataFrame({heading: columns[heading] for heading in ordered})
