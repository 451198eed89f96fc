#!/usr/bin/env python3
"""The hostile-client attacks of DESIGN.md section 5, each against a fresh `clip-server serve` on
loopback: what it answered, how long it took, and the server's peak resident memory (VmHWM).
Measures, asserts nothing (the tests assert the behaviour).

    bench/attacks.py --binary .build/debug/clip-server [--model Tests/CLIPTests/Fixtures/model/tiny-hf-f16]

One JSON line per attack on stdout. Standard library only; traffic goes to 127.0.0.1 only.
"""
import argparse, json, os, socket, struct, subprocess, tempfile, threading, time, urllib.request, urllib.error, zlib

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def png(width, height, chunks=()):
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    raw = b"".join(b"\0" + b"\x80" * width for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
            + b"".join(chunk(k, d) for k, d in chunks) + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))


class Server:
    def __init__(self, binary, model, extra=()):
        self.dir = tempfile.mkdtemp(prefix="attacks-")
        self.proc = subprocess.Popen([binary, "serve", "--model", model, "--db", os.path.join(self.dir, "i.sqlite"),
                                      "--port", "0", *extra], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, cwd=ROOT)
        self.port = int(json.loads(self.proc.stdout.readline())["listening"].rsplit(":", 1)[1])
        for _ in range(400):
            try:
                if urllib.request.urlopen(self.url("/readyz"), timeout=5).status == 200:
                    break
            except (urllib.error.URLError, ConnectionError):
                time.sleep(0.05)

    def url(self, path):
        return f"http://127.0.0.1:{self.port}{path}"

    def peak_mb(self):
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024

    def alive(self):
        return self.proc.poll() is None

    def stop(self):
        self.proc.kill()
        self.proc.wait()


def request(url, body=None, headers=None, method=None, timeout=40):
    req = urllib.request.Request(url, data=body, headers=headers or {}, method=method)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.read()[:200].decode(errors="replace")
    except urllib.error.HTTPError as e:
        return e.code, e.read()[:200].decode(errors="replace")
    except Exception as e:  # a timeout, a reset: what a client would see
        return None, f"{type(e).__name__}: {e}"[:200]


def raw(port, data, timeout=10):
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    s.sendall(data)
    out = b""
    try:
        while True:
            b = s.recv(65536)
            if not b:
                break
            out += b
    except socket.timeout:
        out += b"<timed out>"
    s.close()
    return out.split(b"\r\n", 1)[0].decode(errors="replace")


def attacks(port):
    big_text = zlib.compress(b" " * (8 << 20), 9)
    yield "png_60000000x1", lambda: request(f"http://127.0.0.1:{port}/index?name=thin.png", png(60_000_000, 1),
                                            {"Content-Type": "image/png"})
    yield "png_300_ztxt_chunks", lambda: request(f"http://127.0.0.1:{port}/index?name=text.png",
                                                 png(64, 64, [(b"zTXt", b"Comment\0\0" + big_text)] * 300),
                                                 {"Content-Type": "image/png"})
    yield "search_120kb_nested_entities", lambda: request(f"http://127.0.0.1:{port}/search",
                                                          json.dumps({"text": "&" + "amp;" * 30000}).encode(),
                                                          {"Content-Type": "application/json"})
    yield "classify_2000000_labels", lambda: request(f"http://127.0.0.1:{port}/classify",
                                                     json.dumps({"image_id": 1, "labels": ["a"] * 2_000_000}).encode(),
                                                     {"Content-Type": "application/json"})
    yield "body_64mb_connection_close", lambda: request(f"http://127.0.0.1:{port}/index", b"\xff" * (64 << 20),
                                                        {"Content-Type": "image/jpeg", "Connection": "close"})
    yield "foreign_host_get_images", lambda: (raw(port, b"GET /images HTTP/1.1\r\nHost: evil.example\r\nConnection: close\r\n\r\n"), "")
    boundary = b"xx"
    form = (b"--xx\r\nContent-Disposition: form-data; name=\"image\"; filename=\"a.png\"\r\nContent-Type: image/png\r\n\r\n"
            + png(32, 32) + b"\r\n--xx--\r\n")
    yield "foreign_origin_upload", lambda: (raw(port, b"POST /index HTTP/1.1\r\nHost: 127.0.0.1\r\nOrigin: http://evil.example\r\n"
                                               b"Connection: close\r\nContent-Type: multipart/form-data; boundary=xx\r\n"
                                               + f"Content-Length: {len(form)}\r\n\r\n".encode() + form), "")
    photo = open(os.path.join(ROOT, "Tests/CLIPTests/Fixtures/images/jpeg-large-2400x1800.jpg"), "rb").read()

    def flood():
        results = []
        def one(i):
            results.append(request(f"http://127.0.0.1:{port}/index?name={i}.jpg", photo + bytes([i]),
                                   {"Content-Type": "image/jpeg"}, timeout=120)[0])
        threads = [threading.Thread(target=one, args=(i,)) for i in range(64)]
        [t.start() for t in threads]
        [t.join() for t in threads]
        return "statuses", {str(k): results.count(k) for k in set(results)}
    yield "upload_flood_64_at_once", flood

    def half_sent():
        socks = []
        for _ in range(400):
            s = socket.create_connection(("127.0.0.1", port))
            s.sendall(b"GET /images HTTP/1.1\r\nHost: loc")
            socks.append(s)
        time.sleep(35)
        still_open = 0
        for s in socks:
            s.setblocking(False)
            try:
                still_open += 0 if s.recv(1) == b"" else 1
            except BlockingIOError:
                still_open += 1
            except OSError:
                pass
            s.close()
        return "open_after_35s", still_open
    yield "half_sent_requests_400", half_sent


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--binary", default=os.path.join(ROOT, ".build/debug/clip-server"))
    parser.add_argument("--model", default=os.path.join(ROOT, "Tests/CLIPTests/Fixtures/model/tiny-hf-f16"))
    parser.add_argument("--only", default="")
    args = parser.parse_args()
    for name, attack in attacks(0):
        if args.only and not any(part in name for part in args.only.split(",")):
            continue
        server = Server(args.binary, args.model)
        try:
            run = dict(attacks(server.port))[name]
            start = time.time()
            status, detail = run()
            print(json.dumps({"attack": name, "seconds": round(time.time() - start, 2), "answer": status, "detail": detail,
                              "peak_rss_mb": round(server.peak_mb(), 1), "server_alive": server.alive()}), flush=True)
        finally:
            server.stop()


if __name__ == "__main__":
    main()
