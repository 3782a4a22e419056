"""Key scopes: every route of the app has a decision in the one table (or is one of the routes any
key may call); keys are made with scopes and limits (library and CLI); migration 0009 turns the old
admin flag into scopes; the token buckets give the wait the refill needs."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from tunelab.cli import keys as keys_cli
from tunelab.serve.app import create_app
from tunelab.serve.auth import ApiKeys
from tunelab.serve.errors import RateLimitError
from tunelab.serve.rate_limits import Limits, RateLimiter, TokenBucket
from tunelab.serve.scopes import ADMIN, INFER, TRAIN, allows, parse_scopes, scope_for
from tunelab.settings import Settings
from tunelab.store import Store

OPEN = {"/health", "/metrics", "/v1/system", "/v1/models", "/v1/models/{model}", "/v1/adapters",
        "/v1/adapters/{name}"}  # read-only: any valid key


def test_every_route_has_a_scope_or_is_a_read_only_one(tmp_path):
    app = create_app(Settings(home=tmp_path / "home"), embeddings=False)
    api = [p for p in app.openapi()["paths"] if p.startswith(("/v1", "/health", "/metrics"))]
    assert len(api) > 40
    undecided = sorted(p for p in api if scope_for(p) is None and p not in OPEN)
    assert undecided == []
    assert scope_for("/v1/keys/bob/revoke") == ADMIN and scope_for("/v1/jobs/j1/events") == TRAIN
    assert scope_for("/v1/feedback/train-dpo") == TRAIN and scope_for("/v1/feedback/abc") == INFER
    assert scope_for("/v1/chat/completions") == INFER and scope_for("/v1/chatter") is None  # whole segments
    assert allows([ADMIN], TRAIN) and allows([INFER], None) and not allows([INFER], TRAIN)


def test_keys_have_scopes_and_limits(store):
    keys = ApiKeys(store)
    keys.create("plain")
    keys.create("reader", scopes=["infer"], rpm=60, tpm=20000)
    keys.create("ops", admin=True)
    got = {k.name: (k.scopes, k.rpm, k.tpm, k.admin) for k in keys.list()}
    assert got == {"plain": (("train", "infer"), None, None, False), "reader": (("infer",), 60, 20000, False),
                   "ops": (("admin",), None, None, True)}
    with pytest.raises(ValueError, match="Unknown scope 'root'"):
        keys.create("x", scopes=["root"])
    with pytest.raises(ValueError, match="rpm must be 0"):
        keys.create("y", rpm=-1)
    assert parse_scopes(["Infer", "train", "infer"]) == ("train", "infer")


def test_cli_creates_keys_with_scopes_and_limits(store):
    runner = CliRunner()  # the `home` fixture (under `store`) points the CLI at the same store
    made = runner.invoke(keys_cli.app, ["create", "bot", "--scope", "infer", "--scope", "train", "--rpm", "60",
                                        "--tpm", "20000"], catch_exceptions=False)
    assert made.exit_code == 0 and "scopes: train, infer" in made.output
    row = next(line for line in runner.invoke(keys_cli.app, ["list"]).output.splitlines() if "bot" in line)
    assert "train,infer" in row and "60" in row and "20000" in row
    bad = runner.invoke(keys_cli.app, ["create", "bad", "--scope", "root"])
    assert bad.exit_code == 2 and "Unknown scope 'root'" in bad.output


def test_migration_0009_turns_the_admin_flag_into_scopes(settings):
    old = Store(settings, migrate=False)
    old.upgrade("0008")
    with old.engine.begin() as conn:
        for name, admin in (("ops", True), ("dev", False)):
            conn.execute(sa.text("insert into api_keys (name, prefix, secret_hash, created_at, admin) "
                                 "values (:n, 'tl-x', 'h', '2026-01-01', :a)"), {"n": name, "a": admin})
    old.upgrade()
    assert {k.name: k.scopes for k in ApiKeys(old).list()} == {"ops": ("admin",), "dev": ("train", "infer")}
    old.upgrade("0008")  # and back: the flag stays
    with old.engine.begin() as conn:
        assert dict(conn.execute(sa.text("select name, admin from api_keys")).all()) in (
            {"ops": True, "dev": False}, {"ops": 1, "dev": 0})
    old.dispose()


class Clock:
    t = 100.0

    def __call__(self) -> float:
        return self.t


def test_buckets_refuse_with_the_wait_their_refill_needs():
    clock = Clock()
    b = TokenBucket(60, clock)  # one a second
    assert [b.take(1) for _ in range(60)] == [0.0] * 60
    assert b.take(1) == pytest.approx(1.0) and b.take(5) == pytest.approx(5.0)
    clock.t += 2.5
    assert b.take(2) == 0.0 and b.take(1) == pytest.approx(0.5)
    assert TokenBucket(10, clock).take(50) == 0.0  # more than it holds: waits for a full bucket, not forever


def test_token_charges_are_corrected_to_the_usage():
    clock = Clock()

    class Key:
        name, rpm, tpm = "k", None, None

    limiter = RateLimiter(Limits(rpm=2, tpm=600), clock)  # the server default: 2 requests, 10 tokens a second
    limiter.admit_request(Key)
    limiter.admit_request(Key)
    with pytest.raises(RateLimitError) as refused:
        limiter.admit_request(Key)
    assert refused.value.headers["Retry-After"] == "30" and refused.value.type == "requests"
    charge = limiter.admit_tokens(Key, 500)
    with pytest.raises(RateLimitError) as refused:
        limiter.admit_tokens(Key, 200)  # 100 left: 100 more take 10 s
    assert refused.value.headers["Retry-After"] == "10" and "TPM" in refused.value.message
    charge.settle(120)  # it used 120 of the 500: 380 go back
    assert limiter.bucket("k", "tpm", 600).level == pytest.approx(480)
    charge.settle(0)  # once only
    assert limiter.bucket("k", "tpm", 600).level == pytest.approx(480)
    Key.tpm = 0  # the key's own 0: no limit, whatever the default
    assert limiter.admit_tokens(Key, 10**9).bucket is None
