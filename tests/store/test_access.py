"""The service requires its API key: anonymous and wrong-key requests are refused; bad queries don't crash it."""

from __future__ import annotations

import os
import stat
import subprocess

import httpx
import pytest

from daisy_widgets.store import ServiceError, connect, search_observations


def test_key_file_is_private_and_not_in_the_repository(service):
    path = service.state / "tiled_api_key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(service.key) == 64 and service.key.isalnum()
    assert (service.state / "tiled_url").read_text().strip() == service.url
    repo = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    ignored = subprocess.run(["git", "check-ignore", "-q", ".daisy/tiled_api_key"], cwd=repo)
    assert ignored.returncode == 0  # the default state folder .daisy/ is git-ignored


@pytest.mark.parametrize(
    "path",
    ["/api/v1/metadata/hxmt", "/api/v1/search/hxmt", "/api/v1/array/full/tomography/dx_scan/exchange/data"],
)
def test_anonymous_and_wrong_key_requests_are_refused(service, path):
    base = service.url.removesuffix("/api")
    assert httpx.get(base + path).status_code == 401
    assert httpx.get(base + path, headers={"Authorization": "Apikey " + "0" * 64}).status_code == 401
    assert httpx.get(base + path, params={"api_key": service.key[:-1] + "x"}).status_code == 401
    assert httpx.get(base + path, headers={"Authorization": "Apikey " + service.key}).status_code == 200


def test_client_without_or_with_wrong_key_gets_a_plain_error(service, monkeypatch, tmp_path):
    monkeypatch.setenv("DAISY_STATE_DIR", str(tmp_path))  # no key file to fall back on
    monkeypatch.delenv("DAISY_TILED_API_KEY", raising=False)
    with pytest.raises(ServiceError, match="API key"):
        search_observations(target="crab", url=service.url)
    with pytest.raises(ServiceError, match="refused"):
        connect(service.url, "f" * 64)


def test_malformed_queries_get_a_clear_error_and_the_service_lives_on(service):
    base = service.url.removesuffix("/api")
    h = {"Authorization": "Apikey " + service.key}
    for params in (
        {"filter[comparison][condition][operator]": "gt", "filter[comparison][condition][key]": "ra"},
        {
            "filter[comparison][condition][operator]": "between",
            "filter[comparison][condition][key]": "ra",
            "filter[comparison][condition][value]": "1",
        },
        {"filter[like][condition][key]": "target_lc", "filter[like][condition][pattern]": "{not json"},
        {"page[offset]": "-5"},
    ):
        r = httpx.get(base + "/api/v1/search/hxmt", params=params, headers=h)
        assert 400 <= r.status_code < 500, (params, r.status_code, r.text[:300])
        assert r.json().get("detail")
    assert httpx.get(base + "/api/v1/search/hxmt", headers=h).status_code == 200
    assert service.proc.poll() is None


def test_no_service_configured_is_a_plain_error(monkeypatch, tmp_path):
    from daisy_widgets.store.settings import ServiceNotConfigured

    monkeypatch.delenv("DAISY_TILED_URL", raising=False)
    monkeypatch.setenv("DAISY_STATE_DIR", str(tmp_path))
    with pytest.raises(ServiceNotConfigured, match="DAISY_TILED_URL"):
        connect()
    with pytest.raises(ServiceError, match="did not answer"):
        connect("http://127.0.0.1:9/api", "k" * 64)  # nothing listens on the discard port
