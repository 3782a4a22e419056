import pytest
from pg_support import settings_on_each_backend, store_on_each_backend  # noqa: F401 - fixtures: SQLite, then PostgreSQL

from tunelab.models.catalogue import BUILTIN_MODELS, Catalogue, infer_source
from tunelab.models.chat_templates import CHATML
from tunelab.models.errors import ModelSourceError, UnknownModelError


def test_builtin_default_is_listed(store):
    names = Catalogue(store).names()
    assert names[0] == "smollm2-135m-instruct"
    assert Catalogue(store).get("smollm2-135m-instruct").kind == "packaged"


def test_add_folder_gguf_and_hub(store, tiny_model_dir, tmp_path):
    gguf = tmp_path / "m.gguf"
    gguf.write_bytes(b"GGUF" + b"\0" * 16)
    cat = Catalogue(store)
    assert cat.add("f", str(tiny_model_dir)).kind == "folder"
    assert cat.add("g", str(gguf)).kind == "gguf"
    assert cat.add("h", "HuggingFaceTB/SmolLM2-135M-Instruct").kind == "hub"
    assert cat.names() == ["smollm2-135m-instruct", "f", "g", "h"]
    assert cat.get("f").source == str(tiny_model_dir.resolve())


def test_unknown_model_lists_known_ones(store):
    Catalogue(store).add("mine", "org/mine")
    with pytest.raises(UnknownModelError) as err:
        Catalogue(store).get("nope")
    assert "Unknown model 'nope'" in str(err.value)
    assert "smollm2-135m-instruct, mine" in str(err.value)


def test_duplicate_and_bad_names_are_refused(store):
    cat = Catalogue(store)
    cat.add("a", "org/a")
    with pytest.raises(ValueError, match="already exists"):
        cat.add("a", "org/b")
    with pytest.raises(ValueError, match="already exists"):
        cat.add("smollm2-135m-instruct", "org/b")
    with pytest.raises(ValueError, match="must be 1-128"):
        cat.add("bad name!", "org/b")


def test_remove(store):
    cat = Catalogue(store)
    cat.add("gone", "org/gone")
    cat.remove("gone")
    assert "gone" not in cat.names()
    with pytest.raises(UnknownModelError):
        cat.remove("gone")
    with pytest.raises(ValueError, match="built in"):
        cat.remove("smollm2-135m-instruct")


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda p: p / "missing.gguf", "does not exist"),
        (lambda p: (p / "bad.gguf").write_text("hello") and p / "bad.gguf", "is not a GGUF file"),
        (lambda p: (p / "empty").mkdir() or p / "empty", "has no config.json"),
        (lambda p: (p / "x.bin").write_text("x") and p / "x.bin", "neither a model folder"),
        (lambda p: "not a hub id", "not an existing folder"),
    ],
)
def test_bad_sources_say_which_file_and_why(tmp_path, make, message):
    source = make(tmp_path)
    with pytest.raises(ModelSourceError, match=message) as err:
        infer_source(str(source))
    if not isinstance(source, str):
        assert str(source.name) in str(err.value)


def test_chat_template_argument(store, tmp_path):
    cat = Catalogue(store)
    assert cat.add("a", "org/a", chat_template="chatml").chat_template == "chatml"
    jinja = tmp_path / "t.jinja"
    jinja.write_text(CHATML)
    assert cat.add("b", "org/b", chat_template=str(jinja)).chat_template == CHATML
    with pytest.raises(ValueError, match="neither a built-in"):
        cat.add("c", "org/c", chat_template="nonesuch")


def test_builtins_cannot_be_shadowed():
    assert all(spec.builtin for spec in BUILTIN_MODELS.values())
