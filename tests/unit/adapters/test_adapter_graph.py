"""The registry's lineage graph: base -> SFT -> DPO -> merges, from what training and merging record."""

from datetime import datetime, timedelta

from tunelab.adapters.graph import lineage_graph, made_by
from tunelab.adapters.registry import AdapterInfo

T0 = datetime(2026, 1, 1)


def info(name, minutes, lineage=None, base="tiny", kind="lora"):
    return AdapterInfo(name=name, kind=kind, path="/x", base_model=base, lineage=lineage or {},
                       created_at=T0 + timedelta(minutes=minutes))


def test_training_merging_and_adding_give_the_edges_and_kinds():
    adapters = [
        info("merged", 3, {"parents": ["sft", "dpo"], "method": "dare_ties", "weights": [0.6, 0.4]}),
        info("dpo", 2, {"recipe": "dpo", "parents": ["sft"]}),
        info("sft", 1, {"recipe": "sft", "config": {"method": "full"}}, kind="full"),
        info("cls", 4, {"recipe": "classifier"}, base="minilm", kind="classifier"),
        info("added", 5),
    ]
    g = lineage_graph(adapters)
    assert [(n.id, n.type, n.made_by, n.method) for n in g.nodes] == [
        ("minilm", "base", None, None), ("tiny", "base", None, None),
        ("sft", "adapter", "sft", "full"), ("dpo", "adapter", "dpo", None),
        ("merged", "adapter", "merge", "dare_ties"), ("cls", "adapter", "classifier", None),
        ("added", "adapter", "registered", None)]
    assert [(e.source, e.target, e.relation, e.weight) for e in g.edges] == [
        ("tiny", "sft", "sft", None), ("sft", "dpo", "dpo", None), ("sft", "merged", "merge", 0.6),
        ("dpo", "merged", "merge", 0.4), ("minilm", "cls", "classifier", None), ("tiny", "added", "registered", None)]


def test_a_parent_no_longer_registered_is_a_missing_node_once():
    g = lineage_graph([info("m1", 1, {"parents": ["gone", "kept"], "method": "linear", "weights": [1, "x"]}),
                       info("m2", 2, {"parents": ["gone", "m1"], "method": "cat"}), info("kept", 0)])
    assert [n.id for n in g.nodes if n.type == "missing"] == ["gone"]
    assert [(e.source, e.target, e.weight) for e in g.edges if e.target == "m1"] == [("gone", "m1", 1.0), ("kept", "m1", None)]
    assert {e.source for e in g.edges} <= {n.id for n in g.nodes}  # no edge dangles


def test_dpo_from_the_bare_base_hangs_off_the_base_and_an_empty_registry_is_empty():
    assert made_by(info("d", 0, {"recipe": "dpo", "parents": []})) == "dpo"
    g = lineage_graph([info("d", 0, {"recipe": "dpo", "parents": []})])
    assert [(e.source, e.target) for e in g.edges] == [("tiny", "d")]
    assert made_by(info("m", 0, {"method": "linear"})) == "registered"  # a method without parents is no merge
    empty = lineage_graph([])
    assert empty.nodes == [] and empty.edges == []
