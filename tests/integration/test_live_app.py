"""The user paths over real HTTP, against gunicorn as `make run` starts it."""

import re
import threading
import time

import pytest
import requests

from shortener.resolver import GENERATION_CHECK
from tests.integration.conftest import ADMIN_TOKEN

pytestmark = pytest.mark.gunicorn


def csrf_token(session: requests.Session, base_url: str) -> str:
    html = session.get(f"{base_url}/").text
    return re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html).group(1)


def test_form_flow_with_csrf(live_server):
    browser = requests.Session()
    token = csrf_token(browser, live_server)
    response = browser.post(
        f"{live_server}/shorten",
        allow_redirects=False,
        data={"url": "https://example.com/form", "csrf_token": token},
    )
    assert response.status_code == 303
    info = browser.get(f"{live_server}{response.headers['Location']}")
    assert info.status_code == 200
    code = response.headers["Location"].strip("/+")
    assert f"{live_server}/{code}" in info.text
    assert browser.get(f"{live_server}/api").json() == [code]
    follow = requests.get(f"{live_server}/{code}", allow_redirects=False)
    assert follow.status_code == 302
    assert follow.headers["Location"] == "https://example.com/form"


def test_form_without_csrf_is_refused(live_server):
    response = requests.post(f"{live_server}/shorten", data={"url": "https://example.com/"})
    assert response.status_code == 400


def test_api_redirect_and_disable(live_server):
    created = requests.post(f"{live_server}/api/links", json={"url": "https://example.com/api"})
    assert created.status_code == 201
    code = created.json()["code"]
    assert requests.head(f"{live_server}/{code}", allow_redirects=False).status_code == 302
    auth = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    assert requests.delete(f"{live_server}/api/links/{code}", headers=auth).status_code == 200
    # The worker that disabled the link forgets it at once; the others drop their cached
    # links at their next reading of the generation, within GENERATION_CHECK seconds.
    deadline = time.monotonic() + GENERATION_CHECK + 2
    streak = 0
    while streak < 10 and time.monotonic() < deadline:
        status = requests.get(f"{live_server}/{code}", allow_redirects=False).status_code
        assert status in (302, 410)
        streak = streak + 1 if status == 410 else 0
    assert streak == 10


def test_upload_and_download(live_server):
    created = requests.post(
        f"{live_server}/api/links", files={"file": ("notes.txt", b"file body", "text/plain")}
    )
    assert created.status_code == 201
    download = requests.get(f"{live_server}/{created.json()['code']}")
    assert download.content == b"file body"
    assert download.headers["Content-Disposition"].startswith("attachment")
    assert download.headers["X-Content-Type-Options"] == "nosniff"


def test_unknown_code_is_404(live_server):
    response = requests.get(f"{live_server}/no-such-code", allow_redirects=False)
    assert response.status_code == 404
    assert "does not exist" in response.text


def test_racing_custom_names_across_workers(live_server):
    statuses: list[int] = []
    barrier = threading.Barrier(6)

    def race(i: int) -> None:
        barrier.wait()
        statuses.append(
            requests.post(
                f"{live_server}/api/links",
                json={"url": f"https://example.com/{i}", "code": "race-live"},
            ).status_code
        )

    threads = [threading.Thread(target=race, args=(i,)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [201, 409, 409, 409, 409, 409]
