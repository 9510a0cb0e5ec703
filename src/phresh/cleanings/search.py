"""The search box: what ``q`` may hold, and the one form of it that reaches PostgreSQL.

People type web-search syntax: words, "a phrase", -word (not), and ``or`` between two
terms. PostgreSQL's ``websearch_to_tsquery`` reads that syntax, but not every string safely:
33 dashes overflow its operator stack ("tsquery stack too small"), thousands of words
overflow the server's stack, and a long query costs time in proportion to its terms on every
row it is tested against. So ``q`` is parsed here and rebuilt from a small grammar that
``websearch_to_tsquery`` always accepts::

    query  = term *(" " ["or "] term)
    term   = ["-"] (word / DQUOTE word *(" " word) DQUOTE)
    word   = letters, marks and digits, joined by single inner ' - . _ @ / +

Every other character separates words; a run of dashes becomes one negation, and an
operator with no word after it (a dangling "-", a leading, trailing or doubled "or") is
dropped. Each term holds at most one NOT, so the parser's operator stack (32 deep) holds at
most an OR, an AND and a NOT at a time, and ``MAX_WORDS`` bounds the query's size.
"""

import unicodedata
from dataclasses import dataclass

# A search box's query fits easily (Google reads 32 words); beyond that it is pasted text.
# Testing a cleaning against a query costs time in proportion to its words, and one request
# may test most open cleanings (a count, or a plan misled about how common the words are):
# on 100k cleanings the slowest accepted query took ~210 ms of database time with 32 words,
# ~170 with 24, 100-150 with 16 (bench/README.md, "Worst-case search").
MAX_LENGTH = 256
MAX_WORDS = 16

# Kept inside a word ("e-mail", "o'brien", "3.5", "jane@example.com"): PostgreSQL's text
# parser makes compound lexemes of them, and none is an operator of the tsquery syntax there.
_JOINERS = frozenset("'-._@/+")
_SPACE = " "


@dataclass(frozen=True)
class Term:
    """One word or one "phrase" of the query, maybe negated."""

    words: tuple[str, ...]
    negated: bool = False
    phrase: bool = False

    def __str__(self) -> str:
        text = f'"{_SPACE.join(self.words)}"' if self.phrase else self.words[0]
        return f"-{text}" if self.negated else text


@dataclass(frozen=True)
class SearchQuery:
    """``q`` as terms; ``alternatives[i]`` is True when ``or`` joins term i to term i + 1."""

    terms: tuple[Term, ...]
    alternatives: tuple[bool, ...]

    @property
    def word_count(self) -> int:
        """Letter-and-digit runs: "e-mail" is two, as PostgreSQL makes lexemes of both."""
        return sum(_runs(word) for term in self.terms for word in term.words)

    def groups(self) -> list[list[Term]]:
        """The terms between one ``or`` and the next: each group's terms must all match."""
        groups: list[list[Term]] = []
        for index, term in enumerate(self.terms):
            if index == 0 or self.alternatives[index - 1]:
                groups.append([])
            groups[-1].append(term)
        return groups

    def websearch(self) -> str:
        """The canonical text for ``websearch_to_tsquery``; empty when nothing is searchable."""
        parts: list[str] = []
        for index, term in enumerate(self.terms):
            if index and self.alternatives[index - 1]:
                parts.append("or")
            parts.append(str(term))
        return _SPACE.join(parts)


def _is_word_char(char: str) -> bool:
    return unicodedata.category(char)[0] in "LMN"


def _runs(word: str) -> int:
    """How many runs of word characters ``word`` holds."""
    count = 0
    previous = False
    for char in word:
        current = _is_word_char(char)
        if current and not previous:
            count += 1
        previous = current
    return count


def _words(text: str) -> list[str]:
    """``text`` split into words: word characters, joined by single inner joiners."""
    words: list[str] = []
    current: list[str] = []
    pending = ""  # a joiner seen right after a word character, kept if another follows
    for char in text:
        if _is_word_char(char):
            if pending:
                current.append(pending)
                pending = ""
            current.append(char)
        elif char in _JOINERS and current and not pending:
            pending = char
        else:
            pending = ""
            if current:
                words.append("".join(current))
                current = []
    if current:
        words.append("".join(current))
    return words


def _chunks(q: str) -> list[tuple[str, bool, bool]]:
    """(text, negated, phrase) for each whitespace-separated chunk or quoted phrase.

    As in ``websearch_to_tsquery``, a quote opens a phrase that ends at the next quote or at
    the end of the text, and a dash directly before a chunk or a phrase negates it.
    """
    chunks: list[tuple[str, bool, bool]] = []
    position = 0
    length = len(q)
    while position < length:
        char = q[position]
        if char.isspace():
            position += 1
            continue
        # The chunk's leading non-word characters: a dash among them negates it.
        start = position
        while position < length and q[position] != '"' and not q[position].isspace():
            if _is_word_char(q[position]):
                break
            position += 1
        negated = "-" in q[start:position]
        if position < length and q[position] == '"':
            end = q.find('"', position + 1)
            end = length if end < 0 else end
            chunks.append((q[position + 1 : end], negated, True))
            position = end + 1
            continue
        end = position
        while end < length and q[end] != '"' and not q[end].isspace():
            end += 1
        chunks.append((q[position:end], negated, False))
        position = end
    return chunks


def parse(q: str) -> SearchQuery:
    """``q`` read as web-search syntax; never fails, whatever the text."""
    terms: list[Term] = []
    alternatives: list[bool] = []
    pending_or = False
    for text, negated, phrase in _chunks(unicodedata.normalize("NFC", q)):
        words = tuple(_words(text))
        if not words:
            continue  # noise: punctuation, a separator line, a dash with no word after it
        if not phrase and not negated and len(words) == 1 and words[0].lower() == "or":
            pending_or = bool(terms)  # "or" between two terms; leading "or" means nothing
            continue
        if terms:
            alternatives.append(pending_or)
        pending_or = False
        # Several words in one chunk ("foo!bar") are searched as the phrase they were.
        terms.append(Term(words, negated=negated, phrase=phrase or len(words) > 1))
    return SearchQuery(tuple(terms), tuple(alternatives))


def check(q: str) -> str:
    """Validate ``q`` for the API (its length is bounded by the field); ``q`` unchanged.

    Refused: more than MAX_WORDS words, and a part that only excludes ("-pet", "oven or
    -pet"): with no word to look for, the index cannot help and every open cleaning would
    be read to find the rest.
    """
    parsed = parse(q)
    count = parsed.word_count
    if count > MAX_WORDS:
        msg = f"at most {MAX_WORDS} words can be searched for at once; this query has {count}"
        raise ValueError(msg)
    if any(all(term.negated for term in group) for group in parsed.groups()):
        msg = (
            "needs a word to look for, not only -words to leave out (in each part joined by "
            '"or"): e.g. "oven -pet" rather than "-pet"'
        )
        raise ValueError(msg)
    return q


def websearch(q: str) -> str:
    """The text ``websearch_to_tsquery`` gets for ``q``."""
    return parse(q).websearch()
