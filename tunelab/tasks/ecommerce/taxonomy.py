"""The Google Product Taxonomy: ids ↔ paths, the tree (parent, children, ancestors, leaves), search by name.

`Taxonomy.load()` reads the copy packaged with TuneLab (version 2021-09-21, 5,595 categories, 21
top-level); any file in the same `ID - Level1 > Level2 > ...` format loads too. Asking for an id the
taxonomy lacks raises `UnknownCategoryError`, which names the id."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

PACKAGED_FILE = "taxonomy-with-ids.en-US.txt"
SEPARATOR = " > "

_LINE = re.compile(r"^(\d+) - (\S.*)$")
_VERSION = re.compile(r"^#\s*Google_Product_Taxonomy_Version:\s*(\S+)")
_WORD = re.compile(r"[^\W_]+")


class TaxonomyError(Exception):
    """A taxonomy file that cannot be read, or a question the taxonomy cannot answer."""


class UnknownCategoryError(TaxonomyError, KeyError):
    """An id (or path) that is not in the taxonomy."""

    def __init__(self, key: object, size: int, version: str | None):
        self.key, self.size, self.version = key, size, version
        super().__init__(key)

    def __str__(self) -> str:  # KeyError would print only repr(key)
        what = f"id {self.key}" if isinstance(self.key, int) and not isinstance(self.key, bool) else repr(self.key)
        if self.version:
            taxonomy = f"the Google Product Taxonomy (version {self.version}, {self.size:,} categories)"
        else:
            taxonomy = f"this taxonomy ({self.size:,} categories)"
        return f"Unknown product category {what}: {taxonomy} has no such category. Find one with Taxonomy.search('words')."


@dataclass(frozen=True)
class Category:
    """One category: its numeric id and its path of names from the top level down."""

    id: int
    path: tuple[str, ...]

    @property
    def name(self) -> str:
        return self.path[-1]

    @property
    def full_path(self) -> str:
        """The path as the file writes it: 'Level1 > Level2 > ...'."""
        return SEPARATOR.join(self.path)

    @property
    def depth(self) -> int:
        """1 for a top-level category."""
        return len(self.path)


def _stem(token: str) -> str:
    """Crude plural folding so 'shoe' finds 'Shoes' and 'shoes' finds 'Shoe Covers'."""
    return token[:-1] if len(token) > 3 and token.endswith("s") and not token.endswith("ss") else token


def _tokens(text: str) -> list[str]:
    return [_stem(t) for t in _WORD.findall(text.lower())]


def _word_in(word: str, words: set[str]) -> bool:
    """A query word matches a word equal to it or, from 3 letters on, one it begins ('lapt' → 'laptop')."""
    return word in words or (len(word) >= 3 and any(t.startswith(word) for t in words))


class Taxonomy:
    """An immutable category tree indexed by id and by full path."""

    def __init__(self, categories: Iterable[Category], version: str | None = None):
        self.version = version
        self._by_id: dict[int, Category] = {}
        self._by_path: dict[tuple[str, ...], int] = {}
        for cat in categories:
            if cat.id in self._by_id:
                first = self._by_id[cat.id].full_path
                raise TaxonomyError(f"Category id {cat.id} appears twice ({first!r} and {cat.full_path!r}).")
            if cat.path in self._by_path:
                raise TaxonomyError(f"Path {cat.full_path!r} appears twice (ids {self._by_path[cat.path]} and {cat.id}).")
            self._by_id[cat.id] = cat
            self._by_path[cat.path] = cat.id
        self._children: dict[int | None, list[int]] = {cat.id: [] for cat in self._by_id.values()}
        self._children[None] = []
        self._parent: dict[int, int | None] = {}
        for cat in self._by_id.values():
            parent = self._by_path.get(cat.path[:-1]) if cat.depth > 1 else None
            if cat.depth > 1 and parent is None:
                missing = SEPARATOR.join(cat.path[:-1])
                raise TaxonomyError(f"Category {cat.id} ({cat.full_path!r}) has no parent category {missing!r}.")
            self._parent[cat.id] = parent
            self._children[parent].append(cat.id)
        # search index: lower-cased name and path, and their token sets
        self._index = [
            (cat, cat.name.lower(), cat.full_path.lower(), _tokens(cat.name), set(_tokens(cat.full_path)))
            for cat in self._by_id.values()
        ]

    # --- loading ---------------------------------------------------------------------------------

    @classmethod
    def load(cls, path: str | Path | None = None) -> Taxonomy:
        """Read a taxonomy file; by default the one packaged in `tunelab.tasks.ecommerce/data/`."""
        if path is None:
            resource = resources.files("tunelab.tasks.ecommerce").joinpath("data", PACKAGED_FILE)
            return cls.parse(resource.read_text(encoding="utf-8"), source=f"packaged {PACKAGED_FILE}")
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as err:
            raise TaxonomyError(f"Cannot read the taxonomy file {path}: {err.strerror or err}.") from err
        return cls.parse(text, source=str(path))

    @classmethod
    def parse(cls, text: str, source: str = "<text>") -> Taxonomy:
        """Parse `ID - Level1 > Level2 > ...` lines; '#' lines are comments (the version header among them)."""
        version, categories = None, []
        for number, line in enumerate(text.splitlines(), start=1):
            line = line.strip()
            if not line:
                continue
            if line.startswith("#"):
                if match := _VERSION.match(line):
                    version = match.group(1)
                continue
            match = _LINE.match(line)
            path = tuple(part.strip() for part in match.group(2).split(SEPARATOR)) if match else ()
            if not match or not all(path):
                raise TaxonomyError(f"{source}, line {number}: expected 'ID - Level1 > Level2 > ...', got {line!r}.")
            categories.append(Category(int(match.group(1)), path))
        if not categories:
            raise TaxonomyError(f"{source} holds no categories.")
        return cls(categories, version)

    # --- lookup ----------------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self._by_id)

    def __iter__(self) -> Iterator[Category]:
        """Categories in file order (each parent before its children)."""
        return iter(self._by_id.values())

    def __contains__(self, category_id: object) -> bool:
        try:
            self.get(category_id)  # type: ignore[arg-type]
        except UnknownCategoryError:
            return False
        return True

    def __repr__(self) -> str:
        return f"Taxonomy(version={self.version!r}, categories={len(self)})"

    def get(self, category_id: int | str) -> Category:
        """The category with this id; a string of digits ('1') is accepted as the id it spells."""
        key = category_id
        if isinstance(key, str) and key.strip().isdigit():
            key = int(key.strip())
        if isinstance(key, bool) or not isinstance(key, int) or key not in self._by_id:
            raise UnknownCategoryError(category_id, len(self), self.version)
        return self._by_id[key]

    def path(self, category_id: int | str) -> str:
        """'Level1 > Level2 > ...' of this id."""
        return self.get(category_id).full_path

    def name(self, category_id: int | str) -> str:
        return self.get(category_id).name

    def depth(self, category_id: int | str) -> int:
        return self.get(category_id).depth

    def id_for_path(self, path: str | Iterable[str]) -> int:
        """The id of a full path, given as 'A > B > C' or as the names ['A', 'B', 'C'] (exact spelling)."""
        parts = path.split(SEPARATOR.strip()) if isinstance(path, str) else list(path)
        key = tuple(p.strip() for p in parts)
        if key not in self._by_path:
            raise UnknownCategoryError(path if isinstance(path, str) else SEPARATOR.join(key), len(self), self.version)
        return self._by_path[key]

    # --- tree ------------------------------------------------------------------------------------

    def parent(self, category_id: int | str) -> int | None:
        """The parent's id, None for a top-level category."""
        return self._parent[self.get(category_id).id]

    def children(self, category_id: int | str) -> list[int]:
        """Ids of the direct children, in file order ([] for a leaf)."""
        return list(self._children[self.get(category_id).id])

    def ancestors(self, category_id: int | str, include_self: bool = False) -> list[int]:
        """Ids from the top level down to the parent (and the category itself if include_self).

        Pass `taxonomy.ancestors` as the `ancestors` argument of the hierarchical F1 metric."""
        cat = self.get(category_id)
        ids = [self._by_path[cat.path[:n]] for n in range(1, cat.depth)]
        return [*ids, cat.id] if include_self else ids

    def descendants(self, category_id: int | str) -> list[int]:
        """Ids of every category below this one, depth first in file order."""
        out: list[int] = []
        stack = list(reversed(self.children(category_id)))
        while stack:
            current = stack.pop()
            out.append(current)
            stack.extend(reversed(self._children[current]))
        return out

    def is_leaf(self, category_id: int | str) -> bool:
        return not self._children[self.get(category_id).id]

    def leaves(self) -> list[int]:
        """Ids of the categories with no children, in file order."""
        return [cid for cid in self._by_id if not self._children[cid]]

    def top_level(self) -> list[int]:
        """Ids of the top-level categories, in file order (21 in the Google taxonomy)."""
        return list(self._children[None])

    # --- search ----------------------------------------------------------------------------------

    def search(self, query: str, limit: int | None = 10) -> list[Category]:
        """Categories matching `query` (case-insensitive), best first.

        Ranking tiers: (0) the name equals the query, or has the same words; (1) the name starts
        with it; (2) the name contains it; (3) every query word is a word of the name; (4) the full
        path contains the query; (5) every query word is in the path; (6) some query words are in
        the path, more first. Within a tier shallower categories come first, then shorter paths.
        Words fold a plural 's', and a query word of 3+ letters also matches words it begins
        ('lapt' → 'Laptops'). `limit=None` returns every match."""
        q = " ".join(query.lower().split())
        query_words = _tokens(q)
        words = set(query_words)
        if not q:
            raise ValueError("search needs a non-empty query.")
        ranked = []
        for cat, name, full, name_list, path_words in self._index:
            name_words = set(name_list)
            in_name = sum(_word_in(w, name_words) for w in words)
            in_path = sum(_word_in(w, path_words) for w in words)
            if name == q or (query_words and name_list == query_words):
                tier = 0
            elif name.startswith(q):
                tier = 1
            elif q in name:
                tier = 2
            elif words and in_name == len(words):
                tier = 3
            elif q in full:
                tier = 4
            elif words and in_path == len(words):
                tier = 5
            elif in_path:
                tier = 6
            else:
                continue
            ranked.append(((tier, -in_path, -in_name, cat.depth, len(full), cat.id), cat))
        ranked.sort(key=lambda pair: pair[0])
        hits = [cat for _, cat in ranked]
        return hits if limit is None else hits[:limit]
