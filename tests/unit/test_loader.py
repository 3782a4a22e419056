import shutil
import time

import pytest

from tunelab.models.catalogue import Catalogue
from tunelab.models.errors import HubUnreachableError, ModelSourceError
from tunelab.models.loader import load_model
from tunelab.settings import Settings


def test_loads_folder_in_eval_mode(tiny):
    assert tiny.name == "tiny" and not tiny.model.training
    assert tiny.device.type == "cpu"
    assert tiny.eos_token_ids == {tiny.tokenizer.convert_tokens_to_ids("<|im_end|>")}


def test_folder_removed_after_registration(settings, store, tiny_model_dir, tmp_path):
    copy = shutil.copytree(tiny_model_dir, tmp_path / "copy")
    Catalogue(store).add("moved", str(copy))
    shutil.rmtree(copy)
    with pytest.raises(ModelSourceError, match=r"copy \(model 'moved'\) does not exist"):
        load_model("moved", settings, store=store)


def test_hub_offline_fails_fast_with_advice(settings, store):
    Catalogue(store).add("remote", "some-org/some-model")
    start = time.monotonic()
    with pytest.raises(HubUnreachableError, match="tunelab models add remote-local"):
        load_model("remote", settings, store=store)
    assert time.monotonic() - start < 5


def test_unreachable_hub_names_the_cause(home, store, monkeypatch):
    # The hub is the world outside: simulate it refusing connections.
    import huggingface_hub

    def refuse(self, repo_id, **kw):
        raise ConnectionError("Name or service not known")

    monkeypatch.setattr(huggingface_hub.HfApi, "model_info", refuse)
    Catalogue(store).add("remote", "some-org/some-model")
    with pytest.raises(HubUnreachableError, match="unreachable for 'some-org/some-model'.*Name or service"):
        load_model("remote", Settings(hub_offline=False), store=store)
