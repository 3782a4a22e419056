"""Job inputs checked on submit: an export without a folder goes under the home dir, and an eval
whose gate cannot be parsed is refused naming the field, before anything is queued."""

import pytest

from tunelab.jobs.kinds import JobConfigError, validate


def test_export_folder_defaults_under_the_home(settings):
    assert validate("export", {"adapter": "shop"}, settings)["out"] == str(settings.home / "exports" / "shop")
    merged = validate("export", {"adapter": "shop", "merged": True}, settings)
    assert merged["out"] == str(settings.home / "exports" / "shop-merged")
    assert validate("export", {"adapter": "shop", "out": "/srv/x"}, settings)["out"] == "/srv/x"
    with pytest.raises(JobConfigError, match="export job: out:") as err:
        validate("export", {"adapter": "shop", "out": ""}, settings)
    assert err.value.field == "out"


def test_eval_gate_that_cannot_be_parsed_names_the_gate_field(settings):
    with pytest.raises(JobConfigError, match="ends too early") as err:
        validate("eval", {"eval": {"task": "qa", "models": ["tiny"], "gate": ["f1 >= "]}}, settings)
    assert err.value.field == "gate"
    ok = validate("eval", {"eval": {"task": "qa", "models": ["tiny"], "gate": ["f1 >= baseline"]}}, settings)
    assert ok["eval"]["gate"] == ["f1 >= baseline"]
