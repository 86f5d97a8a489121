"""Quiz files are checked before they reach a reader."""
from __future__ import annotations

import json

import pytest

from widgets.quiz import QUIZ_DIR, load_quiz


@pytest.mark.parametrize("path", sorted(QUIZ_DIR.glob("*.json")), ids=lambda p: p.stem)
def test_every_quiz_in_the_book_is_well_formed(path):
    questions = load_quiz(path.stem)
    assert all(sum(a.get("correct", False) for a in q["answers"]) >= 1 for q in questions)


def _question(**change):
    question = {
        "question": "Who sets the price?",
        "type": "multiple_choice",
        "answers": [
            {"answer": "The buyer", "correct": True, "feedback": "Yes."},
            {"answer": "Nobody", "correct": False, "feedback": "No."},
        ],
    }
    question.update(change)
    return question


@pytest.mark.parametrize(
    ("question", "message"),
    [
        (_question(question=" "), "question text is missing"),
        (_question(type="essay"), "type must be"),
        (_question(answers=[{"answer": "Only one", "correct": True, "feedback": "x"}]), "at least two answers"),
        (_question(answers=[{"answer": "A", "feedback": "x"}, {"answer": "B", "feedback": "y"}]), "no answer is marked correct"),
        (_question(answers=[{"answer": "A", "correct": True, "feedback": ""}, {"answer": "B", "feedback": "y"}]), "'A' has no feedback"),
    ],
)
def test_a_broken_quiz_is_refused_with_the_question_number(tmp_path, question, message):
    (tmp_path / "broken.json").write_text(json.dumps([_question(), question]))
    with pytest.raises(ValueError, match=f"broken.json: question 2: .*{message}"):
        load_quiz("broken", tmp_path)
