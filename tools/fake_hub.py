#!/usr/bin/env python3
"""A stand-in for the Hugging Face Hub on 127.0.0.1, for the ModelHub tests (stdlib only).

Serves every file of --root as one repository at any revision, the way the hub does:
  GET /api/models/OWNER/NAME/tree/REV        JSON list: {"type","oid","size","path"[,"lfs":{"oid","size","pointerSize"}]}
                                             (oid = git blob sha1; lfs.oid = sha256), paged with Link: rel="next"
  GET /OWNER/NAME/resolve/REV/PATH           the bytes; LFS files (--lfs suffixes) redirect 302 to /cdn/SHA256 first
  GET /api/models/OWNER/NAME/discussions?p=N {"discussions":[...],"count","start"}: with --pr-file, one open pull
                                             request #1 "Adding `safetensors` variant of this model"
  Range: bytes=A- / bytes=A-B                206 + Content-Range; 416 when A >= size
Listens on a port chosen by the OS and prints "PORT N" as its first stdout line.

Test knobs: --pr-file FILE lists and serves FILE only at revision refs/pr/1 (as the hub's safetensors
conversion pull requests do); --wrong-checksum FILE advertises a checksum that the bytes will not match;
--truncate-after N sends only N bytes of a file's first full-body response, then drops the connection;
--page-size N pages the tree listing; --log PATH appends one JSON line per request (method, path, range).

Re-run by hand: python3 tools/fake_hub.py --root DIR [--log requests.jsonl]
"""
import argparse
import hashlib
import json
import os
import signal
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlparse


def git_blob_sha1(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def exit_when_parent_goes() -> None:
    """The test keeps our stdin open; EOF means it ended (even if killed), so no server is left behind."""
    sys.stdin.buffer.read()
    os._exit(0)


def main() -> None:
    # A parent's blocked signal mask is inherited through exec: let SIGTERM/SIGINT end us again.
    signal.pthread_sigmask(signal.SIG_UNBLOCK, [signal.SIGTERM, signal.SIGINT])
    parser = argparse.ArgumentParser()
    parser.add_argument("--root", required=True)
    parser.add_argument("--lfs", default=".safetensors,.bin,.msgpack,.h5",
                        help="comma-separated suffixes stored in LFS")
    parser.add_argument("--wrong-checksum", action="append", default=[])
    parser.add_argument("--truncate-after", type=int, default=None)
    parser.add_argument("--page-size", type=int, default=1000)
    parser.add_argument("--pr-file", action="append", default=[])
    parser.add_argument("--log", default=None)
    parser.add_argument("--exit-on-stdin-eof", action="store_true")
    args = parser.parse_args()
    if args.exit_on_stdin_eof:
        threading.Thread(target=exit_when_parent_goes, daemon=True).start()

    lfs_suffixes = tuple(s for s in args.lfs.split(",") if s)
    files = {}  # path -> bytes
    for name in sorted(os.listdir(args.root)):
        full = os.path.join(args.root, name)
        if os.path.isfile(full):
            with open(full, "rb") as f:
                files[name] = f.read()

    def entry(path: str) -> dict:
        data = files[path]
        advertised = b"not these bytes" + data if path in args.wrong_checksum else data
        if path.endswith(lfs_suffixes):
            pointer = b"version https://git-lfs.github.com/spec/v1\noid sha256:%s\nsize %d\n" % (
                hashlib.sha256(advertised).hexdigest().encode(), len(data))
            return {"type": "file", "oid": git_blob_sha1(pointer), "size": len(data), "path": path,
                    "lfs": {"oid": hashlib.sha256(advertised).hexdigest(), "size": len(data),
                            "pointerSize": len(pointer)}}
        return {"type": "file", "oid": git_blob_sha1(advertised), "size": len(data), "path": path}

    directory = [{"type": "directory", "oid": "0" * 40, "size": 0, "path": "onnx"}]
    listings = {"main": [entry(p) for p in files if p not in args.pr_file] + directory,
                "refs/pr/1": [entry(p) for p in files] + directory}

    def on_revision(path: str, revision: str) -> bool:
        return path in files and (revision == "refs/pr/1" or path not in args.pr_file)
    by_sha256 = {hashlib.sha256(d).hexdigest(): p for p, d in files.items()}
    truncated = set()
    log_lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *a):  # quiet: the test reads --log instead
            pass

        def record(self):
            if args.log:
                with log_lock, open(args.log, "a") as f:
                    f.write(json.dumps({"method": self.command, "path": self.path,
                                        "range": self.headers.get("Range")}) + "\n")

        def send_json(self, body, link=None):
            raw = json.dumps(body).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(raw)))
            if link:
                self.send_header("Link", link)
            self.end_headers()
            self.wfile.write(raw)

        def send_status(self, status):
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def send_file(self, path):
            data = files[path]
            start, end = 0, len(data) - 1
            header = self.headers.get("Range")
            if header and header.startswith("bytes="):
                first, _, last = header[len("bytes="):].partition("-")
                start = int(first)
                if last:
                    end = min(int(last), end)
                if start >= len(data):
                    self.send_response(416)
                    self.send_header("Content-Range", "bytes */%d" % len(data))
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                self.send_response(206)
                self.send_header("Content-Range", "bytes %d-%d/%d" % (start, end, len(data)))
            else:
                self.send_response(200)
            body = data[start:end + 1]
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Accept-Ranges", "bytes")
            self.end_headers()
            if args.truncate_after is not None and not header and path not in truncated:
                truncated.add(path)
                self.wfile.write(body[:args.truncate_after])
                self.wfile.flush()
                self.close_connection = True
                return
            self.wfile.write(body)

        def do_GET(self):
            self.record()
            url = urlparse(self.path)
            parts = [unquote(p) for p in url.path.split("/") if p]
            if len(parts) == 5 and parts[:2] == ["api", "models"] and parts[4] == "discussions":
                pulls = [{"num": 1, "title": "Adding `safetensors` variant of this model", "status": "open",
                          "isPullRequest": True}] if args.pr_file else []
                discussions = [{"num": 2, "title": "How do I use this?", "status": "open", "isPullRequest": False}]
                return self.send_json({"discussions": discussions + pulls, "count": 1 + len(pulls), "start": 0})
            if len(parts) >= 6 and parts[:2] == ["api", "models"] and parts[4] == "tree":
                listing = listings.get("/".join(parts[5:]))
                if listing is None:
                    return self.send_status(404)
                cursor = int(parse_qs(url.query).get("cursor", ["0"])[0])
                page = listing[cursor:cursor + args.page_size]
                link = None
                if cursor + args.page_size < len(listing):
                    link = '<%s?cursor=%d>; rel="next"' % (url.path, cursor + args.page_size)
                return self.send_json(page, link)
            if len(parts) >= 5 and parts[2] == "resolve":
                path = "/".join(parts[4:])
                if not on_revision(path, parts[3]):
                    return self.send_status(404)
                if path.endswith(lfs_suffixes):
                    self.send_response(302)
                    self.send_header("Location", "/cdn/" + hashlib.sha256(files[path]).hexdigest())
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                return self.send_file(path)
            if len(parts) == 2 and parts[0] == "cdn" and parts[1] in by_sha256:
                return self.send_file(by_sha256[parts[1]])
            self.send_status(404)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    print("PORT %d" % server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
