"""The one query model every engine translates, and the result shapes every engine returns.

A ``SearchQuery`` says what the rep typed, which facet values they picked, who they are
(``Audience``), how to sort, which page, and optionally the deal they are working
(``DealContext``). Engines never see a user or a request; they see this.

Text handling is shared so that all engines agree on it: ``parse_text`` splits the input into
words and quoted phrases (everything else the user types is ignored, so query syntax can never
be injected), ``plan_text`` turns them into the clauses every hit must match, with the
library's synonym sets applied (``search.synonyms`` reads what marketers wrote) and the last
word taken as a prefix while it is being typed, and ``fuzzy_distance`` says how many typos a
word may carry.
"""

from __future__ import annotations

import functools
import math
import re
from dataclasses import dataclass, field, replace
from datetime import datetime

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from accounts.roles import user_manages_content, user_team_ids
from cms.taxonomy import deal_facets
from search.schema import FACET_FIELDS, SORTS

# Facet name as used in URLs and the API -> index field name, in display order
# (``cms.taxonomy`` declares the facets, ``search.schema`` their fields).
FACETS: dict[str, str] = FACET_FIELDS
MAX_PER_PAGE = 50
MAX_PAGE = 200  # offset stays within the servers' default max_result_window (10,000)
MAX_TEXT_CHARS = 200
MAX_WORDS = 12

# Relevance (field weights in ``search.schema``): typo matches weigh less than exact.
FUZZY_WEIGHT = 0.4
SYNONYM_WEIGHT = 0.6  # a synonym's match counts for less than the word the rep typed
# The words of a synonym term typed ("success story") also match apart, in any order and in
# any fields ("story" in a summary, "success" in a body), for this much of their score: the
# term as a phrase, or one of its synonyms as a phrase, ranks above its words scattered.
SCATTERED_WEIGHT = 0.25
# A word still being typed ("pipel") also finds a title word that starts with it ("pipeline"):
# from this many letters on (shorter ones start too many words), for less than a whole word.
PREFIX_MIN_CHARS = 3
PREFIX_WEIGHT = 0.4
# Ranking signals from analytics are a mild, additive nudge; deal context dominates on purpose
# ("results for that context rank first").
SIGNAL_BOOSTS = {"effective": 1.0, "popular": 0.5}
SIGNAL_THRESHOLD = 0.5
DEAL_BOOSTS = {item.name: item.deal_boost for item in deal_facets()}
DEAL_FIELDS = tuple(DEAL_BOOSTS)

# Highlight markers: engines wrap matches in these; ``render_highlight`` escapes everything
# and turns only these into <mark>. Indexed text never contains them (documents.py strips them).
MARK_START = "\x02"
MARK_END = "\x03"
ALL_TOKEN = "all"  # noqa: S105 - the audience token for "open to everyone"
FAR_FUTURE = 253_402_300_799  # 9999-12-31T23:59:59Z, "never expires"

_WORD = re.compile(r"[^\W_]+")
_PHRASE = re.compile(r'"([^"]*)"')
_QUOTED_OR_WORD = re.compile(r'"([^"]*)"|([^\W_]+)')
# An English possessive ("Pipewise's", "buyer’s"). Every engine indexes its "s" as a word of
# its own (a word is a run of letters and digits). Typed, it must not become a one-letter word
# every hit has to contain, so it is dropped from what is typed.
_POSSESSIVE = re.compile(r"(?<=[^\W_])['’]s\b", re.IGNORECASE)


def _typed(text: str | None) -> str:
    """What was typed, as far as it is searched: its first ``MAX_TEXT_CHARS``, possessives
    dropped."""
    return _POSSESSIVE.sub("", (text or "")[:MAX_TEXT_CHARS])


# The stop words of Lucene's EnglishAnalyzer. Left out of every query on every engine (in a
# quoted phrase, a hole any word fills), so that the engines agree on them; indexes keep them.
STOP_WORDS = frozenset(
    "a an and are as at be but by for if in into is it no not of on or such that the their "
    "then there these they this to was will with".split()
)


@dataclass(frozen=True)
class Audience:
    """Whose permissions apply. ``team_ids=None`` means a content manager, who sees every
    live asset; otherwise an asset is visible when it is open to all or to one of the teams."""

    team_ids: frozenset[int] | None

    @property
    def sees_everything(self) -> bool:
        return self.team_ids is None

    def tokens(self) -> list[str]:
        """Index tokens this audience may match (see ``documents.audience_tokens``)."""
        return [ALL_TOKEN] + [f"team:{team_id}" for team_id in sorted(self.team_ids or ())]


