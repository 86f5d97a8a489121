"""The case files load, every figure has a source, and broken files are refused clearly."""
from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
import yaml

from widgets.cases import (
    APPROACHES,
    CASES_DIR,
    CaseFileError,
    comparison_frame,
    figures_frame,
    load_case,
    load_cases,
    lookup,
    sources,
)

ROOT = Path(__file__).resolve().parent.parent
EXPECTED_CASES = {"uriri", "delicias-criollas", "modhupur", "apex-clusters", "bagra", "sri-lanka-sbas"}


def test_every_case_is_there():
    assert set(load_cases()) == EXPECTED_CASES


def test_every_figure_and_fact_names_a_known_source_and_section():
    known = sources()
    for case in load_cases().values():
        for item in [*case.figures.values(), *case.facts.values()]:
            assert item.source in known
            assert item.section.strip()


def test_the_three_jobs_approaches_each_have_one_case():
    approaches = sorted(case.approach for case in load_cases().values() if case.approach)
    assert approaches == sorted(APPROACHES)
    table = comparison_frame()
    assert table.shape == (8, 3)
    assert not table.isna().any().any()


def test_figures_frame_has_one_row_per_figure():
    frame = figures_frame()
    assert len(frame) == sum(len(c.figures) for c in load_cases().values())
    assert {"case", "figure", "value", "unit", "year", "source", "section"} <= set(frame.columns)
    modhupur = frame[(frame.case == "Modhupur") & (frame.key == "processor_price")]
    assert modhupur.value.item() == 5.3 and modhupur.unit.item() == "taka per pineapple"


def test_derived_figures_agree_with_their_parts():
    # The sources give both totals and parts; the files must not contradict themselves.
    modhupur, bagra = load_case("modhupur"), load_case("bagra")
    assert modhupur.value("network_associations") == modhupur.value("additional_associations") + 1
    per_association_gain = modhupur.value("acres_after") - modhupur.value("acres_before")
    assert modhupur.value("acreage_increase") == per_association_gain * modhupur.value("network_associations")
    assert bagra.value("retail_share") + bagra.value("wholesale_share") == 100
    assert bagra.value("tmss_self_financed") + bagra.value("tmss_donor_financed") == 100


@pytest.mark.parametrize(
    ("reference", "shown"),
    [
        ("uriri.farmers_benefited", "5,000 farmers"),
        ("uriri.income_increase", "20%"),
        ("modhupur.processor_price", "5.3 taka per pineapple"),
        ("apex-clusters.cluster_orders_usd", "US$90,000"),
        ("uriri.registered", "2005"),
    ],
)
def test_figures_are_formatted_as_a_reader_writes_them(reference, shown):
    assert lookup(reference).formatted() == shown


def test_unknown_figures_are_named_in_the_error():
    with pytest.raises(KeyError, match="modhupur has no figure 'price'"):
        lookup("modhupur.price")
    with pytest.raises(KeyError, match="No case 'atlantis'"):
        load_case("atlantis")


# --- broken files -------------------------------------------------------------------------


@pytest.fixture
def case_folder(tmp_path: Path) -> Path:
    """A private copy of cases/ that a test may break."""
    folder = tmp_path / "cases"
    shutil.copytree(CASES_DIR, folder)
    return folder


def _edit(folder: Path, name: str, change) -> Path:
    path = folder / f"{name}.yaml"
    data = yaml.safe_load(path.read_text())
    change(data)
    path.write_text(yaml.safe_dump(data, allow_unicode=True))
    return path


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda d: d["figures"]["commission"].pop("unit"), r"figures\.commission\.unit: missing"),
        (lambda d: d["figures"]["commission"].update(value="ten"), r"figures\.commission\.value: .*'ten'"),
        (lambda d: d["figures"]["commission"].update(value=float("nan")), r"figures\.commission\.value: .*finite"),
        (lambda d: d["figures"]["commission"].update(value=True), r"figures\.commission\.value"),
        (lambda d: d["figures"]["commission"].update(year=1066), r"figures\.commission\.year"),
        (lambda d: d["figures"]["commission"].update(source="a-rumour"), r"figures\.commission\.source: unknown source 'a-rumour'"),
        (lambda d: d["figures"]["commission"].update(colour="red"), r"figures\.commission\.colour: not a known field"),
        (lambda d: d.pop("name"), r"name: missing"),
        (lambda d: d.update(id="pineapples"), r"id: 'pineapples' must match the file name 'modhupur'"),
        (lambda d: d.pop("profile"), r"profile: missing"),
        (lambda d: d.update(approach="magic"), r"approach: "),
        (lambda d: d["figures"].update({"Bad Key": d["figures"]["commission"]}), r"figures: .*'Bad Key'"),
    ],
)
def test_a_broken_case_file_is_refused_with_file_and_field(case_folder, change, expected):
    path = _edit(case_folder, "modhupur", change)
    with pytest.raises(CaseFileError) as error:
        load_cases(case_folder)
    message = str(error.value)
    assert message.startswith(str(path))
    assert re.search(expected, message), message


def test_invalid_yaml_is_reported_with_the_file(case_folder):
    path = case_folder / "uriri.yaml"
    path.write_text("id: uriri\nfigures: [unclosed\n")
    with pytest.raises(CaseFileError, match=rf"^{re.escape(str(path))}: not valid YAML"):
        load_cases(case_folder)


def test_a_file_that_is_not_a_mapping_is_refused(case_folder):
    (case_folder / "uriri.yaml").write_text("- just\n- a list\n")
    with pytest.raises(CaseFileError, match="expected a mapping"):
        load_cases(case_folder)


def test_a_broken_sources_file_is_refused(case_folder):
    (case_folder / "sources.yaml").write_text(json.dumps([{"id": "ilo-vc"}]))
    with pytest.raises(CaseFileError, match=r"sources.yaml: .*title: missing"):
        load_cases(case_folder)


# --- figures are never retyped in prose ---------------------------------------------------


def _prose_of_book() -> dict[Path, str]:
    texts = {}
    for path in sorted((ROOT / "book").rglob("*.md")):
        texts[path] = path.read_text()
    for path in sorted((ROOT / "book").rglob("*.ipynb")):
        if "_build" in path.parts or ".ipynb_checkpoints" in path.parts:
            continue
        cells = json.loads(path.read_text())["cells"]
        texts[path] = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown")
    return texts


def test_chapters_take_case_figures_from_the_case_files_not_by_hand():
    # Distinctive numbers only (three or more digits, not years): small counts like 3 or 9
    # turn up in ordinary prose.
    numbers = set()
    for case in load_cases().values():
        for figure in case.figures.values():
            if figure.unit == "year":
                continue
            text = f"{figure.value:,}" if float(figure.value).is_integer() else str(figure.value)
            text = text.removesuffix(".0")
            if len(text.replace(",", "").replace(".", "")) >= 2 and not re.fullmatch(r"\d{1,2}", text):
                numbers.add(text)
    offenders = []
    for path, prose in _prose_of_book().items():
        without_roles = re.sub(r"\{(fact|cite|doc|ref)\}`[^`]*`", "", prose)
        for number in numbers:
            for variant in {number, number.replace(",", "")}:
                if re.search(rf"(?<![\w.,:/]){re.escape(variant)}(?![\w]|[.,]\d)", without_roles):
                    offenders.append(f"{path.relative_to(ROOT)}: {variant}")
    assert offenders == [], "case figures typed by hand (use {fact}`case.key`): " + ", ".join(offenders)
