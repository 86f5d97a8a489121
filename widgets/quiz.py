"""Self-check quizzes that work in the static book, with feedback on every answer.

Questions live in ``book/quizzes/<name>.json`` (jupyterquiz's format); ``show_quiz``
checks the file, then renders it as HTML and JavaScript that need no kernel.
"""
from __future__ import annotations

import json
import random
from pathlib import Path

QUIZ_DIR = Path(__file__).resolve().parent.parent / "book" / "quizzes"


def load_quiz(name: str, directory: Path = QUIZ_DIR) -> list[dict]:
    """The questions of one quiz, checked: each needs answers, one right, and feedback."""
    path = Path(directory) / f"{name}.json"
    try:
        questions = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ValueError(f"There is no quiz file {path}") from None
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path}: not valid JSON ({exc})") from None
    if not isinstance(questions, list) or not questions:
        raise ValueError(f"{path}: expected a list of questions")
    for number, question in enumerate(questions, start=1):
        where = f"{path}: question {number}"
        if not str(question.get("question", "")).strip():
            raise ValueError(f"{where}: the question text is missing")
        if question.get("type") not in ("multiple_choice", "many_choice"):
            raise ValueError(f"{where}: type must be multiple_choice or many_choice")
        answers = question.get("answers", [])
        if len(answers) < 2:
            raise ValueError(f"{where}: needs at least two answers")
        if not any(answer.get("correct") for answer in answers):
            raise ValueError(f"{where}: no answer is marked correct")
        for answer in answers:
            if not str(answer.get("feedback", "")).strip():
                raise ValueError(f"{where}: answer {answer.get('answer')!r} has no feedback")
    return questions


def show_quiz(name: str, directory: Path = QUIZ_DIR) -> None:
    from jupyterquiz import display_quiz

    questions = load_quiz(name, directory)
    # jupyterquiz names its container with random letters; seeding keeps the stored
    # output identical from run to run (nbval compares it), and the caller's state is restored.
    state = random.getstate()
    random.seed(name)
    try:
        display_quiz(questions, shuffle_answers=False, max_width=800)
    finally:
        random.setstate(state)
