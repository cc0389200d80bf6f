"""Synonym sets as marketers write them in the admin (Settings > Search synonyms): one set
per line, terms separated by commas. ``parse_synonyms`` reads and checks them; the query model
(``search.query.plan_text``) applies them at query time on every engine."""

from __future__ import annotations

from search.query import STOP_WORDS, SynonymSets, Term, words_of

MAX_SYNONYM_SETS = 500
MAX_SYNONYM_TERMS = 20
MAX_TERM_WORDS = 6


MAX_PROBLEMS_SHOWN = 10
SHOWN_CHARS = 60


class SynonymsInvalid(ValueError):
    """Lines ``parse_synonyms`` cannot read: ``problems``, one per line, each naming it."""

    def __init__(self, problems: list[str]):
        super().__init__("; ".join(problems))
        self.problems = problems


def parse_synonyms(text: str) -> SynonymSets:
    """Synonym sets as marketers write them: one set per line, terms separated by commas
    (``roi, return on investment``); blank lines and lines starting with # are skipped.
    Raises ``SynonymsInvalid`` naming every line at fault (the first ``MAX_PROBLEMS_SHOWN``),
    and the term at fault on each."""
    sets: list[tuple[Term, ...]] = []
    seen: dict[Term, int] = {}
    problems: list[str] = []
    for number, line in enumerate((text or "").splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        try:
            sets.append(_parse_line(number, line, seen))
        except ValueError as error:
            problems.append(f"line {number}: {error}")
    if len(sets) > MAX_SYNONYM_SETS:
        problems.append(f"at most {MAX_SYNONYM_SETS} sets, not {len(sets)}")
    if problems:
        more = len(problems) - MAX_PROBLEMS_SHOWN
        shown = problems[:MAX_PROBLEMS_SHOWN] + ([f"and {more} more"] if more > 0 else [])
        raise SynonymsInvalid(shown)
    return tuple(sets)


def _parse_line(number: int, line: str, seen: dict[Term, int]) -> tuple[Term, ...]:
    """One line's set; its terms are added to ``seen`` (term -> line) only when it is good."""
    terms: list[Term] = []
    for raw in line.split(","):
        term = words_of(raw)
        _check_term(_shown(raw.strip()), term)
        if term in seen:
            raise ValueError(f"“{_shown(raw.strip())}” is already in line {seen[term]}")
        terms.append(term)
    terms = list(dict.fromkeys(terms))
    if len(terms) < 2:
        raise ValueError("a set needs at least two different terms, separated by commas")
    if len(terms) > MAX_SYNONYM_TERMS:
        raise ValueError(f"at most {MAX_SYNONYM_TERMS} terms in a set")
    seen.update(dict.fromkeys(terms, number))
    return tuple(terms)


def _shown(raw: str) -> str:
    """A term as an error message quotes it: a pasted page is not repeated back whole."""
    return raw if len(raw) <= SHOWN_CHARS else raw[: SHOWN_CHARS - 1] + "…"


def _check_term(raw: str, term: Term) -> None:
    if not term:
        shown = f"“{raw}” has" if raw else "an empty term has"
        raise ValueError(f"{shown} no searchable word")
    if all(word in STOP_WORDS for word in term):
        raise ValueError(f"“{raw}” has only words too common to search")
    if len(term) > MAX_TERM_WORDS:
        raise ValueError(f"“{raw}” is longer than {MAX_TERM_WORDS} words")
    if any(len(word) > 40 for word in term):
        raise ValueError(f"“{raw}” has a word longer than 40 characters")
