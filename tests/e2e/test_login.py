"""Security of the dashboard in a real browser, on a server of its own: open while no key exists;
the first key made on the Settings page (its secret shown once) closes it; sign-in gives an
HttpOnly, SameSite=Strict session cookie with an expiry; a state-changing call without the CSRF
token, or from another site, is refused; a non-admin key sees only its own jobs and no settings;
revoking a key ends its sessions."""

from __future__ import annotations

import httpx
import pytest
from browser_support import Dashboard, shot
from conftest import tiny_home

from tunelab.serve.sessions import COOKIE

INGEST = {"kind": "ingest", "config": {"sources": ["nowhere/"], "collection": "c"}}


@pytest.fixture(scope="module")
def locked(tmp_path_factory, tiny_model_dir):
    server = Dashboard(tiny_home(tmp_path_factory, tiny_model_dir, "login"), embeddings=False)
    yield server
    server.stop()


def sign_in(page, url: str, secret: str) -> None:
    page.goto(url + "/")
    page.wait_for_url("**/login?next=%2F")
    page.fill('input[name="key"]', secret)
    page.click('button[type="submit"]')
    page.wait_for_url(url + "/")


def test_first_key_from_settings_then_login_csrf_scopes_and_revocation(chromium, locked):
    url = locked.url
    ctx = chromium.new_context(viewport={"width": 1280, "height": 860})
    page = ctx.new_page()
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))

    # 1. Open server: the Settings page makes the first (admin) key and shows its secret once.
    page.goto(url + "/settings")
    page.fill('#key-form input[name="name"]', "ops")
    page.check('#key-form input[name="admin"]')
    page.click('#key-form button[type="submit"]')
    page.wait_for_selector("#secret:not([hidden])")
    secret = page.locator("#secret-value").inner_text()
    assert secret.startswith("tl-") and "first key" in page.locator("#secret-next").inner_text()
    shot(page, "settings-new-key-shown-once")

    # 2. Now every page asks for a key; a wrong one is refused with a sentence.
    page.goto(url + "/jobs")
    page.wait_for_url("**/login?next=%2Fjobs")
    page.fill('input[name="key"]', "tl-not-a-real-key")
    page.click('button[type="submit"]')
    assert "unknown or revoked" in page.locator(".error").inner_text()
    shot(page, "login-refused")
    assert httpx.get(url + "/v1/jobs").status_code == 401

    # 3. The right key: a session cookie, HttpOnly and SameSite=Strict, with an expiry.
    sign_in(page, url, secret)
    page.wait_for_function("document.getElementById('model').textContent === 'tiny'")
    cookie = next(c for c in ctx.cookies() if c["name"] == COOKIE)
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict" and cookie["expires"] > 0
    assert page.evaluate("document.cookie").find(COOKIE) == -1  # scripts cannot read it

    # 4. CSRF: the page's own call carries the token; the same call without it is refused.
    no_token = page.evaluate("""async body => (await fetch('/v1/jobs', {method: 'POST',
        headers: {'Content-Type': 'application/json'}, body: JSON.stringify(body)})).status""", INGEST)
    assert no_token == 403
    made = page.evaluate("""async () => { const t = document.querySelector('meta[name=csrf-token]').content;
        const r = await fetch('/v1/keys', {method: 'POST', headers: {'Content-Type': 'application/json',
        'X-CSRF-Token': t}, body: JSON.stringify({name: 'bob'})}); return [r.status, (await r.json()).secret]; }""")
    assert made[0] == 201
    bob_secret = made[1]
    # another site's page, even with the cookie, is refused
    jar = {COOKIE: cookie["value"]}
    cross = httpx.post(url + "/v1/jobs", json=INGEST, cookies=jar, headers={"Origin": "http://evil.example"})
    assert cross.status_code == 403 and cross.json()["error"]["code"] == "cross_site_request"
    ops_job = httpx.post(url + "/v1/jobs", json=INGEST, headers={"Authorization": f"Bearer {secret}"}).json()

    # 5. A non-admin key: no settings, and only its own jobs.
    bob_ctx = chromium.new_context()
    bob = bob_ctx.new_page()
    sign_in(bob, url, bob_secret)
    bob.goto(url + "/settings")
    bob.wait_for_selector("#keys .empty")
    assert "Only an admin key" in bob.locator("#keys").inner_text()
    shot(bob, "settings-non-admin")
    bob_jobs = bob.evaluate("async () => (await (await fetch('/v1/jobs')).json()).data.map(j => j.id)")
    assert ops_job["id"] not in bob_jobs
    admin_jobs = page.evaluate("async () => (await (await fetch('/v1/jobs')).json()).data.map(j => j.id)")
    assert ops_job["id"] in admin_jobs

    # 6. Revoking bob's key ends bob's session at once.
    page.goto(url + "/settings")
    page.on("dialog", lambda d: d.accept())
    page.locator("#keys tr", has_text="bob").locator("button", has_text="Revoke").click()
    page.wait_for_selector("#keys tr:has-text('bob') .badge.revoked")
    shot(page, "settings-keys")
    bob.goto(url + "/jobs")
    bob.wait_for_url("**/login?next=%2Fjobs")
    assert not errors
    bob_ctx.close()
    ctx.close()
