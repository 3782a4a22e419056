"""The dashboard's session cookies: signed, expiring, bound to a CSRF token, and the cross-site test."""

from __future__ import annotations

from tunelab.serve.sessions import SessionCodec, cookie_from, load_secret, same_origin


def test_a_cookie_reads_back_until_it_expires_and_not_after_tampering():
    codec = SessionCodec(b"k" * 32, ttl_s=60)
    value, session = codec.issue("alice", 1700000000.0, now=1000.0)
    assert codec.read(value, now=1030.0) == session
    assert codec.read(value, now=1061.0) is None  # expired
    payload, _, sig = value.partition(".")
    assert codec.read(payload[:-2] + "xx." + sig, now=1030.0) is None  # payload changed
    assert codec.read(value, now=1030.0) and SessionCodec(b"j" * 32, 60).read(value, now=1030.0) is None
    assert codec.read("garbage", now=1030.0) is None


def test_the_csrf_token_belongs_to_its_session():
    codec = SessionCodec(b"k" * 32, ttl_s=60)
    _, a = codec.issue("alice", 1.0)
    _, b = codec.issue("alice", 1.0)
    assert codec.csrf_ok(a, codec.csrf_token(a))
    assert not codec.csrf_ok(a, codec.csrf_token(b)) and not codec.csrf_ok(a, "")


def test_the_secret_is_made_once_and_kept_private(tmp_path):
    first = load_secret(tmp_path)
    assert load_secret(tmp_path) == first and len(first) == 32
    assert (tmp_path / "secrets" / "session.key").stat().st_mode & 0o077 == 0


def test_cookie_and_origin_headers():
    headers = [(b"cookie", b"a=1; tunelab_session=abc.def; b=2"), (b"host", b"127.0.0.1:8000")]
    assert cookie_from(headers) == "abc.def"
    assert same_origin(headers)  # a program: no Origin
    assert same_origin(headers + [(b"origin", b"http://127.0.0.1:8000")])
    assert not same_origin(headers + [(b"origin", b"http://evil.example")])
    assert not same_origin(headers + [(b"sec-fetch-site", b"cross-site")])
