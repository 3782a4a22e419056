"""Candidate categories of a product text by words (BM25): each category is a short document of its
own name (weighted twice), its ancestors' names and the synonyms `category_aliases` lists for it,
so "Anker 10000mAh power bank" finds Batteries through its aliases and "Kitchen Knives" through its
name, where an embedding of the whole listing may drift to another branch.

Words are lower-cased, English stopwords dropped (bm25s's list, as `tunelab.rag.bm25` does; rag
imports tasks, so tasks cannot import it back) and plurals folded ('knives' and 'knife' are one
word; 'batteries', 'battery'), for the documents and the queries alike. The index is a `bm25s.BM25`,
the library the RAG search uses."""

from __future__ import annotations

import functools
import re
import weakref
from collections.abc import Mapping, Sequence

from tunelab.tasks.ecommerce.category_aliases import ALIASES
from tunelab.tasks.ecommerce.taxonomy import Taxonomy

NAME_WEIGHT = 2  # the category's own name counts this many times against one mention of each ancestor

_IRREGULAR = {"knives": "knife", "shelves": "shelf", "leaves": "leaf", "wolves": "wolf", "halves": "half",
              "lenses": "lens", "men": "man", "women": "woman", "children": "child", "feet": "foot",
              "teeth": "tooth", "mice": "mouse", "geese": "goose", "dice": "die", "tyres": "tire", "tyre": "tire",
              "jewellery": "jewelry", "colour": "color", "colours": "color"}
_WORD = re.compile(r"\w+", re.UNICODE)


def fold(word: str) -> str:
    """One form for a word's singular and plural: 'batteries' -> 'battery', 'watches' -> 'watch',
    'shoes' -> 'shoe', 'knives' -> 'knife'; words ending in ss/us/is stay ('glass', 'cactus')."""
    w = word.lower()
    if w in _IRREGULAR:
        return _IRREGULAR[w]
    if len(w) > 4 and w.endswith("ies"):
        return w[:-3] + "y"
    if len(w) > 4 and w.endswith(("ches", "shes", "sses", "xes", "zes")):
        return w[:-2]
    if len(w) > 3 and w.endswith("s") and not w.endswith(("ss", "us", "is")):
        return w[:-1]
    return w


@functools.lru_cache(maxsize=1)
def _stopwords() -> frozenset[str]:
    from bm25s.stopwords import STOPWORDS_EN  # lazy: bm25s is slow to import

    return frozenset(STOPWORDS_EN)


def words(text: str) -> str:
    """`text` as the index reads it: folded words, stopwords and single letters (the s of "men's") out,
    space-separated."""
    stop = _stopwords()
    return " ".join(fold(w) for w in _WORD.findall(text.lower()) if w not in stop and (len(w) > 1 or w.isdigit()))


def category_document(taxonomy: Taxonomy, category_id: int, aliases: Mapping[str, str]) -> str:
    """The words a category is found by: its name `NAME_WEIGHT` times, each ancestor's name, its aliases."""
    cat = taxonomy.get(category_id)
    parts = [cat.name] * NAME_WEIGHT + list(cat.path[:-1]) + [aliases.get(cat.full_path, "")]
    return words(" ".join(parts))


def title_of(text: str) -> str:
    """The first non-empty line of a listing text (`Product.text()` puts the title there)."""
    return next((line for line in text.splitlines() if line.strip()), "")


_BUILT: weakref.WeakKeyDictionary[Taxonomy, CategoryBM25] = weakref.WeakKeyDictionary()


class CategoryBM25:
    """BM25 over a taxonomy's categories (built in about a second for the 5,595 Google categories;
    `for_taxonomy` builds it once per taxonomy object)."""

    def __init__(self, taxonomy: Taxonomy, aliases: Mapping[str, str] | None = None) -> None:
        import bm25s  # lazy: bm25s is slow to import

        self.taxonomy = taxonomy
        self.aliases = dict(ALIASES if aliases is None else aliases)
        self.ids = [c.id for c in taxonomy]  # document i is category ids[i]
        docs = [category_document(taxonomy, cid, self.aliases).split() for cid in self.ids]
        self.retriever = bm25s.BM25()
        # a category whose every word is a stopword still needs a token so positions stay aligned
        self.retriever.index([d or ["\u2205"] for d in docs], show_progress=False)

    @classmethod
    def for_taxonomy(cls, taxonomy: Taxonomy) -> CategoryBM25:
        """The index of `taxonomy` with the packaged aliases, built on first use and kept while the
        taxonomy object lives."""
        built = _BUILT.get(taxonomy)
        if built is None:
            built = _BUILT[taxonomy] = cls(taxonomy)
        return built

    def __len__(self) -> int:
        return len(self.ids)

    def search(self, text: str, n: int = 10) -> list[tuple[int, float]]:
        """Up to `n` categories sharing a word with the title of `text` (its first non-empty line: a
        listing's description and bullets add more noise than signal to word matching), best BM25
        score first: (category id, score)."""
        return self.search_many([text], n)[0]

    def search_many(self, texts: Sequence[str], n: int = 10) -> list[list[tuple[int, float]]]:
        """`search` for many texts."""
        if n < 1:
            raise ValueError(f"n must be at least 1, got {n}.")
        queries = [words(title_of(t)).split() for t in texts]
        out: list[list[tuple[int, float]]] = [[] for _ in texts]
        asked = [i for i, q in enumerate(queries) if q]
        if not asked:
            return out
        docs, scores = self.retriever.retrieve([queries[i] for i in asked], k=min(n, len(self.ids)),
                                               show_progress=False, n_threads=1)
        for row, i in enumerate(asked):
            out[i] = [(self.ids[int(d)], float(s)) for d, s in zip(docs[row], scores[row]) if s > 0]
        return out
