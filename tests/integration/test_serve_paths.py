"""No request parameter reaches outside the home dir and TUNELAB_ALLOWED_PATHS: every path field of
every route that takes one (each job kind's config, a recipe to validate, a DPO job from feedback)
is tried with `..`, an absolute path and a symlink out of the home; each is a 403 naming the field,
and paths inside are accepted, resolved."""

from __future__ import annotations

import httpx
import pytest
from serve_harness import ServerThread

from tunelab.models.catalogue import Catalogue
from tunelab.serve.allowed_paths import JOB_PATHS, RECIPE_PATHS, WRITE
from tunelab.serve.app import create_app
from tunelab.settings import Settings
from tunelab.store import Store


@pytest.fixture(scope="module")
def server(tmp_path_factory, tiny_model_dir):
    root = tmp_path_factory.mktemp("paths")
    home, allowed, outside = root / "home", root / "allowed", root / "outside"
    for d in (home, allowed, outside):
        d.mkdir()
    (outside / "secret.jsonl").write_text('{"text": "not yours"}\n')
    (allowed / "data.jsonl").write_text('{"text": "fine"}\n')
    (home / "escape").symlink_to(outside)  # inside by name, outside by target
    settings = Settings(home=home, hub_offline=True, allowed_paths=f"{allowed}:{root / 'also'}")
    store = Store(settings)
    Catalogue(store).add("tiny", str(tiny_model_dir))
    srv = ServerThread(create_app(settings, model="tiny", engine="sequential", embeddings=False, workers=0))
    srv.home, srv.allowed, srv.outside = home, allowed, outside
    yield srv
    srv.stop()
    store.dispose()


def attacks(server) -> dict[str, str]:
    secret = server.outside / "secret.jsonl"
    return {"dotdot": "../" * 12 + str(secret).lstrip("/"), "absolute": str(secret),
            "symlink": str(server.home / "escape" / "secret.jsonl")}


def nest(dotted: str, value) -> dict:
    *parents, leaf = dotted.split(".")
    out = node = {}
    for part in parents:
        node[part] = {}
        node = node[part]
    node[leaf] = value
    return out


JOB_FIELDS = [(kind, field) for kind, fields in JOB_PATHS.items() for field in fields]
LIST_FIELDS = {"sources", "eval.predictions", "eval_after.predictions"}


@pytest.mark.parametrize(("kind", "field"), JOB_FIELDS)
def test_every_job_path_field_refuses_paths_out_of_the_home(server, kind, field):
    v1 = httpx.Client(base_url=server.v1, timeout=30)
    for how, bad in attacks(server).items():
        value = [bad] if field.split(".")[-1] in {f.split(".")[-1] for f in LIST_FIELDS} else bad
        r = v1.post("/jobs", json={"kind": kind, "config": nest(field, value)})
        err = r.json()["error"]
        assert r.status_code == 403, (how, r.text)
        assert err["code"] == "path_not_allowed" and err["param"].startswith(f"config.{field}"), how
        assert "outside the folders" in err["message"]
    assert v1.get("/jobs").json()["total"] == 0  # nothing was queued


def test_paths_inside_the_home_or_an_allowed_folder_are_accepted_resolved(server):
    v1 = httpx.Client(base_url=server.v1, timeout=30)
    for out in (server.allowed / "exports" / "a", server.home / "exports" / "sub" / ".." / "b"):
        job = v1.post("/jobs", json={"kind": "export", "config": {"adapter": "some", "out": str(out)}})
        assert job.status_code == 201, job.text
        assert job.json()["config"]["out"] == str(out.resolve())
    ingest = v1.post("/jobs", json={"kind": "ingest", "config": {
        "sources": [str(server.allowed / "data.jsonl"), "https://example.com/page"], "collection": "c"}})
    assert ingest.status_code == 201 and ingest.json()["config"]["sources"][1] == "https://example.com/page"
    named = v1.post("/recipes/validate", json={"recipe": {"dataset": "a-registered-name", "base_model": "tiny"}})
    assert named.status_code == 200  # a bare name is a name, not a path


@pytest.mark.parametrize("field", sorted(RECIPE_PATHS))
def test_recipe_validation_and_dpo_from_feedback_refuse_them_too(server, field):
    v1 = httpx.Client(base_url=server.v1, timeout=30)
    for how, bad in attacks(server).items():
        if RECIPE_PATHS[field] == "uri":
            bad = "file://" + str((server.home / bad).resolve() if how == "dotdot" else bad)
        r = v1.post("/recipes/validate", json={"recipe": {"dataset": "x", field: bad}})
        assert r.status_code == 403 and r.json()["error"]["param"] == f"recipe.{field}", (how, r.text)
        dpo = v1.post("/feedback/train-dpo", json={"dataset": "prefs", "name": "new", "recipe": {field: bad}})
        assert dpo.status_code == 403 and dpo.json()["error"]["param"] == f"recipe.{field}", (how, dpo.text)
    held_out = v1.post("/feedback/train-dpo", json={"dataset": "prefs", "name": "new",
                                                   "eval_dataset": attacks(server)["absolute"]})
    assert held_out.status_code == 403 and held_out.json()["error"]["param"] == "eval_dataset"


def test_write_fields_are_always_paths(server):
    assert JOB_PATHS["export"]["out"] == WRITE
    v1 = httpx.Client(base_url=server.v1, timeout=30)
    r = v1.post("/jobs", json={"kind": "export", "config": {"adapter": "a", "out": "not-yet-there"}})
    assert r.status_code == 403  # relative to the server's working directory, which is not its home
