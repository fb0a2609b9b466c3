"""Related stories for the sidebar, in three groups.

* ``same``: the same event reported by other feeds. Candidates come from the full-text index
  (the open story's title words, stories within a few days); each is scored by an
  IDF-weighted cosine over the word sets of title and lead, and kept above a tuned threshold.
* ``page``: the related-article links found on the article's own page, in page order, with the
  title, source and time the page showed; linked to the cached story where there is one.
* ``topic``: the stories whose content is most like the open one. Candidates come from one
  BM25 query OR-ing the article's most distinctive terms; each is then scored exactly by
  TF-IDF cosine (sublinear term frequencies), older ones damped a little.

Everything heavy runs in SQLite (the FTS5 index, its ``fts5vocab`` document frequencies); the
Python side only scores a few dozen candidates. Words are turned into index terms by the
index's own tokenizer (:meth:`Store.index_terms`), so Porter stemming is exact; the words and
document frequencies seen are cached.
"""

from __future__ import annotations

import math
import re
import threading
import time
import weakref
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace

from .errors import NotFoundError
from .models import RelatedStory, Story
from .store import Store

# -- tuning -----------------------------------------------------------------------------------
# Same event: a word-set similarity of title + lead above this (tuned on sample_articles: same
# event pairs score 0.21-0.63, the best other pair 0.13), published this close together.
SAME_STORY_THRESHOLD = 0.18
SAME_STORY_WINDOW = 4 * 86400
LEAD_WORDS = 50
TITLE_QUERY_TERMS = 6
GROUP_KEY_TERMS = 15
SAME_STORY_CANDIDATES = 40
# More on this topic: how many distinctive terms go into the candidate query, how many
# candidates are scored exactly.
QUERY_TERMS = 12
TOPIC_CANDIDATES = 50
TITLE_BOOST = 1.0
CANDIDATE_WORDS = 600  # a long article is compared on its first words only (speed)
MIN_SHARED_TERMS = 2
MIN_TOPIC_SCORE = (
    0.05  # below this, shared words are chance (real feeds, with the prior: 0.03-0.05 all chance)
)
# A prior on document frequencies from general English (wordfreq): the cache counts as if it
# held PRIOR_DOCUMENTS more stories of PRIOR_DOCUMENT_WORDS words each, in which a word occurs
# as often as in English at large. In a small cache every word is rare, so "path, means,
# suggests" weighed as much as the names of the event; the prior keeps common words common.
# In a big cache the cache's own counts dominate. (Issue 17.)
PRIOR_DOCUMENTS = 5000
PRIOR_DOCUMENT_WORDS = 300
# Recency: a candidate older than the open story loses up to this share of its score.
AGE_DAMPING = 0.25
AGE_SCALE_DAYS = 30.0

_WORD = re.compile(r"[^\W_]+")
# The separators of _WORD that news text is made of: ASCII punctuation and the common typographic
# marks. Turned into spaces, they leave most texts ASCII, and an ASCII text splits on spaces
# 3x faster than the regex finds its words (the same words: see _words).
_SEPARATORS = str.maketrans(
    {
        c: " "
        for c in [
            *map(chr, range(128)),
            *"\u00a0\u00ab\u00bb\u00b7\u2018\u2019\u201c\u201d\u2013\u2014\u2026\u2022",
        ]
        if not _WORD.fullmatch(c)
    }
)

# Common English words (and news boilerplate) that say nothing about what a story is about.
_STOP_TEXT = """
    a about above across after afterwards again against ago all almost alone along already also
    although always am among an and another any anyone anything are around as at away back be
    became because become been before being below beside besides between beyond both but by can
    cannot could did do does doing done down during each either else enough even ever every
    few first for former from further get gets getting given go going got had has have having he
    her here hers herself him himself his how however i if in including into is it its itself
    just last least less like made make many may me might more most mostly much must my myself
    near need needs never new next no nor not now of off often on once one only onto or other
    others otherwise our ours ourselves out over own per perhaps put quite rather really said
    same say says see seen several she should since so some something still such take than that
    the their theirs them themselves then there these they this those though through throughout
    thus to told too toward towards under until up upon us use used very via was we well were
    what whatever when where whether which while who whole whom whose why will with within
    without would yet you your yours yourself yourselves
    monday tuesday wednesday thursday friday saturday sunday week weeks year years day days
    month months time today yesterday tomorrow mr mrs ms dr s t ll ve re d m
    two three four five six seven eight nine ten
"""
_STOP_WORDS = frozenset(_STOP_TEXT.split())


