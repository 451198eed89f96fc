"""Shared by the bench/pg-*.py scripts: a throwaway PostgreSQL (tools/pg-test-server.sh), psql,
and `clip-server serve` processes. Standard library only."""
import http.client, json, os, subprocess, tempfile, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class Postgres:
    """The server $CLIP_TEST_POSTGRES_URL names (with $CLIP_TEST_POSTGRES_DIR/_BIN), else a new one."""

    def __init__(self):
        self.started = False
        if not os.environ.get("CLIP_TEST_POSTGRES_URL"):
            out = subprocess.run([os.path.join(ROOT, "tools/pg-test-server.sh"), "start"], check=True,
                                 capture_output=True, text=True).stdout
            for line in out.splitlines():
                key, value = line.removeprefix("export ").split("=", 1)
                os.environ[key] = value.strip("'")
            self.started = True
        self.dir = os.environ["CLIP_TEST_POSTGRES_DIR"]
        self.bin = os.environ["CLIP_TEST_POSTGRES_BIN"]

    def psql(self, sql, db="postgres"):
        command = [os.path.join(self.bin, "psql"), "-h", self.dir, "-U", "postgres", "-d", db, "-qAt", "-v", "ON_ERROR_STOP=1", "-c", sql]
        if os.geteuid() == 0:
            command = ["runuser", "-u", "pgtest", "--"] + command
        return subprocess.run(command, check=True, capture_output=True, text=True).stdout.strip()

    def new_database(self, name):
        self.psql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        self.psql(f"CREATE DATABASE {name}")
        return f"postgresql://postgres@/{name}?host={self.dir}"

    def stop(self):
        if self.started:
            subprocess.run([os.path.join(ROOT, "tools/pg-test-server.sh"), "stop", self.dir], check=False)


class Server:
    """`clip-server serve --port 0` on `db`; `request` speaks keep-alive HTTP to it."""

    def __init__(self, binary, model, db):
        self.process = subprocess.Popen([binary, "serve", "--model", model, "--db", db, "--port", "0"],
                                        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, cwd=ROOT)
        line = json.loads(self.process.stdout.readline())
        self.host, port = line["listening"].removeprefix("http://").rsplit(":", 1)
        self.port = int(port)
        deadline = time.time() + 120
        while time.time() < deadline and self.process.poll() is None:
            try:
                if self.connection().request_json("GET", "/readyz")[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.05)
        raise RuntimeError(f"server on {db} not ready (exit status {self.process.poll()})")

    def connection(self):
        return Connection(self.host, self.port)

    def stop(self):
        self.process.terminate()
        self.process.wait(30)


class Connection:
    def __init__(self, host, port):
        self.http = http.client.HTTPConnection(host, port, timeout=60)

    def request_json(self, method, path, body=None, content_type=None):
        headers = {"Content-Type": content_type} if content_type else {}
        self.http.request(method, path, body=body, headers=headers)
        response = self.http.getresponse()
        data = response.read()
        try:
            return response.status, json.loads(data) if data else {}
        except ValueError:
            return response.status, {}


def plain_model(model, parent):
    """`model` without its demo.json (symlinks in a folder of the same name under `parent`, the
    name being the model's): a demo model would index its gallery into the library on start, which
    would compete with what is being measured."""
    folder = os.path.join(parent, os.path.basename(os.path.normpath(model)))
    os.mkdir(folder)
    for name in os.listdir(model):
        if name not in ("demo.json", "gallery"):
            os.symlink(os.path.join(os.path.abspath(model), name), os.path.join(folder, name))
    return folder


def percentile(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, max(0, int(round(p / 100 * (len(values) - 1)))))]


def load():
    return os.getloadavg()


def random_png(seed, size=48):
    """A small PNG of seeded noise (distinct bytes per seed), standard library only."""
    import random, struct, zlib
    rng = random.Random(seed)
    raw = b"".join(b"\x00" + bytes(rng.getrandbits(8) for _ in range(size * 3)) for _ in range(size))
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))