def audience_for(user) -> Audience:
    if user_manages_content(user):
        return Audience(team_ids=None)
    return Audience(team_ids=frozenset(user_team_ids(user)))


class DealContext:
    """The deal a rep is working: a term slug per deal-mode facet (``cms.taxonomy``,
    ``DealContext(stage="decide", competitor="acme")``); matches rank first and are
    explained. Unset facets read as ""."""

    __slots__ = ("_values",)

    def __init__(self, **values: str):
        unknown = set(values) - set(DEAL_FIELDS)
        if unknown:
            raise TypeError(f"unknown deal field {sorted(unknown)[0]!r}")
        self._values = tuple((name, values[name]) for name in DEAL_FIELDS if values.get(name))

    def __getattr__(self, name: str) -> str:
        if name in DEAL_FIELDS:
            return dict(self._values).get(name, "")
        raise AttributeError(name)

    def items(self) -> list[tuple[str, str]]:
        """(facet name, slug) for every field that is set, in display order."""
        return list(self._values)

    def __bool__(self) -> bool:
        return bool(self._values)

    def __eq__(self, other) -> bool:
        return isinstance(other, DealContext) and self._values == other._values

    def __hash__(self) -> int:
        return hash(self._values)

    def __repr__(self) -> str:
        return f"DealContext({', '.join(f'{k}={v!r}' for k, v in self._values)})"


@dataclass(frozen=True)
class ParsedText:
    words: tuple[str, ...] = ()
    phrases: tuple[tuple[str, ...], ...] = ()

    def __bool__(self) -> bool:
        return bool(self.words or self.phrases)


def parse_text(text: str) -> ParsedText:
    """Lower-cased words and quoted phrases; punctuation and query syntax are dropped.

    Words are split the way the engines' tokenizers split (letters and digits), so a word here
    is a term there. A one-word "phrase" is just a word.
    """
    text = _typed(text)
    phrases: list[tuple[str, ...]] = []
    words: list[str] = []
    for quoted in _PHRASE.findall(text):
        tokens = tuple(_WORD.findall(quoted.lower()))
        if len(tokens) > 1:
            phrases.append(tokens)
        else:
            words.extend(tokens)
    words.extend(_WORD.findall(_PHRASE.sub(" ", text).lower()))
    unique = list(dict.fromkeys(word for word in words if len(word) <= 40))
    return ParsedText(words=tuple(unique[:MAX_WORDS]), phrases=tuple(phrases[:3]))


def normalize_text(text: str) -> str:
    """The form analytics groups searches by: lower-case words, single spaces."""
    return " ".join(_WORD.findall(_POSSESSIVE.sub("", text or "").lower()))[:500]


def fuzzy_distance(word: str) -> int:
    """Typos tolerated in a word: none below 4 letters, 1 up to 7, 2 from 8 ("battlecrad")."""
    if len(word) < 4:
        return 0
    return 1 if len(word) < 8 else 2


# --- synonyms and the text plan ----------------------------------------------------------------
Term = tuple[str, ...]  # lower-case words
SynonymSets = tuple[tuple[Term, ...], ...]  # sets of terms that mean the same


def words_of(text: str) -> Term:
    """Lower-case words of `text`, split the way the engines split them."""
    return tuple(_WORD.findall(_POSSESSIVE.sub("", text).lower()))


@functools.lru_cache(maxsize=16)
def _synonym_index(sets: SynonymSets) -> tuple[dict[Term, tuple[Term, ...]], int]:
    """term -> the other terms of its set(s); and the longest term's length in words."""
    index: dict[Term, tuple[Term, ...]] = {}
    for terms in sets:
        for term in terms:
            others = [other for other in terms if other != term]
            index[term] = tuple(dict.fromkeys([*index.get(term, ()), *others]))
    return index, max((len(term) for term in index), default=0)


@dataclass(frozen=True)
class TextClause:
    """Something every hit must match: what the rep typed (``typed``, a word, the words of a
    synonym term in any order (scored as a phrase, and apart for ``SCATTERED_WEIGHT``), or
    with ``phrase`` a quoted phrase) or else one of its
    ``synonyms`` (each matched as a phrase, without typo tolerance). With ``prefix`` the
    word is the last of the text, not yet ended by a space or punctuation: a title word
    that starts with it matches too (``PREFIX_WEIGHT``). Without ``typos`` its words match
    only as typed (stemmed), not within ``fuzzy_distance``."""

    typed: Term
    phrase: bool = False
    synonyms: tuple[Term, ...] = ()
    prefix: bool = False
    typos: bool = True

    @property
    def words(self) -> Term:
        """The typed words that are searched (stop words are not)."""
        return tuple(word for word in self.typed if word not in STOP_WORDS)

    @property
    def label(self) -> str:
        return " ".join(self.typed)