# -- terms and document frequencies -------------------------------------------------------------

# Word -> index term ("" for none), for every word seen, and the same for the words that count
# as key words (topic) and as event words (same story); the others map to "". Stemming is a
# pure function of the tokenizer, so these serve every store; cleared when they grow too big.
_STEMS: dict[str, str] = {}
_KEY_TERMS: dict[str, str] = {}
_EVENT_TERMS: dict[str, str] = {}
# Index term -> the share of ordinary English documents that hold it (the prior, see
# PRIOR_DOCUMENTS); the largest over the words that stem to the term.
_TERM_PRIOR: dict[str, float] = {}
_STEMS_MAX = 300_000
_DF_MAX = 300_000
_N_RECHECK_SECONDS = 60.0


@dataclass(slots=True)
class _Frequencies:
    """Cached document frequencies of one store (dropped when the cache grows by 5%)."""

    n: int
    checked: float
    df: dict[str, int] = field(default_factory=dict)
    idf: dict[str, float] = field(default_factory=dict)


_FREQUENCIES: weakref.WeakKeyDictionary[Store, _Frequencies] = weakref.WeakKeyDictionary()
_FREQUENCIES_LOCK = threading.Lock()


class _Vocabulary:
    """Index terms and their inverse document frequencies, for one store."""

    def __init__(self, store: Store) -> None:
        self.store = store
        now = time.monotonic()
        with _FREQUENCIES_LOCK:
            freq = _FREQUENCIES.get(store)
        if freq is None or now - freq.checked > _N_RECHECK_SECONDS:
            n = store.indexed_story_count()
            if freq is None or abs(n - freq.n) > 0.05 * max(freq.n, 1) or len(freq.df) > _DF_MAX:
                freq = _Frequencies(n=n, checked=now)
            else:
                freq.checked = now
            with _FREQUENCIES_LOCK:
                _FREQUENCIES[store] = freq
        self.freq = freq

    def learn(self, words: Iterable[str]) -> None:
        """Stem the words not seen yet, all in one round trip."""
        missing = set(words).difference(_STEMS)
        if not missing:
            return
        if len(_STEMS) > _STEMS_MAX:
            _STEMS.clear()
            _KEY_TERMS.clear()
            _EVENT_TERMS.clear()
            _TERM_PRIOR.clear()
        found = self.store.index_terms(sorted(missing))
        share = _english_share()
        for word in missing:
            term = found.get(word, "")
            _KEY_TERMS[word] = term if _is_key_word(word) else ""
            _EVENT_TERMS[word] = term if _is_event_word(word) else ""
            _STEMS[word] = term
            if term:
                prior = share(word)
                if prior > _TERM_PRIOR.get(term, 0.0):
                    _TERM_PRIOR[term] = prior

    def key_terms(self, words: Sequence[str]) -> list[str]:
        """The index terms of the key words among ``words`` (stop words and numbers out)."""
        self.learn(words)
        get = _KEY_TERMS.get
        return [t for w in words if (t := get(w, ""))]

    def event_terms(self, words: Sequence[str]) -> list[str]:
        """The index terms of the words that can identify an event (numbers in)."""
        self.learn(words)
        get = _EVENT_TERMS.get
        return [t for w in words if (t := get(w, ""))]

    def idf(self, terms: Iterable[str]) -> dict[str, float]:
        """BM25's inverse document frequency of each term (always positive).

        Returns the cache itself: it holds at least every term asked for.
        """
        freq = self.freq
        cache = freq.idf
        missing = set(terms).difference(cache)
        if missing:
            found = self.store.document_frequencies(sorted(missing))
            n = max(freq.n, 1)
            prior = _TERM_PRIOR.get
            for term in missing:
                d = found.get(term, 0)
                freq.df[term] = d
                d = min(max(d, 1), n)
                # The cache's counts plus the prior's: see PRIOR_DOCUMENTS.
                seen = d + PRIOR_DOCUMENTS * prior(term, 0.0)
                total = n + PRIOR_DOCUMENTS
                cache[term] = math.log((total - seen + 0.5) / (seen + 0.5) + 1.0)
        return cache


_SHARE: Callable[[str], float] | None = None


