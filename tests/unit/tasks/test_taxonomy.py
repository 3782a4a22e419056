"""The packaged Google Product Taxonomy: size, known paths, tree consistency, search, errors."""

from __future__ import annotations

import pytest

from tunelab.eval.metrics import hierarchical_prf
from tunelab.tasks.ecommerce.taxonomy import Category, Taxonomy, TaxonomyError, UnknownCategoryError

DOG_FOOD = "Animals & Pet Supplies > Pet Supplies > Dog Supplies > Dog Food"


@pytest.fixture(scope="module")
def tax() -> Taxonomy:
    return Taxonomy.load()


def test_packaged_file_loads_whole(tax):
    assert len(tax) == 5595
    assert tax.version == "2021-09-21"
    assert len(list(tax)) == 5595
    assert max(cat.depth for cat in tax) == 7


def test_top_level_categories(tax):
    top = tax.top_level()
    assert len(top) == 21
    assert top[0] == 1 and tax.get(1) == Category(1, ("Animals & Pet Supplies",))
    assert tax.name(top[-1]) == "Vehicles & Parts"
    assert all(tax.parent(cid) is None and tax.depth(cid) == 1 for cid in top)


def test_known_category(tax):
    assert tax.path(1) == "Animals & Pet Supplies"
    assert tax.path(3) == "Animals & Pet Supplies > Pet Supplies > Bird Supplies"
    assert tax.name(3) == "Bird Supplies" and tax.depth(3) == 3
    assert tax.parent(3) == 2 and tax.parent(2) == 1
    assert tax.ancestors(3) == [1, 2]
    assert tax.ancestors(3, include_self=True) == [1, 2, 3]
    assert tax.ancestors(1) == []
    assert tax.children(1) == [3237, 2]  # Live Animals, Pet Supplies, in file order
    assert tax.get("3") == tax.get(3)  # ids as model output text
    assert "3" in tax and 3 in tax and 999_999 not in tax and "x" not in tax


def test_parent_children_consistency(tax):
    child_count = 0
    for cat in tax:
        parent = tax.parent(cat.id)
        if parent is None:
            assert cat.depth == 1
        else:
            assert cat.id in tax.children(parent)
            assert tax.get(parent).path == cat.path[:-1]
            assert tax.depth(parent) == cat.depth - 1
        for child in tax.children(cat.id):
            assert tax.parent(child) == cat.id
        child_count += len(tax.children(cat.id))
        assert tax.ancestors(cat.id) == [tax.id_for_path(cat.path[:n]) for n in range(1, cat.depth)]
        assert tax.id_for_path(cat.full_path) == cat.id
    assert child_count + 21 == 5595  # every category but the top level is someone's child


def test_leaves_and_descendants(tax):
    leaves = tax.leaves()
    assert set(leaves) == {cat.id for cat in tax if not tax.children(cat.id)}
    assert all(tax.is_leaf(cid) for cid in leaves)
    assert not tax.is_leaf(1)
    below_animals = tax.descendants(1)
    assert len(below_animals) == len({c.id for c in tax if c.path[0] == "Animals & Pet Supplies"}) - 1
    assert all(1 in tax.ancestors(cid) for cid in below_animals)
    assert sum(len(tax.descendants(cid)) + 1 for cid in tax.top_level()) == 5595


def test_search_ranks_exact_names_first(tax):
    assert [c.full_path for c in tax.search("dog food", limit=1)] == [DOG_FOOD]
    assert tax.search("DOG FOOD")[0].full_path == DOG_FOOD  # case-insensitive
    assert tax.search("food dog")[0].full_path == DOG_FOOD  # words in any order
    assert tax.search("shoe")[0].full_path == "Apparel & Accessories > Shoes"  # plural folded
    assert tax.search("mobile phone")[0].name == "Mobile Phones"
    assert tax.search("lapt")[0].name == "Laptops"  # word prefix
    hits = tax.search("coffee", limit=None)
    assert len(hits) > 10 and all("coffee" in c.full_path.lower() for c in hits)
    assert len(tax.search("coffee", limit=3)) == 3
    assert tax.search("xyzzy") == []
    with pytest.raises(ValueError, match="non-empty"):
        tax.search("  ")


def test_unknown_id_names_the_id(tax):
    with pytest.raises(UnknownCategoryError, match="id 999999") as err:
        tax.get(999999)
    assert isinstance(err.value, KeyError)
    assert "5,595 categories" in str(err.value) and "search" in str(err.value)
    for call in (tax.path, tax.parent, tax.children, tax.ancestors, tax.name):
        with pytest.raises(UnknownCategoryError, match="999999"):
            call(999999)
    with pytest.raises(UnknownCategoryError, match="'Shoes'"):
        tax.get("Shoes")
    with pytest.raises(UnknownCategoryError, match="'Animals & Pet Supplies > Cats'"):
        tax.id_for_path("Animals & Pet Supplies > Cats")


def test_parse_and_load_files(tmp_path):
    text = "# Google_Product_Taxonomy_Version: test\n10 - A\n11 - A > B\n\n12 - A > B > C\n"
    small = Taxonomy.parse(text)
    assert (len(small), small.version, small.ancestors(12), small.leaves()) == (3, "test", [10, 11], [12])
    path = tmp_path / "tax.txt"
    path.write_text(text, encoding="utf-8")
    assert len(Taxonomy.load(path)) == 3
    with pytest.raises(TaxonomyError, match="line 2: expected 'ID - Level1 > Level2"):
        Taxonomy.parse("# header\nA > B\n")
    with pytest.raises(TaxonomyError, match="has no parent category 'A > X'"):
        Taxonomy.parse("1 - A\n2 - A > X > Y\n")
    with pytest.raises(TaxonomyError, match="id 1 appears twice"):
        Taxonomy.parse("1 - A\n1 - B\n")
    with pytest.raises(TaxonomyError, match="Cannot read the taxonomy file"):
        Taxonomy.load(tmp_path / "missing.txt")


def test_taxonomy_ancestors_drive_hierarchical_f1(tax):
    # predicted Bird Supplies (3), true Pet Supplies (2): P̂ = {1, 2, 3}, R̂ = {1, 2}
    # hP = 2/3, hR = 2/2 = 1, hF = 2·(2/3)·1 / (2/3 + 1) = 4/5
    assert hierarchical_prf([3], [2], tax.ancestors) == pytest.approx((2 / 3, 1.0, 0.8))
