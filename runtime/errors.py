"""The one error type the CLI turns into a one-line message and exit code 2."""

from __future__ import annotations


class BadInput(ValueError):
    """Bad user input: names the file and the problem, and says what to do where it can."""

    def __init__(self, path: str, problem: str) -> None:
        self.path = str(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}")
