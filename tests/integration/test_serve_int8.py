"""`tunelab serve --quantize int8` as a client sees it: a real server on loopback serving the tiny
model in int8 with a LoRA adapter says so in /v1/models and /v1/system, and answers exactly what
the library's own generation gives on an int8 copy of the model with that adapter, also when base
and adapter requests run together in one batch."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import httpx
import openai
import pytest
from serve_harness import ServerThread, make_lora

from tunelab.adapters import AdapterRegistry
from tunelab.engine.generation import SamplingParams, generate_text
from tunelab.models.catalogue import Catalogue
from tunelab.models.loader import LoadedModel, load_model
from tunelab.models.peft_loading import attach_adapters
from tunelab.serve.app import create_app
from tunelab.settings import Settings
from tunelab.store import Store

MESSAGES = [{"role": "user", "content": "Describe a good pair of running shoes."}]


@pytest.fixture(scope="module")
def served(tmp_path_factory, tiny_model_dir):
    home = tmp_path_factory.mktemp("serve-int8") / "home"
    settings = Settings(home=home, hub_offline=True, quantize="int8")
    store = Store(settings)
    Catalogue(store).add("tiny", str(tiny_model_dir))
    lora = make_lora(tiny_model_dir, home / "loras" / "shop", seed=1)
    AdapterRegistry(store, settings).register("shop", kind="lora", path=lora, base_model="tiny")
    server = ServerThread(create_app(settings, model="tiny", embeddings=False))
    refs = {}
    for name in (None, "shop"):
        loaded = load_model("tiny", settings, store=store, quantization="int8")
        if name:
            loaded = LoadedModel(spec=loaded.spec, model=attach_adapters(loaded, {"ref": lora}),
                                 tokenizer=loaded.tokenizer, path=loaded.path, device=loaded.device)
        refs[name] = loaded
    server.refs = refs
    yield server
    server.stop()
    store.dispose()


def reference(served, adapter: str | None, max_tokens: int) -> str:
    ref = served.refs[adapter]
    ids = ref.tokenizer(ref.chat_prompt(MESSAGES), add_special_tokens=False)["input_ids"]
    return generate_text(ref, ids, SamplingParams(max_tokens=max_tokens, temperature=0)).text


def test_models_and_system_say_the_base_is_int8(served):
    models = httpx.get(served.v1 + "/models", timeout=30).json()["data"]
    by_id = {m["id"]: m for m in models}
    assert by_id["tiny"]["tunelab_quantization"] == "int8" and by_id["tiny"]["tunelab_kind"] == "base"
    assert by_id["shop"]["tunelab_quantization"] == "int8" and by_id["shop"]["parent"] == "tiny"
    system = httpx.get(served.v1 + "/system", timeout=30).json()
    assert system["quantization"] == "int8" and system["dtype"] == "float32"


def test_base_and_adapter_together_answer_what_each_gives_alone_on_int8(served):
    client = openai.OpenAI(base_url=served.v1, api_key="not-needed", max_retries=0, timeout=60)
    want = {a: reference(served, a, 16) for a in (None, "shop")}
    assert want[None] != want["shop"]  # the adapter changes the answer

    def ask(model: str) -> str:
        r = client.chat.completions.create(model=model, messages=MESSAGES, max_tokens=16, temperature=0)
        return r.choices[0].message.content

    with ThreadPoolExecutor(6) as pool:
        got = list(pool.map(ask, ["tiny", "shop"] * 3))
    assert got == [want[None], want["shop"]] * 3
