"""The real servers the demo runs, each in the foreground under one
directory (shared/backends.md recipes): HAProxy with its runtime API and
its own Prometheus exporter, Prometheus scraping it, PowerDNS with its
SQLite backend and HTTP API, sshd for the configuration step, and a
Slack-like webhook receiver. Every server is started by this
process, found ready by polling, and stopped by PID."""
import http.server
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import threading
import time
import urllib.parse
import urllib.request

PDNS_SCHEMA = "/usr/share/pdns-backend-sqlite3/schema/schema.sqlite3.sql"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(what, ready, seconds=15):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if ready():
            return
        time.sleep(0.1)
    raise RuntimeError(f"{what} did not become ready in {seconds} s")


class Servers:
    """Start with start_all(dir); stop_all() kills everything started."""

    def __init__(self, root):
        self.root = root
        self.procs = []
        self.notices = []  # what the Slack-like receiver got
        self._httpd = None

    def _spawn(self, name, argv, **kw):
        log = open(os.path.join(self.root, f"{name}.log"), "wb")
        p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log,
                             stderr=subprocess.STDOUT, start_new_session=True, **kw)
        self.procs.append((name, p))
        return p

    # ---- HAProxy ----
    def start_haproxy(self, backend):
        self.haproxy_socket = os.path.join(self.root, "haproxy.sock")
        self.frontend_port = free_port()
        self.promex_port = free_port()
        cfg = os.path.join(self.root, "haproxy.cfg")
        with open(cfg, "w") as f:
            f.write("global\n"
                    f"    stats socket {self.haproxy_socket} mode 600 level admin\n"
                    "    nbthread 1\n"
                    "defaults\n    mode http\n    timeout connect 2s\n"
                    "    timeout client 30s\n    timeout server 30s\n"
                    # A request that meets a dead server (refused, or cut off
                    # with no answer) is tried again on another one, so a
                    # node killed between two health checks costs clients
                    # nothing: L7 retries are safe here, every request is a
                    # GET without a body.
                    "    retries 3\n    option redispatch 1\n"
                    "    retry-on conn-failure empty-response response-timeout\n"
                    f"frontend fe\n    bind 127.0.0.1:{self.frontend_port}\n"
                    f"    default_backend {backend}\n"
                    # The check the pack's "check" option on every added
                    # server runs: the app's own /health, not just a connect.
                    f"backend {backend}\n    balance roundrobin\n"
                    "    option httpchk GET /health\n"
                    # HAProxy's own Prometheus exporter (PROMEX, built into
                    # Debian's 2.6), which the demo's Prometheus scrapes:
                    # the request rate target tracking reads (phase 5).
                    f"frontend promex\n    bind 127.0.0.1:{self.promex_port}\n"
                    "    http-request use-service prometheus-exporter if { path /metrics }\n")
        subprocess.run(["haproxy", "-c", "-q", "-f", cfg], check=True)
        self._spawn("haproxy", ["haproxy", "-f", cfg, "-db"])
        wait_for("HAProxy", lambda: os.path.exists(self.haproxy_socket)
                 and self.haproxy("show info").startswith("Name:"))

    def haproxy(self, command):
        with socket.socket(socket.AF_UNIX) as s:
            try:
                s.connect(self.haproxy_socket)
            except OSError:
                return ""
            s.sendall(command.encode() + b"\n")
            out = b""
            while chunk := s.recv(65536):
                out += chunk
        return out.decode()

    def haproxy_status(self, backend):
        """{server: status} as HAProxy's checks see it now (UP, DOWN, MAINT,
        "UP 1/2" while rising, ...), from "show stat" read by column name."""
        rows = self.haproxy(f"show stat {backend} 4 -1").splitlines()
        if not rows or not rows[0].startswith("# "):
            return {}
        cols = rows[0][2:].split(",")
        name, status = cols.index("svname"), cols.index("status")
        return {r.split(",")[name]: r.split(",")[status] for r in rows[1:] if r.strip()}

    def haproxy_servers(self, backend):
        """Names of the backend's servers (show servers state)."""
        rows = self.haproxy(f"show servers state {backend}").splitlines()[2:]
        return sorted(r.split()[3] for r in rows if r.strip() and not r.startswith("#"))

    # ---- Prometheus, scraping HAProxy's exporter every second ----
    def start_prometheus(self):
        d = os.path.join(self.root, "prometheus")
        os.makedirs(d)
        cfg = os.path.join(d, "prometheus.yml")
        with open(cfg, "w") as f:
            f.write("global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
                    "scrape_configs:\n  - job_name: haproxy\n    static_configs:\n"
                    f"      - targets: ['127.0.0.1:{self.promex_port}']\n")
        port = free_port()
        self.prometheus_url = f"http://127.0.0.1:{port}"
        self._spawn("prometheus", ["/usr/bin/prometheus", f"--config.file={cfg}",
                                   f"--storage.tsdb.path={d}/data",
                                   f"--web.listen-address=127.0.0.1:{port}",
                                   "--log.level=warn"])
        wait_for("Prometheus", lambda: _http_ok(self.prometheus_url + "/-/ready"), 30)

    def prom_query(self, query):
        """An instant query's one value (None: no single number)."""
        url = (self.prometheus_url + "/api/v1/query?"
               + urllib.parse.urlencode({"query": query}))
        try:
            with urllib.request.urlopen(url, timeout=5) as r:
                res = json.load(r)["data"]["result"]
            return float(res[0]["value"][1]) if len(res) == 1 else None
        except (OSError, ValueError, KeyError, IndexError):
            return None

    # ---- PowerDNS ----
    def start_pdns(self, zone):
        d = os.path.join(self.root, "pdns")
        os.makedirs(d)
        subprocess.run(["sqlite3", os.path.join(d, "pdns.sqlite3")],
                       stdin=open(PDNS_SCHEMA), check=True)
        self.dns_port, api_port = free_port(), free_port()
        self.pdns_api_key = secrets.token_hex(16)
        self.pdns_api_url = f"http://127.0.0.1:{api_port}/api/v1/servers/localhost"
        with open(os.path.join(d, "pdns.conf"), "w") as f:
            f.write(f"launch=gsqlite3\ngsqlite3-database={d}/pdns.sqlite3\n"
                    f"local-address=127.0.0.1\nlocal-port={self.dns_port}\n"
                    f"socket-dir={d}\ndaemon=no\nguardian=no\ndisable-syslog=yes\n"
                    "security-poll-suffix=\nwebserver=yes\n"
                    f"webserver-address=127.0.0.1\nwebserver-port={api_port}\n"
                    "webserver-allow-from=127.0.0.1/32\napi=yes\n"
                    f"api-key={self.pdns_api_key}\n"
                    "default-soa-content=ns1.@ hostmaster.@ 0 10800 3600 604800 3600\n")
        self._spawn("pdns", ["/usr/sbin/pdns_server", f"--config-dir={d}"])
        wait_for("PowerDNS", lambda: self.pdns("GET", "")[0] == 200)
        status, _ = self.pdns("POST", "/zones", {"name": zone + ".", "kind": "Native",
                                                 "nameservers": [f"ns1.{zone}."]})
        if status != 201:
            raise RuntimeError(f"PowerDNS refused the zone {zone}: HTTP {status}")

    def pdns(self, method, path, body=None):
        req = urllib.request.Request(self.pdns_api_url + path, method=method,
                                     headers={"X-API-Key": self.pdns_api_key,
                                              "Content-Type": "application/json"},
                                     data=json.dumps(body).encode() if body else None)
        try:
            with urllib.request.urlopen(req, timeout=5) as r:
                text = r.read().decode()
                return r.status, json.loads(text) if text else None
        except urllib.error.HTTPError as e:
            return e.code, None
        except OSError:
            return 0, None

    def dig(self, name):
        out = subprocess.run(["dig", "@127.0.0.1", "-p", str(self.dns_port), name, "A",
                              "+short", "+time=2", "+tries=1"],
                             capture_output=True, text=True).stdout
        return sorted(line for line in out.split() if line)

    def zone_records(self, zone):
        """Every A record in the zone, as {name: [addresses]}."""
        _, z = self.pdns("GET", f"/zones/{zone}.")
        return {r["name"]: sorted(x["content"] for x in r["records"])
                for r in (z or {}).get("rrsets", []) if r["type"] == "A"}

    # ---- sshd ----
    def start_sshd(self, listen_addresses):
        """sshd for chef_bootstrap, on the addresses the local provider
        hands out (127.0.1.1 upward; sshd takes at most 16) and nowhere else, logins only by the
        demo's own key, only from loopback, only as this user."""
        d = os.path.join(self.root, "sshd")
        os.makedirs(d)
        self.ssh_key = os.path.join(d, "id_ed25519")
        host_key = os.path.join(d, "host_ed25519")
        for key in (self.ssh_key, host_key):
            subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", key],
                           check=True)
        shutil.copy(self.ssh_key + ".pub", os.path.join(d, "authorized_keys"))
        self.ssh_port = free_port()
        self.ssh_user = _user()
        with open(os.path.join(d, "sshd_config"), "w") as f:
            f.write(f"Port {self.ssh_port}\n")
            for a in listen_addresses:
                f.write(f"ListenAddress {a}\n")
            f.write(f"HostKey {host_key}\nAuthorizedKeysFile {d}/authorized_keys\n"
                    f"PidFile {d}/sshd.pid\nStrictModes no\nUsePAM no\n"
                    "PasswordAuthentication no\nKbdInteractiveAuthentication no\n"
                    f"AllowUsers {self.ssh_user}@127.0.0.0/8\n")
        os.makedirs("/run/sshd", exist_ok=True) if os.geteuid() == 0 else None
        self._spawn("sshd", ["/usr/sbin/sshd", "-D", "-e", "-f",
                             os.path.join(d, "sshd_config")])
        wait_for("sshd", lambda: _connects(listen_addresses[0], self.ssh_port))

    # ---- a Slack-like receiver for notifications ----
    def start_slack(self):
        notices = self.notices

        class Hook(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                try:
                    notices.append(json.loads(body).get("text", ""))
                except ValueError:
                    pass
                self.send_response(200)
                self.send_header("Content-Type", "text/plain")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *a):
                pass

        self._httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Hook)
        threading.Thread(target=self._httpd.serve_forever, daemon=True).start()
        self.slack_url = f"http://127.0.0.1:{self._httpd.server_address[1]}/services/demo"

    def describe(self, path):
        """Write where each server is and its PID, for whoever stops them."""
        with open(path, "w") as f:
            json.dump({"pids": {n: p.pid for n, p in self.procs},
                       "haproxy_socket": getattr(self, "haproxy_socket", None),
                       "pdns_db": os.path.join(self.root, "pdns", "pdns.sqlite3"),
                       "dns_port": getattr(self, "dns_port", None)}, f)

    def stop_all(self):
        if self._httpd:
            self._httpd.shutdown()
        for name, p in reversed(self.procs):
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGTERM)
                try:
                    p.wait(5)
                except subprocess.TimeoutExpired:
                    os.killpg(p.pid, signal.SIGKILL)
                    p.wait()
        self.procs = []


