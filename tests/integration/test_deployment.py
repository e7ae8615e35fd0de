"""The agency deployment (issue 21, part 5; docs/deployment.md): two `streamlit run app.py`
processes on one database behind Debian's nginx with deploy/nginx/fidelity.conf, on loopback.

nginx must be installed (.ci/run installs it). The settings for connection pools are checked too.
"""

from __future__ import annotations

import time
import urllib.request
from collections.abc import Iterator
from http.cookiejar import CookieJar
from pathlib import Path

import pytest
from websockets.sync.client import connect

from bench.cluster import Cluster
from services.database import open_database


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    folder = tmp_path_factory.mktemp("cluster")
    with Cluster(f"sqlite:///{folder / 'fidelity.db'}", workdir=folder) as running:
        yield running


def get(url: str, cookie: str | None = None) -> tuple[int, str, str | None]:
    """Status, body and the fidelity_route cookie nginx set (if any)."""
    request = urllib.request.Request(url, headers={"Cookie": f"fidelity_route={cookie}"} if cookie else {})
    jar = CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    with opener.open(request, timeout=30) as response:
        body = response.read().decode()
        status = response.status
    route = next((c.value for c in jar if c.name == "fidelity_route"), None)
    return status, body, route


def settled_log(cluster: Cluster) -> list[str]:
    """nginx's access log once it stopped growing (a line is written as its request ends)."""
    path = cluster.workdir / "nginx" / "access.log"
    lines: list[str] = []
    for _ in range(50):
        now = path.read_text().splitlines()
        if now == lines:
            break
        lines = now
        time.sleep(0.2)
    return lines


def upstreams(cluster: Cluster, cookie: str) -> list[str]:
    """The app process nginx sent each request carrying `cookie` to (its access log)."""
    log = settled_log(cluster)
    return [line.split()[2] for line in log if line.split()[1] == cookie]


def test_both_app_processes_and_the_proxy_answer_the_health_check(cluster: Cluster) -> None:
    for url in [*cluster.app_urls, cluster.url]:
        assert get(f"{url}/_stcore/health")[:2] == (200, "ok")


def test_a_browser_keeps_going_to_the_same_app_process(cluster: Cluster) -> None:
    status, page, route = get(f"{cluster.url}/")
    assert status == 200 and "<noscript>" in page  # Streamlit's page, through the proxy
    assert route, "nginx sets the sticky-session cookie on the first response"
    for _ in range(8):
        assert get(f"{cluster.url}/", cookie=route)[0] == 200
    # The session's WebSocket (what Streamlit's session lives on) is upgraded through nginx.
    with connect(
        f"ws://127.0.0.1:{cluster.port}/_stcore/stream",
        subprotocols=["streamlit"],  # type: ignore[list-item]
        additional_headers={"Cookie": f"fidelity_route={route}"},
        open_timeout=30,
    ) as socket:
        assert socket.response is not None and socket.response.status_code == 101
        assert socket.subprotocol == "streamlit"
    settled_log(cluster)
    served_by = upstreams(cluster, route)
    assert len(served_by) == 8 + 1  # the eight GETs with the cookie and the WebSocket
    assert len(set(served_by)) == 1
    assert served_by[0] in {url.removeprefix("http://") for url in cluster.app_urls}


def test_new_browsers_are_spread_over_both_processes(cluster: Cluster) -> None:
    routes = [get(f"{cluster.url}/")[2] for _ in range(20)]
    settled_log(cluster)
    log = settled_log(cluster)
    first = {line.split()[2] for line in log if line.split()[1] == "-" and '"GET / ' in line}
    assert len(set(routes)) == 20  # each new browser its own key
    assert len(first) == 2, first  # a key per browser spreads them over both processes


def test_the_pool_settings_reach_each_process_engine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FIDELITY_DATABASE_URL", f"sqlite:///{tmp_path / 'pool.db'}")
    monkeypatch.setenv("FIDELITY_DB_POOL_SIZE", "12")
    monkeypatch.setenv("FIDELITY_DB_MAX_OVERFLOW", "3")
    monkeypatch.setenv("FIDELITY_DB_POOL_TIMEOUT", "7.5")
    db = open_database()
    try:
        pool = db.engine.pool
        assert (pool.size(), pool._max_overflow, pool._timeout) == (12, 3, 7.5)  # type: ignore[attr-defined]
    finally:
        db.dispose()
