"""Two (or more) `streamlit run app.py` processes on one database behind nginx, on loopback:
the deployment of docs/deployment.md, for trying it out, the load run (bench/load.py) and its test.

    python -m bench.cluster --database-url postgresql+psycopg://fidelity@127.0.0.1:5432/fidelity
    # then open http://127.0.0.1:8080 ; Ctrl-C stops nginx and both app processes

nginx runs as an ordinary process (no daemon, its files in a temporary folder) with the site file
deploy/nginx/fidelity.conf, of which only the listen address and the upstream ports are rewritten.
Needs Debian's nginx package (`apt-get install nginx`); the system's nginx service is not touched.
"""

from __future__ import annotations

import argparse
import contextlib
import getpass
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType

ROOT = Path(__file__).resolve().parents[1]
SITE_CONF = ROOT / "deploy" / "nginx" / "fidelity.conf"
START_TIMEOUT_S = 90.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def healthy(url: str, timeout: float = 2.0) -> bool:
    """Whether GET {url}/_stcore/health answers "ok"."""
    try:
        with urllib.request.urlopen(f"{url}/_stcore/health", timeout=timeout) as response:
            return bool(response.read().decode().strip() == "ok")
    except OSError:
        return False


def site_config(listen_port: int, app_ports: Sequence[int]) -> str:
    """deploy/nginx/fidelity.conf with its listen port and its upstream servers replaced."""
    text = SITE_CONF.read_text()
    text = text.replace("listen 127.0.0.1:8080;", f"listen 127.0.0.1:{listen_port};")
    servers = "".join(f"    server 127.0.0.1:{port} max_fails=2 fail_timeout=10s;\n" for port in app_ports)
    text, replaced = re.subn(r"(    server 127\.0\.0\.1:\d+ [^\n]*\n)+", servers, text, count=1)
    assert replaced == 1, "deploy/nginx/fidelity.conf has no upstream servers to replace"
    return text


def nginx_config(prefix: Path, site: Path) -> str:
    """A whole nginx.conf that runs unprivileged from `prefix` and includes the site file."""
    user = f"user {getpass.getuser()};\n" if os.geteuid() == 0 else ""
    temp = "\n".join(
        f"    {kind}_temp_path {prefix / 'tmp' / kind};"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    return (
        f"{user}worker_processes 1;\npid {prefix / 'nginx.pid'};\nerror_log {prefix / 'error.log'} warn;\n"
        "events { worker_connections 1024; }\n"
        "http {\n"
        "    log_format upstream '$remote_addr $cookie_fidelity_route $upstream_addr \"$request\" $status';\n"
        f"    access_log {prefix / 'access.log'} upstream;\n{temp}\n"
        f"    include {site};\n"
        "}\n"
    )


class Cluster:
    """The app processes and nginx; a context manager that stops them all."""

    def __init__(
        self,
        database_url: str,
        *,
        processes: int = 2,
        port: int | None = None,
        workdir: Path | None = None,
        env: dict[str, str] | None = None,
        cwd: Path | None = None,
    ):
        if shutil.which("nginx") is None:
            raise RuntimeError("nginx is not installed (Debian: apt-get install nginx)")
        self.database_url = database_url
        self.port = port or free_port()
        self.app_ports = [free_port() for _ in range(processes)]
        self.workdir = workdir or Path(tempfile.mkdtemp(prefix="fidelity-cluster-"))  # logs, nginx's files
        self.cwd = cwd or self.workdir  # the apps' working folder (a relative SQLite path, .env)
        self.env = {
            "STREAMLIT_SERVER_COOKIE_SECRET": secrets.token_hex(16),  # one for all processes (deployment.md)
            **os.environ,
            **(env or {}),
            "FIDELITY_DATABASE_URL": database_url,
        }
        self.apps: list[subprocess.Popen[bytes]] = []
        self.nginx: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def app_urls(self) -> list[str]:
        return [f"http://127.0.0.1:{port}" for port in self.app_ports]

    def start(self) -> Cluster:
        for port in self.app_ports:
            log = (self.workdir / f"streamlit-{port}.log").open("ab")
            self.apps.append(
                subprocess.Popen(
                    [
                        sys.executable, "-m", "streamlit", "run", str(ROOT / "app.py"),
                        "--server.headless", "true", "--server.port", str(port),
                        "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false",
                        "--server.fileWatcherType", "none",
                    ],
                    cwd=self.cwd, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            )  # fmt: skip
        prefix = self.workdir / "nginx"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"):
            (prefix / "tmp" / kind).mkdir(parents=True, exist_ok=True)
        site = prefix / "fidelity.conf"
        site.write_text(site_config(self.port, self.app_ports))
        conf = prefix / "nginx.conf"
        conf.write_text(nginx_config(prefix, site))
        check = subprocess.run(
            ["nginx", "-t", "-p", str(prefix), "-c", str(conf)], capture_output=True, text=True
        )
        if check.returncode != 0:
            self.stop()
            raise RuntimeError(f"nginx -t refused the configuration: {check.stderr.strip()}")
        self.nginx = subprocess.Popen(
            ["nginx", "-p", str(prefix), "-c", str(conf), "-g", "daemon off;"],
            stdout=subprocess.DEVNULL, stderr=(prefix / "nginx.out").open("ab"), start_new_session=True,
        )  # fmt: skip
        self._wait_healthy()
        return self

    def _wait_healthy(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT_S
        checked: list[str] = []
        pending = list(self.app_urls)  # the apps first: nginx would mark a starting one as failed
        while pending and time.monotonic() < deadline:
            for process in [*self.apps, self.nginx]:
                if process is not None and process.poll() is not None:
                    self.stop()
                    raise RuntimeError(f"a process of the cluster exited; see the logs in {self.workdir}")
            pending = [url for url in pending if not healthy(url)]
            if pending:
                time.sleep(0.3)
            elif self.url not in checked:
                checked.append(self.url)
                pending = [self.url]
        if pending:
            self.stop()
            raise RuntimeError(f"not healthy after {START_TIMEOUT_S:.0f} s: {', '.join(pending)}")

    def stop(self) -> None:
        for process in [self.nginx, *self.apps]:
            if process is not None and process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in [self.nginx, *self.apps]:
            if process is not None:
                try:
                    process.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)
                    process.wait(timeout=5)
        self.apps, self.nginx = [], None

    def __enter__(self) -> Cluster:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def _stop_on_sigterm(_signum: int, _frame: object) -> None:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)  # once: a second one must not interrupt the stopping
    raise KeyboardInterrupt  # leaves the `with` block, which stops nginx and the app processes


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.cluster", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--database-url", default=os.environ.get("FIDELITY_DATABASE_URL", "sqlite:///fidelity.db")
    )
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--port", type=int, default=8080, help="nginx's port on 127.0.0.1")
    args = parser.parse_args(argv)
    cluster = Cluster(args.database_url, processes=args.processes, port=args.port, cwd=Path.cwd())
    signal.signal(signal.SIGTERM, _stop_on_sigterm)  # `kill`, systemd, timeout: stop the children too
    with cluster:
        print(f"nginx: {cluster.url}  (sticky sessions over {len(cluster.app_urls)} app processes)")
        for url in cluster.app_urls:
            print(f"app:   {url}  health: {'ok' if healthy(url) else 'NOT ok'}")
        print(f"logs:  {cluster.workdir}; Ctrl-C stops everything", flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            signal.pause()
    return 0


if __name__ == "__main__":
    sys.exit(main())