class Traffic:
    """A client making one request after another through HAProxy's frontend,
    from start() to stop(), as a user of the service would: a request fails
    unless it gets 200 and "node NAME" back within the timeout. No retries of
    its own: what it counts is what a user would have seen. With a rate,
    requests go out at that steady rate (per second) instead, so that the
    request rate Prometheus reads is the one the demo chose; the rate may
    be changed while it runs."""

    def __init__(self, url, pause=0.01, timeout=5, rate=None):
        self.url, self.pause, self.timeout, self.rate = url, pause, timeout, rate
        self.made = self.failed = 0
        self.errors = []   # the first few failures, for the report
        self.by_node = {}  # node -> requests it answered
        # node -> time.monotonic() of its first answer (bench/alert_to_serving.py:
        # when a new node first served a user)
        self.first = {}
        self._stop = threading.Event()
        self._thread = None

    def start(self):
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def _run(self):
        due = time.monotonic()
        while not self._stop.is_set():
            try:
                with urllib.request.urlopen(self.url, timeout=self.timeout) as r:
                    words = r.read().decode().split()
                ok = r.status == 200 and len(words) == 2 and words[0] == "node"
                why = None if ok else f"HTTP {r.status} {' '.join(words)[:60]}"
            except (OSError, ValueError) as e:  # HTTPError, refused, timeout
                ok, why = False, str(e)[:100]
            self.made += 1
            if ok:
                self.by_node[words[1]] = self.by_node.get(words[1], 0) + 1
                self.first.setdefault(words[1], time.monotonic())
            else:
                self.failed += 1
                if len(self.errors) < 5:
                    self.errors.append(why)
            if self.rate:
                # the next request's due time: a slow answer is caught up
                # on, never by more than a second's worth at once
                due = max(due + 1.0 / self.rate, time.monotonic() - 1.0)
                self._stop.wait(max(0.0, due - time.monotonic()))
            else:
                self._stop.wait(self.pause)

    def stop(self):
        self._stop.set()
        if self._thread:
            self._thread.join()
        return {"made": self.made, "failed": self.failed, "errors": self.errors,
                "by_node": dict(sorted(self.by_node.items()))}


def _user():
    import pwd
    return pwd.getpwuid(os.geteuid()).pw_name


def _http_ok(url):
    try:
        with urllib.request.urlopen(url, timeout=1) as r:
            return r.status == 200
    except OSError:
        return False


def _connects(host, port):
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False
