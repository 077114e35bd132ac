"""`microblog cluster`: the docker-compose topology on one machine, without Docker.

Several `microblog serve` instances on free loopback ports, one `microblog worker`, and
Debian's nginx in front of them on one port, all children of this process. Like `microblog
dev` (the same `devservices.embedded_services`) it starts embedded PostgreSQL and Redis unless
DATABASE_URL / REDIS_URL are set, keeps a random SECRET_KEY in instance/, applies migrations
once before anything serves, and stops the embedded services after everything else.

nginx runs in the foreground with its whole state (configuration, pid, logs, temp files)
under instance/cluster/nginx/, rendered from the same template as docker-compose's
deploy/nginx.conf, so the proxy, WebSocket and sticky-session rules are the ones production
uses. Where everything listens is printed and written to instance/cluster/cluster.json.

An instance that exits (an operator's SIGTERM, a crash) is reported and nginx sends its
traffic to the others; SIGHUP restarts every instance one at a time (then the worker), so an
operator can roll out new code without users losing anything. Ctrl-C or SIGTERM stops it all.
"""

from __future__ import annotations

import contextlib
import grp
import json
import os
import pwd
import resource
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from microblog import devservices
from microblog.devservices import free_port
from microblog.settings import ROOT, Settings

TEMPLATE = ROOT / "deploy" / "nginx.conf.j2"
COMPOSE_NGINX_CONF = ROOT / "deploy" / "nginx.conf"
DEFAULT_NGINX = "/usr/sbin/nginx"
STOP_TIMEOUT = 15.0
READY_TIMEOUT = 60.0
# nginx's fail_timeout for the cluster: how long it skips an instance that refused a connection
FAIL_TIMEOUT = 2.0
# nginx's temp directories, with the module that needs each (a build without it refuses it)
TEMP_PATHS = (("client_body_temp_path", "body", None),
              ("proxy_temp_path", "proxy", None),
              ("fastcgi_temp_path", "fastcgi", "http_fastcgi_module"),
              ("uwsgi_temp_path", "uwsgi", "http_uwsgi_module"),
              ("scgi_temp_path", "scgi", "http_scgi_module"))


class ClusterError(RuntimeError):
    """The cluster cannot start; the message says why and what to do."""


def echo(message: str) -> None:
    print(message, flush=True)


def render_nginx(*, listen: str, servers: Sequence[str], header: str,
                 error_log: str, access_log: str, user: str | None = None,
                 pid: str | None = None, temp_paths: Sequence[tuple[str, str]] = (),
                 worker_processes: str = "auto", resolver: str | None = None,
                 fail_timeout: str = "5s") -> str:
    """deploy/nginx.conf.j2 for one topology (compose or this cluster)."""
    from jinja2 import Environment, FileSystemLoader, StrictUndefined

    env = Environment(loader=FileSystemLoader(str(TEMPLATE.parent)), trim_blocks=True,
                      lstrip_blocks=True, keep_trailing_newline=True,
                      undefined=StrictUndefined, autoescape=False)  # noqa: S701 - not HTML
    return env.get_template(TEMPLATE.name).render(
        listen=listen, servers=list(servers), header=header, error_log=error_log,
        access_log=access_log, user=user, pid=pid, temp_paths=list(temp_paths),
        worker_processes=worker_processes, resolver=resolver, fail_timeout=fail_timeout)


def compose_nginx_conf() -> str:
    """What deploy/nginx.conf must contain (`make deploy/nginx.conf` writes it)."""
    return render_nginx(
        listen="80", servers=["app1:8000", "app2:8000"],
        header="docker-compose's load balancer. Generated from deploy/nginx.conf.j2 by\n"
               "`make deploy/nginx.conf`: edit the template, not this file.",
        # the official image's user; its default pid and temp paths are writable by it
        user="nginx", error_log="/dev/stderr", access_log="/dev/stdout",
        # Docker's DNS: an app container that restarts with a new address is found again
        resolver="127.0.0.11 valid=10s ipv6=off")


@dataclass
class Child:
    """One child process the cluster supervises; `start` runs it again after it exited."""

    name: str
    argv: list[str]
    env: dict[str, str]
    port: int | None = None
    process: subprocess.Popen[bytes] | None = None
    exit_reported: bool = False

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None and self.running else None

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def start(self) -> None:
        self.process = subprocess.Popen(self.argv, env=self.env)  # noqa: S603
        self.exit_reported = False

    def signal(self, signum: int) -> None:
        if self.running:
            assert self.process is not None
            with contextlib.suppress(ProcessLookupError):
                self.process.send_signal(signum)

    def wait(self, timeout: float) -> None:
        """Wait for the exit; SIGKILL after `timeout` seconds."""
        if self.process is None:
            return
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            echo(f"{self.name} did not exit within {timeout:.0f} s; killing it")
            self.process.kill()
            self.process.wait()

    def stop(self) -> None:
        self.signal(signal.SIGTERM)
        self.wait(STOP_TIMEOUT)