@dataclass(frozen=True)
class TextPlan:
    clauses: tuple[TextClause, ...] = ()
    ignored: tuple[str, ...] = ()  # stop words left out

    @property
    def expanded(self) -> tuple[int, ...]:
        """Positions of the clauses that carry synonyms."""
        return tuple(i for i, clause in enumerate(self.clauses) if clause.synonyms)

    @property
    def tolerates_typos(self) -> bool:
        """Whether some typed word would match within typos (``fuzzy_distance``)."""
        return any(
            clause.typos and not clause.phrase and any(map(fuzzy_distance, clause.words))
            for clause in self.clauses
        )

    def without_typos(self) -> TextPlan:
        return replace(self, clauses=tuple(replace(c, typos=False) for c in self.clauses))


def plan_text(text: str, synonyms: SynonymSets = ()) -> TextPlan:
    """The clauses for ``text``: quoted phrases and words in the order typed, stop words left
    out, the longest run of words that is a synonym term taken as one clause, and at most
    ``MAX_WORDS`` clauses (three phrases)."""
    index, longest = _synonym_index(synonyms)
    clauses: list[TextClause] = []
    ignored: list[str] = []
    run: list[str] = []

    def flush():
        clauses.extend(_word_clauses(run, index, longest, ignored))
        run.clear()

    phrases = 0
    for quoted, word in _QUOTED_OR_WORD.findall(_typed(text)):
        if word:
            if len(word) <= 40:  # longer "words" are noise that no tokenizer indexes
                run.append(word.lower())
            continue
        tokens = tuple(token for token in words_of(quoted) if len(token) <= 40)
        if len(tokens) <= 1:
            run.extend(tokens)
            continue
        flush()
        if phrases < 3 and any(token not in STOP_WORDS for token in tokens):
            clauses.append(TextClause(tokens, phrase=True, synonyms=index.get(tokens, ())))
            phrases += 1
    flush()
    if clauses and _being_typed(text, clauses[-1]):
        clauses[-1] = replace(clauses[-1], prefix=True)
    unique = list(dict.fromkeys(clauses))
    return TextPlan(clauses=tuple(unique[:MAX_WORDS]), ignored=tuple(dict.fromkeys(ignored)))


def _being_typed(text: str, clause: TextClause) -> bool:
    """Whether ``clause`` is a single word that ends ``text`` (nothing typed after it)."""
    if clause.phrase or clause.synonyms or len(clause.typed) != 1:
        return False
    word = clause.typed[0]
    return len(word) >= PREFIX_MIN_CHARS and _typed(text).lower().endswith(word)


def _word_clauses(words: list[str], index, longest: int, ignored: list[str]):
    position = 0
    while position < len(words):
        for size in range(min(longest, len(words) - position), 0, -1):
            term = tuple(words[position : position + size])
            if term in index:
                yield TextClause(term, synonyms=index[term])
                position += size
                break
        else:
            word = words[position]
            if word in STOP_WORDS:
                ignored.append(word)
            else:
                yield TextClause((word,))
            position += 1


@dataclass(frozen=True)
class SearchQuery:
    audience: Audience
    now: datetime
    text: str = ""
    filters: dict[str, tuple[str, ...]] = field(default_factory=dict)
    facets: tuple[str, ...] = tuple(FACETS)
    sort: str = "relevance"
    page: int = 1
    per_page: int = 20
    deal: DealContext = field(default_factory=DealContext)
    highlight: bool = True
    # Assets never to return, in hits, counts or suggestions: their index entries may be
    # out of date because an update is pending (see search.models.PendingIndexUpdate).
    hidden: frozenset[int] = frozenset()
    # The library's synonym sets (``parse_synonyms``); None until the selector fills them in.
    synonyms: SynonymSets | None = None
    # Whether typed words also match within typos; ``selectors.search_run`` first searches
    # without, and with only when that finds nothing.
    typos: bool = True

    def __post_init__(self):
        if self.sort not in SORTS:
            raise ValueError(f"sort must be one of {', '.join(SORTS)}, got {self.sort!r}")
        unknown = (set(self.filters) | set(self.facets)) - set(FACETS)
        if unknown:
            raise ValueError(f"unknown facet {sorted(unknown)[0]!r}")
        if not 1 <= self.page <= MAX_PAGE:
            raise ValueError(f"page must be between 1 and {MAX_PAGE}")
        if not 0 <= self.per_page <= MAX_PER_PAGE:
            raise ValueError(f"per_page must be between 0 and {MAX_PER_PAGE}")

    @property
    def parsed(self) -> ParsedText:
        return parse_text(self.text)

    @functools.cached_property
    def text_plan(self) -> TextPlan:
        """Computed once per query (``dataclasses.replace`` makes a new query)."""
        plan = plan_text(self.text, self.synonyms or ())
        return plan if self.typos else plan.without_typos()

    @property
    def unsearchable(self) -> bool:
        """Text was typed but none of it can be searched ("🚚", "((((", "%", "the"): every
        engine then matches nothing, rather than everything."""
        return bool(self.text.strip()) and not self.text_plan.clauses

    def unsearchable_reason(self) -> str:
        if not self.unsearchable:
            return ""
        reason = f"no searchable words in “{self.text.strip()}”"
        ignored = self.text_plan.ignored
        if ignored:
            reason += f" (words as common as “{ignored[0]}” are not searched)"
        return reason

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.per_page

    @property
    def now_epoch(self) -> int:
        return int(self.now.timestamp())

    def active_filters(self) -> dict[str, tuple[str, ...]]:
        return {name: values for name, values in self.filters.items() if values}