def _english_share() -> Callable[[str], float]:
    """word -> the share of ordinary English documents that hold it (0.0 for a word English
    does not know, such as most names; always 0.0 where wordfreq is not installed)."""
    global _SHARE
    if _SHARE is None:
        try:
            from wordfreq import word_frequency  # noqa: PLC0415 - 0.1 s: only when relating
        except ImportError:  # pragma: no cover - a dependency; the prior is then off
            _SHARE = lambda word: 0.0  # noqa: E731
        else:

            def share(word: str) -> float:
                frequency = word_frequency(word, "en", wordlist="small")
                return min(1.0, PRIOR_DOCUMENT_WORDS * frequency)

            _SHARE = share
    return _SHARE


def _words(text: str, limit: int | None = None) -> list[str]:
    low = text.lower().translate(_SEPARATORS)
    words = low.split() if low.isascii() else _WORD.findall(low)
    return words if limit is None else words[:limit]


def _is_key_word(word: str) -> bool:
    """Words that can say what a story is about: no stop words, no bare numbers."""
    return len(word) > 1 and word not in _STOP_WORDS and not word.isdigit()


def _is_event_word(word: str) -> bool:
    """Words that can identify an event: numbers count ("14 cases", "£310m")."""
    return word not in _STOP_WORDS and (len(word) > 1 or word.isdigit())


# -- documents ----------------------------------------------------------------------------------


@dataclass(slots=True)
class _Doc:
    """One story as the scoring sees it."""

    story: Story
    title: str
    body: str
    _title_words: list[str] | None = None
    _body_words: list[str] | None = None

    @property
    def title_words(self) -> list[str]:
        if self._title_words is None:
            self._title_words = _words(self.title)
        return self._title_words

    @property
    def body_words(self) -> list[str]:
        """The first words of the text (a long article is compared on these only)."""
        if self._body_words is None:
            self._body_words = _words(self.body, CANDIDATE_WORDS)
        return self._body_words

    @property
    def time(self) -> int | None:
        return int(self.story.published.timestamp()) if self.story.published else None

    def lead(self) -> str:
        """Title and the first words of the summary (or of the text, when there is none)."""
        lead = self.story.summary or self.body
        return self.title + "\n" + " ".join(_words(lead, LEAD_WORDS))


def _load_docs(store: Store, ids: Sequence[int], *, body_words: int | None) -> dict[int, _Doc]:
    stories = store.stories_by_ids(list(ids))
    texts = store.story_texts([s.id for s in stories])
    docs: dict[int, _Doc] = {}
    for story in stories:
        title, body = texts.get(story.id, (story.title, story.summary))
        if body_words is not None and len(body) > body_words * 8:
            body = body[: body_words * 8]  # words average well under 8 characters
        docs[story.id] = _Doc(story=story, title=title or story.title, body=body)
    return docs


def _event_terms(vocab: _Vocabulary, doc: _Doc) -> set[str]:
    return set(vocab.event_terms(_words(doc.lead())))


def _set_similarity(a: set[str], b: set[str], idf: dict[str, float]) -> float:
    """Cosine of two word sets, each word weighted by its IDF."""
    if not a or not b:
        return 0.0
    shared = sum(idf[t] ** 2 for t in a & b)
    if not shared:
        return 0.0
    norm_a = math.sqrt(sum(idf[t] ** 2 for t in a))
    norm_b = math.sqrt(sum(idf[t] ** 2 for t in b))
    return shared / (norm_a * norm_b)


def _within_window(a: _Doc, b: _Doc) -> bool:
    ta, tb = a.time, b.time
    return ta is None or tb is None or abs(ta - tb) <= SAME_STORY_WINDOW


# -- term vectors ------------------------------------------------------------------------------


def _term_counts(
    vocab: _Vocabulary, doc: _Doc, shown: dict[str, str] | None = None, *, learned: bool = False
) -> dict[str, float]:
    """Sublinear term frequencies of title and text (a title word counts extra).

    Args:
        shown: filled with the first word seen for each term (to show in reasons).
        learned: every word of ``doc`` is known to the vocabulary already.
    """
    if not learned:
        vocab.learn(doc.title_words + doc.body_words)
    get = _KEY_TERMS.get
    title_terms = [t for w in doc.title_words if (t := get(w, ""))]
    if shown is not None:
        for word in doc.title_words + doc.body_words:
            term = get(word, "")
            if term and term not in shown:
                shown[term] = word
    # Counted by word (in C), then by term: several words stem to one term.
    by_term: dict[str, int] = {}
    for word, n in Counter(doc.body_words).items():
        if term := get(word, ""):
            by_term[term] = by_term.get(term, 0) + n
    counts = {t: 1.0 + math.log(n) for t, n in by_term.items()}
    for term in set(title_terms):
        counts[term] = counts.get(term, 0.0) + TITLE_BOOST
    return counts