def port_is_free(port: int) -> bool:
    with contextlib.closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def wait_until_ready(child: Child, timeout: float = READY_TIMEOUT) -> None:
    """Until the instance's /readyz answers 200 (PostgreSQL and Redis reachable)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not child.running:
            raise ClusterError(f"{child.name} exited while starting (see its output above)")
        try:
            with urllib.request.urlopen(f"{child.url}/readyz", timeout=2) as response:  # noqa: S310
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.1)
    raise ClusterError(f"{child.name} was not ready within {timeout:.0f} s")


def wait_for_port(child: Child, port: int, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not child.running:
            raise ClusterError(f"{child.name} exited while starting (see its output above)")
        with contextlib.closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise ClusterError(f"{child.name} is not listening on port {port} after {timeout:.0f} s")


def raise_open_files_limit() -> None:
    """Every proxied socket costs nginx two descriptors and an instance one: let the children
    use as many as the hard limit allows (the soft limit is often 1024)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or hard > soft:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


@dataclass
class Cluster:
    port: int
    count: int
    env: dict[str, str]
    directory: Path
    nginx_binary: str
    instances: list[Child] = field(default_factory=list)
    worker: Child | None = None
    nginx: Child | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def nginx_prefix(self) -> Path:
        return self.directory / "nginx"

    @property
    def state_file(self) -> Path:
        return self.directory / "cluster.json"

    def children(self) -> list[Child]:
        return [c for c in (*self.instances, self.worker, self.nginx) if c is not None]

    # --- starting ---------------------------------------------------------------------------

    def start(self) -> None:
        self.state_file.unlink(missing_ok=True)
        command = [sys.executable, "-m", "microblog.cli"]
        for number in range(1, self.count + 1):
            port = free_port()
            self.instances.append(Child(
                f"instance {number}", [*command, "serve", "--bind", f"127.0.0.1:{port}"],
                self.env, port=port))
        for instance in self.instances:
            instance.start()
        self.worker = Child("worker", [*command, "worker"], self.env)
        self.worker.start()
        for instance in self.instances:
            wait_until_ready(instance)
        self.start_nginx()
        self.write_state()

    def nginx_conf(self) -> str:
        prefix = self.nginx_prefix
        built = self.nginx_build()
        temp_paths = []
        for directive, name, module in TEMP_PATHS:
            if module is None or f"--without-{module}" not in built:
                (prefix / "temp" / name).mkdir(parents=True, exist_ok=True)
                temp_paths.append((directive, str(prefix / "temp" / name)))
        (prefix / "logs").mkdir(parents=True, exist_ok=True)
        return render_nginx(
            listen=f"127.0.0.1:{self.port}",
            servers=[f"127.0.0.1:{i.port}" for i in self.instances],
            header="`microblog cluster`'s load balancer, rendered from deploy/nginx.conf.j2\n"
                   "at every start.",
            user=self.nginx_user(), pid=str(prefix / "nginx.pid"),
            # errors on the cluster's console, where the operator looks
            error_log="stderr", access_log=str(prefix / "logs" / "access.log"),
            temp_paths=temp_paths, worker_processes="1", fail_timeout=f"{FAIL_TIMEOUT:g}s")

    @staticmethod
    def nginx_user() -> str | None:
        """Started by root, nginx would run its workers as `nobody`, who may not reach the temp
        directories under instance/ (a home or pytest directory is often 0700): they run as
        the user that started the cluster, like every other child. Otherwise nginx ignores the
        directive, so it is left out."""
        if os.geteuid() != 0:
            return None
        return f"{pwd.getpwuid(os.geteuid()).pw_name} {grp.getgrgid(os.getegid()).gr_name}"

    def nginx_build(self) -> str:
        result = subprocess.run([self.nginx_binary, "-V"], capture_output=True, text=True,  # noqa: S603
                                check=False)
        return result.stdout + result.stderr

    def start_nginx(self) -> None:
        prefix = self.nginx_prefix
        prefix.mkdir(parents=True, exist_ok=True)
        conf = prefix / "nginx.conf"
        conf.write_text(self.nginx_conf())
        base = [self.nginx_binary, "-p", str(prefix), "-c", str(conf), "-e", "stderr"]
        check = subprocess.run([*base, "-t", "-q"], capture_output=True, text=True,  # noqa: S603
                               check=False)
        if check.returncode:
            raise ClusterError(f"nginx rejects {conf}:\n{check.stderr.strip()}")
        self.nginx = Child("nginx", [*base, "-g", "daemon off;"], self.env, port=self.port)
        self.nginx.start()
        wait_for_port(self.nginx, self.port)

    def write_state(self) -> None:
        state = {
            "url": self.url,
            "pid": os.getpid(),
            "instances": [{"url": i.url, "pid": i.pid} for i in self.instances],
            "worker_pid": self.worker.pid if self.worker else None,
            "nginx_pid": self.nginx.pid if self.nginx else None,
            "nginx_conf": str(self.nginx_prefix / "nginx.conf"),
        }
        partial = self.state_file.with_suffix(".json.partial")
        partial.write_text(json.dumps(state, indent=2) + "\n")
        partial.replace(self.state_file)  # readers never see half a file

    def describe(self) -> None:
        for instance in self.instances:
            echo(f"  {instance.name}: {instance.url} (pid {instance.pid})")
        assert self.worker is not None and self.nginx is not None
        echo(f"  worker: pid {self.worker.pid}")
        echo(f"  nginx: pid {self.nginx.pid}, config {self.nginx_prefix / 'nginx.conf'}, "
             f"access log {self.nginx_prefix / 'logs' / 'access.log'}")
        echo(f"  state: {self.state_file}")
        echo(f"Microblog is running on {self.url} behind nginx — press Ctrl-C to stop; "
             f"`kill -HUP {os.getpid()}` restarts the instances one by one")

    # --- running ----------------------------------------------------------------------------

    def supervise(self, restart_requested: Any) -> None:
        """Until nginx exits (or a signal interrupts): report children that exit, and restart
        the instances when `restart_requested()` says so."""
        assert self.nginx is not None
        while True:
            if restart_requested():
                self.rolling_restart()
            if not self.nginx.running:
                echo("nginx exited; stopping")
                return
            changed = False
            for child in (*self.instances, self.worker):
                if child is not None and not child.running and not child.exit_reported:
                    code = child.process.returncode if child.process else None
                    what = ("nginx sends its traffic to the other instances"
                            if child.port else "jobs wait in the queue")
                    echo(f"{child.name} exited (code {code}); {what}. "
                         f"`kill -HUP {os.getpid()}` starts it again")
                    child.exit_reported = changed = True
            if changed:
                self.write_state()
            time.sleep(0.25)

    def rolling_restart(self) -> None:
        """One instance at a time: SIGTERM (its sockets reconnect to the others and replay what
        they missed), start it again on the same port, wait until it is ready; then the
        worker (SAQ re-queues what it was running)."""
        echo("restarting the instances one by one")
        for instance in self.instances:
            instance.stop()
            instance.start()
            try:
                wait_until_ready(instance)
            except ClusterError as exc:
                echo(f"{exc}; continuing with the others")
            # nginx skips an instance for FAIL_TIMEOUT after it refused a connection: the next
            # one stops only once nginx sends traffic to this one again
            time.sleep(FAIL_TIMEOUT + 0.5)
            self.write_state()
        if self.worker is not None:
            self.worker.stop()
            self.worker.start()
        self.write_state()
        echo("restart done")
        self.describe()

    def stop(self) -> None:
        children = self.children()
        for child in children:
            child.signal(signal.SIGTERM)
        for child in children:
            child.wait(STOP_TIMEOUT)
        self.state_file.unlink(missing_ok=True)