@dataclass
class FacetCount:
    value: str
    count: int
    label: str = ""
    selected: bool = False


@dataclass
class PageMatch:
    """A page of a PDF or a slide of a deck (``page``, from 1) where a hit matched, with a
    highlighted fragment of its text (safe HTML in which only <mark> is markup)."""

    page: int
    highlight: SafeString


@dataclass
class SearchHit:
    """One result as an engine returns it. ``fields`` holds the stored display fields
    (``search.schema.DISPLAY_FIELDS``); ``highlight`` is safe HTML in which only <mark> is
    markup; ``reasons`` explain deal-mode hits (``selectors.search_run``). A rep sees it as a
    ``search.results.Card``."""

    asset_id: int
    score: float
    fields: dict
    highlight: SafeString = field(default_factory=lambda: mark_safe(""))  # noqa: S308
    reasons: list[str] = field(default_factory=list)
    # What the rep typed that this hit matched only through a synonym ("roi" when it says
    # "return on investment" and never "roi"); empty when it matched what was typed.
    synonym_of: list[str] = field(default_factory=list)
    # Up to ``search.schema.PAGE_MATCHES`` pages or slides of its file that match the text,
    # best first (ties: the earlier page); empty without text or for a file without pages.
    matches: list[PageMatch] = field(default_factory=list)


@dataclass
class SearchResults:
    total: int
    hits: list[SearchHit]
    facets: dict[str, list[FacetCount]]
    took_ms: float = 0.0
    page: int = 1
    per_page: int = 20
    reason: str = ""  # why there are no results although text was typed
    within_typos: bool = False  # nothing matched the words as typed; these hits are close to them

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.per_page)) if self.per_page else 1


@dataclass
class Suggestion:
    """A completion: an asset title (``kind="asset"``) or a taxonomy term (``kind=<facet>``)."""

    kind: str
    label: str
    value: str
    url: str = ""


def boost_clauses(query: SearchQuery) -> list[tuple[str, str, float]]:
    """(index field, value, score to add) for the ranking signals and the deal context.

    Every engine adds these as optional clauses with a constant score, so a matching document
    gains exactly that much whatever the engine's text scoring.
    """
    clauses = [("signals", token, boost) for token, boost in SIGNAL_BOOSTS.items()]
    clauses += [(FACETS[name], slug, DEAL_BOOSTS[name]) for name, slug in query.deal.items()]
    return clauses


def render_highlight(marked: str) -> SafeString:
    """Escape ``marked`` and turn only the engine's match markers into <mark> tags."""
    escaped = escape(marked.replace(MARK_START + MARK_END, ""))
    balanced = _balance_marks(escaped)
    html = balanced.replace(MARK_START, "<mark>").replace(MARK_END, "</mark>")
    return mark_safe(html)  # noqa: S308 - everything but the markers was escaped above


_BALANCED = re.compile(
    f"[^{MARK_START}{MARK_END}]*(?:{MARK_START}[^{MARK_START}{MARK_END}]*{MARK_END}[^{MARK_START}{MARK_END}]*)*"
)


def _balance_marks(text: str) -> str:
    """Drop stray markers so that the <mark> tags produced are always properly nested."""
    if _BALANCED.fullmatch(text):
        return text
    out, open_ = [], False
    for char in text:
        if char == MARK_START:
            if open_:
                continue
            open_ = True
        elif char == MARK_END:
            if not open_:
                continue
            open_ = False
        out.append(char)
    if open_:
        out.append(MARK_END)
    return "".join(out)