def _weighted(counts: dict[str, float], idf: dict[str, float]) -> tuple[dict[str, float], float]:
    """A TF-IDF vector and its length."""
    vec = {t: n * idf[t] for t, n in counts.items()}
    return vec, math.sqrt(sum(x * x for x in vec.values())) or 1.0


@dataclass(slots=True)
class _Profile:
    """The open story's TF-IDF vector, and the word shown for each term."""

    vector: dict[str, float]
    norm: float
    shown: dict[str, str]
    findable: set[str]
    """Terms some other story has too (the others can find nothing)."""

    def top(self, count: int) -> list[str]:
        """The most distinctive terms that other stories share, best first."""
        terms = sorted(self.findable, key=lambda t: (-self.vector[t], t))
        return terms[:count]


def _profile(vocab: _Vocabulary, doc: _Doc) -> _Profile:
    shown: dict[str, str] = {}
    counts = _term_counts(vocab, doc, shown)
    idf = vocab.idf(counts)
    vector, norm = _weighted(counts, idf)
    findable = {t for t in vector if vocab.freq.df.get(t, 0) > 1}
    return _Profile(vector=vector, norm=norm, shown=shown, findable=findable)


# -- the three groups ------------------------------------------------------------------------------


def _same_story(
    store: Store, vocab: _Vocabulary, doc: _Doc, profile: _Profile, candidates: dict[int, _Doc]
) -> list[tuple[_Doc, float]]:
    """Stories of other feeds that report the same event, most similar first."""
    own = _event_terms(vocab, doc)
    # The title's distinctive words find the other reports; its common words would only make
    # the query slow (and are in every candidate set anyway).
    title = [t for t in dict.fromkeys(vocab.key_terms(doc.title_words)) if t in profile.findable]
    cap = max(50, vocab.freq.n // 100)
    df = vocab.freq.df
    title = sorted((t for t in title if df.get(t, 0) <= cap), key=lambda t: (df.get(t, 0), t))
    words = [profile.shown[t] for t in title[:TITLE_QUERY_TERMS]]
    ids = store.stories_matching_any(
        words, limit=SAME_STORY_CANDIDATES, title_weight=4.0, titles_only=True
    )
    extra = [i for i in ids if i not in candidates and i != doc.story.id]
    found = _load_docs(store, extra, body_words=LEAD_WORDS * 2) if extra else {}
    pool = [
        c
        for c in [*candidates.values(), *found.values()]
        if c.story.id != doc.story.id and c.story.feed_id != doc.story.feed_id
        if _within_window(doc, c)
    ]
    leads = {c.story.id: _words(c.lead()) for c in pool}
    vocab.learn(set().union(*leads.values()))
    sets = {sid: set(vocab.event_terms(words)) for sid, words in leads.items()}
    idf = vocab.idf(own.union(*sets.values()))
    scored = [(c, _set_similarity(own, sets[c.story.id], idf)) for c in pool]
    same = [(c, s) for c, s in scored if s >= SAME_STORY_THRESHOLD]
    same.sort(key=lambda x: (-x[1], x[0].story.id))
    return same


def _topic_candidates(
    store: Store,
    vocab: _Vocabulary,
    profile: _Profile,
    skip: set[int],
    *,
    more: bool = False,
) -> dict[int, _Doc]:
    """Stories sharing the most distinctive terms, best BM25 first.

    With ``more``, the query takes the next terms down instead: when the top terms are all
    names of one event, they find only its own duplicates.
    """
    ranked = profile.top(2 * QUERY_TERMS)[QUERY_TERMS:] if more else profile.top(QUERY_TERMS)
    # A term in more than one story in fifty finds thousands of rows for BM25 to rank in a
    # big cache (most of the sidebar's time) and tells little about the topic.
    cap = max(50, vocab.freq.n // 50)
    terms = [t for t in ranked if vocab.freq.df.get(t, 0) <= cap] or ranked[:3]
    words = [profile.shown[t] for t in terms]
    ids = store.stories_matching_any(words, limit=TOPIC_CANDIDATES + len(skip))
    return _load_docs(store, [i for i in ids if i not in skip], body_words=CANDIDATE_WORDS)


def _topic(
    vocab: _Vocabulary,
    doc: _Doc,
    profile: _Profile,
    candidates: dict[int, _Doc],
    exclude: set[int],
) -> list[tuple[_Doc, float, list[str]]]:
    """Candidates by TF-IDF cosine to the open story, older ones damped: (doc, score, shared)."""
    pool = [c for c in candidates.values() if c.story.id not in exclude]
    vocab.learn(set().union(*(c.title_words for c in pool), *(c.body_words for c in pool)))
    counts = {c.story.id: _term_counts(vocab, c, learned=True) for c in pool}
    idf = vocab.idf(set().union(*counts.values()))
    t0 = doc.time
    out: list[tuple[_Doc, float, list[str]]] = []
    for c in pool:
        vector, norm = _weighted(counts[c.story.id], idf)
        parts = {t: x * profile.vector[t] for t, x in vector.items() if t in profile.vector}
        if len(parts) < MIN_SHARED_TERMS:
            continue
        score = sum(parts.values()) / (norm * profile.norm)
        if t0 is not None and c.time is not None and c.time < t0:
            age_days = (t0 - c.time) / 86400.0
            score *= 1.0 - AGE_DAMPING * (1.0 - math.exp(-age_days / AGE_SCALE_DAYS))
        if score < MIN_TOPIC_SCORE:
            continue
        shared = sorted(parts, key=lambda t: (-parts[t], t))[:3]
        out.append((c, score, [profile.shown[t] for t in shared]))
    out.sort(key=lambda x: (-x[1], x[0].story.id))
    return out


def _page_links(store: Store, doc: _Doc) -> list[RelatedStory]:
    article = store.article(doc.story.id)
    if article is None or not article.related_links:
        return []
    links = article.related_links
    cached = store.stories_with_link([link.url for link in links])
    stories = {s.id: s for s in store.stories_by_ids(list(dict.fromkeys(cached.values())))}
    out: list[RelatedStory] = []
    seen: set[str] = set()
    for link in links:
        sid = cached.get(link.url)
        if link.url in seen or sid == doc.story.id or link.url == doc.story.link:
            continue
        seen.add(link.url)
        story = stories.get(sid) if sid is not None else None
        out.append(
            RelatedStory(
                group="page",
                title=link.title or (story.title if story else link.url),
                url=link.url,
                story_id=sid,
                source=link.source or (story.feed_title if story else None),
                published=story.published if story else None,
                published_text=link.published,
                reason="linked from this page",
            )
        )
    return out


def _item(group: str, doc: _Doc, score: float, reason: str) -> RelatedStory:
    s = doc.story
    return RelatedStory(
        group=group,
        title=s.title,
        url=s.link,
        story_id=s.id,
        source=s.feed_title,
        published=s.published,
        score=round(score, 4),
        reason=reason,
    )


# -- public API -------------------------------------------------------------------------------------


def related_stories(store: Store, story_id: int, *, limit: int = 10) -> list[RelatedStory]:
    """The sidebar for one story: up to ``limit`` items, grouped "same", "page", "topic".

    Each item appears once (a page link that is also the same event stays in "page"), the open
    story never appears, and "topic" leaves out the open story's same-event duplicates. Up to
    40% of the places go to each of "same" and "page", "topic" gets the rest, and places a
    group leaves unused go to the others.
    """
    if limit <= 0:
        return []
    docs = _load_docs(store, [story_id], body_words=None)
    if story_id not in docs:
        return []
    doc = docs[story_id]
    vocab = _Vocabulary(store)
    profile = _profile(vocab, doc)

    candidates = _topic_candidates(store, vocab, profile, {story_id})
    same = _same_story(store, vocab, doc, profile, candidates)
    page = _page_links(store, doc)
    page_ids = {p.story_id for p in page if p.story_id is not None}
    exclude = {story_id} | {c.story.id for c, _ in same} | page_ids
    if len(candidates.keys() - exclude) < limit:
        candidates.update(
            _topic_candidates(store, vocab, profile, exclude | candidates.keys(), more=True)
        )
    topic = _topic(vocab, doc, profile, candidates, exclude)

    same_score = {c.story.id: s for c, s in same}
    # A page link to the same event stays in "page", and says it is the same event.
    page = [
        replace(p, reason=f"{p.reason}; same event ({same_score[p.story_id]:.2f})")
        if p.story_id in same_score
        else p
        for p in page
    ]
    same_items = [
        _item("same", c, s, f"same event: similar title and lead ({s:.2f})")
        for c, s in same
        if c.story.id not in page_ids
    ]
    topic_items = [_item("topic", c, s, "shared: " + ", ".join(w)) for c, s, w in topic]

    quota = math.ceil(limit * 0.4)
    n_same = min(len(same_items), quota)
    n_page = min(len(page), quota)
    n_topic = min(len(topic_items), limit - n_same - n_page)
    room = limit - n_same - n_page - n_topic
    extra_page = min(room, len(page) - n_page)
    n_page += extra_page
    n_same += min(room - extra_page, len(same_items) - n_same)
    return same_items[:n_same] + page[:n_page] + topic_items[:n_topic]


def similar_stories(
    store: Store, story_id: int, *, limit: int = 10, exclude: Iterable[int] = ()
) -> list[RelatedStory]:
    """The "more on this topic" ranking alone (the open story and ``exclude`` left out)."""
    docs = _load_docs(store, [story_id], body_words=None)
    if story_id not in docs:
        raise NotFoundError(f"no story with id {story_id}")
    doc = docs[story_id]
    vocab = _Vocabulary(store)
    profile = _profile(vocab, doc)
    excluded = {story_id, *exclude}
    candidates = _topic_candidates(store, vocab, profile, excluded)
    if len(candidates.keys() - excluded) < limit:
        candidates.update(
            _topic_candidates(store, vocab, profile, excluded | candidates.keys(), more=True)
        )
    topic = _topic(vocab, doc, profile, candidates, excluded)
    return [_item("topic", c, s, "shared: " + ", ".join(w)) for c, s, w in topic[:limit]]


def same_story_groups(store: Store, story_ids: Sequence[int]) -> dict[int, list[int]]:
    """Fold near-duplicates among ``story_ids``: the same event from different feeds.

    Returns one entry per group of two or more: the group's first id (in the order given) maps
    to all its ids in that order. Ids in no group are left out. Only the given stories are
    compared (a page of the story list), so this costs one query and no per-story search.
    """
    docs = _load_docs(store, list(dict.fromkeys(story_ids)), body_words=LEAD_WORDS * 2)
    if len(docs) < 2:
        return {}
    vocab = _Vocabulary(store)
    order = {sid: i for i, sid in enumerate(dict.fromkeys(story_ids))}
    leads = {sid: _words(d.lead()) for sid, d in docs.items()}
    vocab.learn(set().union(*leads.values()))
    sets = {sid: set(vocab.event_terms(words)) for sid, words in leads.items()}
    idf = vocab.idf(set().union(*sets.values()))
    squares = {sid: {t: idf[t] ** 2 for t in terms} for sid, terms in sets.items()}
    norms = {sid: math.sqrt(sum(sq.values())) or 1.0 for sid, sq in squares.items()}
    # Compare only pairs that share one of their most distinctive words: an inverted index on
    # those keeps this near-linear (two reports of one event share their rare names).
    postings: dict[str, list[int]] = {}
    for sid, terms in sets.items():
        for term in sorted(terms, key=lambda t: (-idf[t], t))[:GROUP_KEY_TERMS]:
            postings.setdefault(term, []).append(sid)
    parent = {sid: sid for sid in docs}

    def root(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    compared: set[tuple[int, int]] = set()
    for ids in postings.values():
        for i, a in enumerate(ids):
            for b in ids[i + 1 :]:
                pair = (a, b) if a < b else (b, a)
                if pair in compared:
                    continue
                compared.add(pair)
                da, db = docs[a], docs[b]
                if da.story.feed_id == db.story.feed_id or not _within_window(da, db):
                    continue
                sq = squares[a]
                shared = sum(sq[t] for t in sets[a] & sets[b])
                if shared / (norms[a] * norms[b]) >= SAME_STORY_THRESHOLD:
                    parent[root(a)] = root(b)
    groups: dict[int, list[int]] = {}
    for sid in docs:
        groups.setdefault(root(sid), []).append(sid)
    out: dict[int, list[int]] = {}
    for members in groups.values():
        if len(members) > 1:
            members.sort(key=order.__getitem__)
            out[members[0]] = members
    return out