def find_nginx(explicit: str | None) -> str:
    candidates = [explicit] if explicit else [os.environ.get("NGINX"), DEFAULT_NGINX,
                                              shutil.which("nginx")]
    for candidate in candidates:
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    raise ClusterError(
        f"nginx not found ({explicit or DEFAULT_NGINX}): `make cluster` installs Debian's "
        "nginx (scripts/ensure-nginx.sh), or run `apt-get install nginx-light`, or pass --nginx")


def run(settings: Settings, port: int, count: int, nginx: str | None) -> None:
    """The whole cluster in the foreground, until Ctrl-C, SIGTERM or nginx's exit."""
    nginx_binary = find_nginx(nginx)
    if not port_is_free(port):
        raise ClusterError(f"port {port} is in use: choose another with --port")
    directory = settings.instance_dir / "cluster"
    directory.mkdir(parents=True, exist_ok=True)
    raise_open_files_limit()

    restart = {"requested": False}

    def on_sighup(signum: int, frame: Any) -> None:
        restart["requested"] = True

    def restart_requested() -> bool:
        requested, restart["requested"] = restart["requested"], False
        return requested

    signal.signal(signal.SIGHUP, on_sighup)
    try:
        with devservices.embedded_services(settings, echo=echo) as env:
            url = f"http://127.0.0.1:{port}"
            # links in emails and the Socket.IO origin check: the balancer's URL, by either name
            env["PUBLIC_URL"] = url
            origins = [o for o in env.get("ALLOWED_ORIGINS", "").split(",") if o.strip()]
            env["ALLOWED_ORIGINS"] = ",".join([*origins, f"http://localhost:{port}"])
            cluster = Cluster(port, count, env, directory, nginx_binary)
            try:
                echo(f"starting {count} instance(s), a worker and nginx")
                cluster.start()
                cluster.describe()
                cluster.supervise(restart_requested)
            finally:
                signal.signal(signal.SIGHUP, signal.SIG_IGN)
                echo("stopping…")
                with devservices.holding_signals():
                    cluster.stop()
    except KeyboardInterrupt:
        pass
    except devservices.DevServicesError as exc:
        raise ClusterError(str(exc)) from exc
    finally:
        signal.signal(signal.SIGHUP, signal.SIG_DFL)
    echo("stopped")
