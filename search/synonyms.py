"""Synonym sets as marketers write them in the admin (Settings > Search synonyms): one set
per line, terms separated by commas. ``parse_synonyms`` reads and checks them; the query model
(``search.query.plan_text``) applies them at query time on every engine."""

from __future__ import annotations

from search.query import STOP_WORDS, SynonymSets, Term, words_of

MAX_SYNONYM_SETS = 500
MAX_SYNONYM_TERMS = 20
MAX_TERM_WORDS = 6


def parse_synonyms(text: str) -> SynonymSets:
    """Synonym sets as marketers write them: one set per line, terms separated by commas
    (``roi, return on investment``); blank lines and lines starting with # are skipped.
    Raises ``ValueError`` naming the line and the term at fault."""
    sets: list[tuple[Term, ...]] = []
    seen: dict[Term, int] = {}
    for number, line in enumerate((text or "").splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        terms: list[Term] = []
        for raw in line.split(","):
            term = words_of(raw)
            _check_term(number, raw.strip(), term)
            if term in seen and seen[term] != number:
                raise ValueError(f"line {number}: “{raw.strip()}” is already in line {seen[term]}")
            seen[term] = number
            terms.append(term)
        terms = list(dict.fromkeys(terms))
        if len(terms) < 2:
            raise ValueError(
                f"line {number}: a set needs at least two different terms, separated by commas"
            )
        if len(terms) > MAX_SYNONYM_TERMS:
            raise ValueError(f"line {number}: at most {MAX_SYNONYM_TERMS} terms in a set")
        sets.append(tuple(terms))
        if len(sets) > MAX_SYNONYM_SETS:
            raise ValueError(f"line {number}: at most {MAX_SYNONYM_SETS} sets")
    return tuple(sets)


def _check_term(number: int, raw: str, term: Term) -> None:
    if not term:
        shown = f"“{raw}” has" if raw else "an empty term has"
        raise ValueError(f"line {number}: {shown} no searchable word")
    if all(word in STOP_WORDS for word in term):
        raise ValueError(f"line {number}: “{raw}” has only words too common to search")
    if len(term) > MAX_TERM_WORDS:
        raise ValueError(f"line {number}: “{raw}” is longer than {MAX_TERM_WORDS} words")
    if any(len(word) > 40 for word in term):
        raise ValueError(f"line {number}: “{raw}” has a word longer than 40 characters")
