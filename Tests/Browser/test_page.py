"""The browser page (Public/) against the real server, in the system's headless Chromium.

Run from the repository root after `swift build` (or simply `make test-browser`):

    python3 -m venv .venv-browser && .venv-browser/bin/pip install playwright==1.65.2
    .venv-browser/bin/python Tests/Browser/test_page.py

Environment: CHROMIUM (default /usr/bin/chromium), CLIP_SERVER (default .build/debug/clip-server).
Starts `clip-server serve` with the tiny fixture model on temporary databases, indexes fixture
images through the HTTP API, then checks from the DOM what a user sees: thumbnails that loaded with
scores and sources, the query in the URL, keyboard navigation, the larger view and "more like this",
uploads through the file picker and a drag-and-drop (indexed, duplicate, the server's own error),
delete, the empty state on a fresh database, and the API-key prompt; autocut (on by default, the toggle
kept), the combined-query builder (library images, a text, an image file, weights: the `queries` sent
and the results shown), and the near-duplicates section (groups, deleting the extras behind the API
key). Screenshots go to screenshots/.
Every server started here is killed at the end, also when a check fails.
"""

import base64
import json
import os
import re
import select
import shutil
import struct
import subprocess
import sys
import tempfile
import time
import traceback
import urllib.error
import urllib.parse
import urllib.request
import uuid
import zlib
from pathlib import Path

from playwright.sync_api import expect, sync_playwright

ROOT = Path(__file__).resolve().parents[2]
SERVER = Path(os.environ.get("CLIP_SERVER", ROOT / ".build/debug/clip-server"))
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
MODEL = ROOT / "Tests/CLIPTests/Fixtures/model/tiny-hf-f16"
IMAGES = ROOT / "Tests/CLIPTests/Fixtures/images"
SHOTS = ROOT / "screenshots"

# Indexed through the API before the page is loaded.
PRELOADED = ["jpeg-baseline-landscape-640x480.jpg", "jpeg-progressive-portrait-480x640.jpg",
             "png-rgb-odd-333x517.png", "png-rgba-300x200.png"]
NOT_AN_IMAGE = b"this file is plain text, not a JPEG or PNG\n"
TIMEOUT_MS = 20_000


# MARK: - The server

class Server:
    """`clip-server serve --port 0` on a database in its own temporary folder."""

    def __init__(self, *extra_args):
        self.folder = tempfile.TemporaryDirectory(prefix="clip-page-test-")
        self.log_path = Path(self.folder.name) / "server.log"
        self.log = open(self.log_path, "w")
        args = [str(SERVER), "serve", "--model", str(MODEL), "--db", str(Path(self.folder.name) / "index.sqlite"),
                "--port", "0", "--public", str(ROOT / "Public"), *extra_args]
        self.process = subprocess.Popen(args, cwd=ROOT, stdout=subprocess.PIPE, stderr=self.log)
        self.url = self._listening_url(timeout=30)
        self._wait_ready(timeout=60)

    def _listening_url(self, timeout):
        deadline = time.monotonic() + timeout
        line = b""
        while time.monotonic() < deadline and not line.endswith(b"\n"):
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited with {self.process.returncode}:\n{self.log_text()}")
            ready, _, _ = select.select([self.process.stdout], [], [], 0.2)
            if ready:
                line += os.read(self.process.stdout.fileno(), 4096)
        if not line:
            raise RuntimeError(f"server printed no listening line within {timeout}s:\n{self.log_text()}")
        return json.loads(line.decode().splitlines()[0])["listening"]

    def _wait_ready(self, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            status, _ = self.request("GET", "/readyz")
            if status == 200:
                return
            time.sleep(0.2)
        raise RuntimeError(f"/readyz not 200 within {timeout}s:\n{self.log_text()}")

    def request(self, method, path, body=None, headers=None):
        """(status, parsed JSON or raw bytes); never raises on an HTTP error status."""
        request = urllib.request.Request(self.url + path, data=body, method=method, headers=headers or {})
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                status, data = response.status, response.read()
        except urllib.error.HTTPError as error:
            status, data = error.code, error.read()
        except (urllib.error.URLError, ConnectionError):
            return 0, None
        try:
            return status, json.loads(data)
        except ValueError:
            return status, data

    def index(self, name, data, headers=None):
        boundary = uuid.uuid4().hex
        body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"image\"; filename=\"{name}\"\r\n"
                f"Content-Type: application/octet-stream\r\n\r\n").encode() + data + f"\r\n--{boundary}--\r\n".encode()
        return self.request("POST", "/index", body, {"Content-Type": f"multipart/form-data; boundary={boundary}", **(headers or {})})

    def log_text(self):
        self.log.flush()
        return self.log_path.read_text()[-4000:]

    def stop(self):
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()
        self.folder.cleanup()


# MARK: - Page helpers

def open_page(browser, width=1280, height=900, autocut=False):
    """A page in a fresh browser context. Autocut is turned off (the page keeps that choice in
    localStorage) unless asked for: the older checks expect every result."""
    page = browser.new_page(viewport={"width": width, "height": height})
    if not autocut:
        page.add_init_script("try { localStorage.setItem('clip-server.autocut', 'off'); } catch (e) {}")
    page.set_default_timeout(TIMEOUT_MS)
    page.errors = []
    page.on("pageerror", lambda error: page.errors.append(str(error)))
    return page


def wait_for_thumbnails(page, count):
    """All `count` result thumbnails are in the DOM and decoded (complete, non-zero natural size)."""
    page.wait_for_function(
        """count => {
            const images = [...document.querySelectorAll('#results .hit img')];
            return images.length === count && images.every(img => img.complete && img.naturalWidth > 0);
        }""", arg=count)


def rendered_results(page):
    return page.eval_on_selector_all("#results .hit", """buttons => buttons.map(b => ({
        id: Number(b.dataset.id),
        source: b.querySelector('.source').textContent,
        score: b.querySelector('.score').textContent,
        alt: b.querySelector('img').alt,
        src: b.querySelector('img').getAttribute('src'),
        loaded: b.querySelector('img').naturalWidth > 0,
    }))""")


def upload_lines(page):
    page.wait_for_function("document.getElementById('upload-text').textContent.startsWith('Done:')")
    return page.eval_on_selector_all("#upload-results li", "items => items.map(li => [li.className, li.textContent])")


def drop_files(page, files):
    """A synthetic drag-and-drop of `files` ([(name, bytes)]) onto the page body, as Chromium fires it."""
    payload = [{"name": name, "data": base64.b64encode(data).decode()} for name, data in files]
    page.evaluate("""files => {
        const transfer = new DataTransfer();
        for (const f of files) {
            const bytes = Uint8Array.from(atob(f.data), c => c.charCodeAt(0));
            transfer.items.add(new File([bytes], f.name, { type: f.name.endsWith('.png') ? 'image/png' : 'image/jpeg' }));
        }
        const fire = type => document.body.dispatchEvent(new DragEvent(type, { dataTransfer: transfer, bubbles: true, cancelable: true }));
        fire('dragenter');
        fire('dragover');
        window.__overlayShown = document.body.classList.contains('dragging');
        fire('drop');
    }""", payload)
    assert page.evaluate("window.__overlayShown"), "the drop overlay did not show during the drag"


def with_text_chunk(png, text):
    """The same PNG (same pixels) with a tEXt chunk after IHDR: other bytes, another image id."""
    data = b"Comment\x00" + text.encode()
    chunk = struct.pack(">I", len(data)) + b"tEXt" + data + struct.pack(">I", zlib.crc32(b"tEXt" + data) & 0xFFFFFFFF)
    return png[:33] + chunk + png[33:]


def post_json(server, path, body):
    return server.request("POST", path, json.dumps(body).encode(), {"Content-Type": "application/json"})


def searches_sent(page):
    """The JSON bodies of the page's POST /search requests, in order (a list that grows)."""
    sent = []
    page.on("request", lambda request: sent.append(json.loads(request.post_data))
            if request.method == "POST" and urllib.parse.urlparse(request.url).path == "/search" else None)
    return sent


def check(condition, message):
    if not condition:
        raise AssertionError(message)


# MARK: - Checks

def check_search_page(browser, server):
    query = "a photo of a dog"
    page = open_page(browser)
    page.goto(server.url + "/?" + urllib.parse.urlencode({"q": query}))
    wait_for_thumbnails(page, len(PRELOADED))
    expect(page.locator("#q")).to_have_value(query)

    # What the page shows is what the server answers, in its order.
    status, answer = server.request("POST", "/search", json.dumps({"text": query, "k": 24}).encode(),
                                    {"Content-Type": "application/json"})
    check(status == 200, f"/search answered {status}: {answer}")
    shown = rendered_results(page)
    check([r["id"] for r in shown] == [r["id"] for r in answer["results"]], f"order differs: {shown} vs {answer}")
    for row, hit in zip(shown, answer["results"]):
        check(row["score"] == f"{hit['score']:.3f}", f"score shown {row['score']} for {hit}")
        check(row["source"] == hit["source"] and row["alt"] == hit["source"], f"source/alt {row} for {hit}")
        check(row["src"] == hit["thumbnail_url"] and row["loaded"], f"thumbnail {row}")
    check(sorted(r["source"] for r in shown) == sorted(PRELOADED), f"sources {shown}")
    expect(page.locator("#status")).to_contain_text(f"{len(PRELOADED)} results for “{query}”")

    # Demo banner: shown with the note exactly when /readyz says demo (absent fields: hidden).
    _, ready = server.request("GET", "/readyz")
    if ready.get("demo") is True:
        expect(page.locator("#demo-banner")).to_be_visible()
        expect(page.locator("#demo-banner")).to_contain_text(ready.get("demo_note", ""))
    else:
        expect(page.locator("#demo-banner")).to_be_hidden()
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=SHOTS / "page-desktop.png", full_page=True)

    # Phone width: the grid reflows, nothing wider than the screen.
    page.set_viewport_size({"width": 375, "height": 812})
    page.wait_for_timeout(200)
    width = page.evaluate("document.documentElement.scrollWidth")
    check(width <= 375, f"page is {width}px wide at a 375px viewport")
    page.screenshot(path=SHOTS / "page-phone.png", full_page=True)
    page.set_viewport_size({"width": 1280, "height": 900})

    # Reloading re-runs the query from the URL.
    page.evaluate("document.getElementById('results').replaceChildren()")
    page.reload()
    wait_for_thumbnails(page, len(PRELOADED))
    expect(page.locator("#q")).to_have_value(query)

    # Typing updates the URL (debounced, replaceState); Enter pushes; back restores the earlier query.
    page.fill("#q", "red car")
    page.wait_for_url(re.compile(r"\?q=red\+car$"))
    expect(page.locator("#status")).to_contain_text("results for “red car”")
    page.fill("#q", "blue sky")
    page.press("#q", "Enter")
    page.wait_for_url(re.compile(r"\?q=blue\+sky$"))
    expect(page.locator("#status")).to_contain_text("results for “blue sky”")
    page.go_back()
    page.wait_for_url(re.compile(r"\?q=red\+car$"))
    expect(page.locator("#q")).to_have_value("red car")
    expect(page.locator("#status")).to_contain_text("results for “red car”")

    # Negative terms and the result count go to the server and into the URL.
    page.fill("#without", "text, blur")
    page.select_option("#k", "12")
    page.wait_for_url(re.compile(r"without=text%2C\+blur&k=12$"))
    wait_for_thumbnails(page, len(PRELOADED))
    check(not page.errors, f"page errors: {page.errors}")
    page.close()


def check_viewer_and_keyboard(browser, server):
    page = open_page(browser)
    page.goto(server.url + "/?q=mountains")
    wait_for_thumbnails(page, len(PRELOADED))
    hits = page.locator("#results .hit")

    # Arrow keys move focus through the results; Enter opens the focused one.
    hits.nth(0).focus()
    page.keyboard.press("ArrowRight")
    check(page.evaluate("document.activeElement === document.querySelectorAll('#results .hit')[1]"),
          "ArrowRight did not move focus to the second result")
    page.keyboard.press("ArrowLeft")
    page.keyboard.press("End")
    check(page.evaluate("document.activeElement === [...document.querySelectorAll('#results .hit')].at(-1)"),
          "End did not move focus to the last result")
    page.keyboard.press("Home")
    opened = rendered_results(page)[0]
    page.keyboard.press("Enter")
    expect(page.locator("#viewer")).to_be_visible()
    expect(page.locator("#viewer-title")).to_have_text(opened["source"])
    page.wait_for_function("(() => { const i = document.getElementById('viewer-image'); return i.complete && i.naturalWidth > 0; })()")
    check(page.get_attribute("#viewer-image", "src") == f"/images/{opened['id']}", "the viewer does not show the original")
    page.screenshot(path=SHOTS / "page-viewer.png")

    # "More like this": an image_id query, in the URL; the image itself comes first with cosine 1.
    page.click("#viewer-like")
    page.wait_for_url(re.compile(rf"\?like={opened['id']}$"))
    expect(page.locator("#viewer")).to_be_hidden()
    wait_for_thumbnails(page, len(PRELOADED))
    first = rendered_results(page)[0]
    check(first["id"] == opened["id"] and first["score"] == "1.000", f"more like this began with {first}")
    expect(page.locator("#status")).to_contain_text(f"results for images like {opened['source']}")
    page.reload()
    wait_for_thumbnails(page, len(PRELOADED))
    check(rendered_results(page)[0]["id"] == opened["id"], "reloading a more-like-this URL lost the query")
    expect(page.locator("#status")).to_contain_text(f"results for images like {opened['source']}")
    check(not page.errors, f"page errors: {page.errors}")
    page.close()


def check_loading_demo_and_errors(browser, server):
    """States the real server passes through but too quickly to catch: /readyz 503 while the model
    loads, then the extended /readyz of a demo model; and failures, shown in the page."""
    page = open_page(browser)
    note = "Demo weights: run clip-server fetch-model for the real CLIP model."
    calls = []

    def readyz(route):
        calls.append(1)
        if len(calls) <= 2:
            route.fulfill(status=503, content_type="application/json",
                          body=json.dumps({"error": {"code": "not_ready", "message": "the model or the database is not loaded yet"}}))
        else:
            route.fulfill(status=200, content_type="application/json",
                          body=json.dumps({"status": "ready", "model": "tiny-hf-f16", "images": 4, "demo": True, "demo_note": note}))

    page.route("**/readyz", readyz)
    page.goto(server.url + "/?q=dog")
    expect(page.locator("#status")).to_have_text("Loading model… (retrying)")
    wait_for_thumbnails(page, len(PRELOADED))
    check(len(calls) >= 3, f"/readyz asked {len(calls)} times")
    expect(page.locator("#demo-banner")).to_be_visible()
    expect(page.locator("#demo-banner")).to_contain_text(note)
    expect(page.locator("#model-info")).to_have_text("Model: tiny-hf-f16 · 4 images indexed")
    page.screenshot(path=SHOTS / "page-demo.png")

    # The network gone: said in the page, not only in the console.
    page.route("**/search", lambda route: route.abort())
    page.fill("#q", "cat")
    page.press("#q", "Enter")
    expect(page.locator("#status")).to_contain_text("Search failed: cannot reach the server")
    expect(page.locator("#status")).to_have_class("error")
    page.unroute("**/search")

    # A real error from the server (unknown id): its message is shown.
    status, answer = server.request("POST", "/search", json.dumps({"image_id": 999999}).encode(), {"Content-Type": "application/json"})
    check(status == 404, f"unknown image_id answered {status}")
    page.goto(server.url + "/?like=999999")
    expect(page.locator("#status")).to_have_text(f"Search failed: {answer['error']['message']}")
    check(page.locator("#results li").count() == 0, "results shown for a failed search")
    check(not page.errors, f"page errors: {page.errors}")
    page.close()


def check_uploads(browser, server):
    page = open_page(browser)
    page.goto(server.url + "/")
    expect(page.locator("#status")).to_contain_text(f"{len(PRELOADED)} images indexed")

    # The server's own message for the bad file, asked directly.
    status, refused = server.index("notes.jpg", NOT_AN_IMAGE)
    check(status == 422, f"the server accepted a text file: {status} {refused}")
    server_message = refused["error"]["message"]

    # File picker: one new image, one already indexed, one that is not an image.
    new_file = IMAGES / "jpeg-gray-300x400.jpg"
    page.set_input_files("#files", [  # Playwright takes paths or buffers, not both in one call
        {"name": new_file.name, "mimeType": "image/jpeg", "buffer": new_file.read_bytes()},
        {"name": PRELOADED[0], "mimeType": "image/jpeg", "buffer": (IMAGES / PRELOADED[0]).read_bytes()},
        {"name": "notes.jpg", "mimeType": "image/jpeg", "buffer": NOT_AN_IMAGE},
    ])
    lines = upload_lines(page)
    check(len(lines) == 3, f"upload results: {lines}")
    check(lines[0][0] == "ok" and re.fullmatch(r"jpeg-gray-300x400\.jpg: indexed as #\d+", lines[0][1]), f"new file: {lines[0]}")
    check(lines[1][0] == "duplicate" and "duplicate" in lines[1][1], f"duplicate: {lines[1]}")
    # The server's message, named once ("notes.jpg: ..." unless the server already names the file).
    expected = server_message if server_message.startswith("notes.jpg:") else f"notes.jpg: {server_message}"
    check(lines[2][0] == "failed" and lines[2][1] == expected, f"bad file: {lines[2]} vs {server_message}")
    expect(page.locator("#upload-text")).to_have_text("Done: 1 indexed, 1 duplicate, 1 failed.")
    check(page.evaluate("document.getElementById('upload-bar').value === document.getElementById('upload-bar').max"),
          "the progress bar did not reach its end")
    # The browse grid refreshes with the new image.
    wait_for_thumbnails(page, len(PRELOADED) + 1)
    page.screenshot(path=SHOTS / "page-upload.png", full_page=True)

    # Drag and drop: one new image, one duplicate.
    drop_files(page, [("png-gray-250x250.png", (IMAGES / "png-gray-250x250.png").read_bytes()),
                      ("again.png", (IMAGES / PRELOADED[3]).read_bytes())])
    lines = upload_lines(page)
    check(len(lines) == 2, f"drop results: {lines}")
    check(lines[0][0] == "ok" and lines[0][1].startswith("png-gray-250x250.png: indexed as #"), f"dropped new: {lines[0]}")
    check(lines[1][0] == "duplicate", f"dropped duplicate: {lines[1]}")
    wait_for_thumbnails(page, len(PRELOADED) + 2)
    _, listing = server.request("GET", "/images?limit=100")
    check(listing["total"] == len(PRELOADED) + 2, f"index holds {listing['total']} images")
    check(not page.errors, f"page errors: {page.errors}")
    page.close()


def check_delete(browser, server):
    page = open_page(browser)
    page.goto(server.url + "/?q=gray")
    page.wait_for_selector("#results .hit img")
    victim = rendered_results(page)[0]
    page.locator("#results .hit").first.click()
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("#viewer-delete")
    expect(page.locator("#viewer")).to_be_hidden()
    expect(page.locator("#status")).to_contain_text(f"Deleted {victim['source']}.")
    status, _ = server.request("GET", f"/images/{victim['id']}")
    check(status == 404, f"image {victim['id']} still served after delete ({status})")
    check(victim["id"] not in [r["id"] for r in rendered_results(page)], "the deleted image is still shown")
    check(not page.errors, f"page errors: {page.errors}")
    page.close()


def check_fresh_database_and_api_key(browser):
    key = "page-test-key"
    server = Server("--api-key", key)
    try:
        page = open_page(browser)
        page.goto(server.url + "/")
        expect(page.locator("#status")).to_have_text("No images indexed yet: add some below.")
        page.goto(server.url + "/?q=anything")
        expect(page.locator("#status")).to_have_text("No images indexed yet: add some below.")
        check(page.locator("#results li").count() == 0, "results shown on an empty index")

        # Upload without the key: the page says so and opens the key form.
        page.set_input_files("#files", [IMAGES / PRELOADED[0]])
        lines = upload_lines(page)
        check(lines[0][0] == "failed" and "API key" in lines[0][1], f"upload without key: {lines}")
        expect(page.locator("#key-note")).to_contain_text("Uploading needs an API key.")
        expect(page.locator("#api-key")).to_be_focused()
        page.fill("#api-key", key)
        page.click("#key-form button[type=submit]")
        page.set_input_files("#files", [IMAGES / PRELOADED[0]])
        lines = upload_lines(page)
        check(lines[0][0] == "ok", f"upload with key: {lines}")
        wait_for_thumbnails(page, 1)

        # Delete with the key forgotten: 401 in the viewer, enter the key there, deleted.
        page.click("#key-forget")
        page.locator("#results .hit").first.click()
        page.once("dialog", lambda dialog: dialog.accept())
        page.click("#viewer-delete")
        expect(page.locator("#viewer-status")).to_contain_text("Deleting needs an API key")
        expect(page.locator("#viewer-api-key")).to_be_focused()
        page.fill("#viewer-api-key", key)
        page.click("#viewer-key button")
        expect(page.locator("#viewer")).to_be_hidden()
        expect(page.locator("#status")).to_contain_text("No images indexed yet")
        _, listing = server.request("GET", "/images?limit=1")
        check(listing["total"] == 0, f"index not empty after delete: {listing}")
        check(not page.errors, f"page errors: {page.errors}")
        page.close()
    finally:
        server.stop()


def check_autocut_and_builder(browser, server):
    page = open_page(browser, autocut=True)
    sent = searches_sent(page)
    query = "a photo of a dog"

    # Autocut is on by default: the request carries it and the page shows what the server answers to it.
    page.goto(server.url + "/?" + urllib.parse.urlencode({"q": query}))
    expect(page.locator("#status")).to_contain_text(f"for “{query}”")
    expect(page.locator("#autocut")).to_be_checked()
    check(sent and sent[-1].get("autocut") == 1, f"autocut not sent: {sent}")
    _, cut = post_json(server, "/search", {"text": query, "k": 24, "autocut": 1})
    wait_for_thumbnails(page, len(cut["results"]))
    check([r["id"] for r in rendered_results(page)] == [r["id"] for r in cut["results"]], f"autocut results {cut}")

    # Turned off: every result, and the choice survives a reload.
    page.uncheck("#autocut")
    wait_for_thumbnails(page, len(PRELOADED))
    check("autocut" not in sent[-1], f"autocut sent while off: {sent[-1]}")
    page.reload()
    wait_for_thumbnails(page, len(PRELOADED))
    expect(page.locator("#autocut")).not_to_be_checked()
    page.check("#autocut")
    expect(page.locator("#status")).to_contain_text(f"for “{query}”")

    # "More like this" starts a combined query with that image; "Add to combined query" adds another.
    page.uncheck("#autocut")
    wait_for_thumbnails(page, len(PRELOADED))
    shown = rendered_results(page)
    page.locator("#results .hit").nth(0).click()
    page.click("#viewer-like")
    page.wait_for_url(re.compile(rf"\?like={shown[0]['id']}$"))
    expect(page.locator("#builder")).to_be_visible()
    parts = page.locator("#builder-parts .part")
    expect(parts).to_have_count(1)
    check(parts.nth(0).get_attribute("data-kind") == "image_id", "the first part is not the library image")
    wait_for_thumbnails(page, len(PRELOADED))
    page.locator("#results .hit").nth(1).click()
    page.click("#viewer-add")
    expect(page.locator("#viewer")).to_be_hidden()
    expect(parts).to_have_count(2)

    # A text with weight 2, an image file with weight -0.5; the second library image removed again.
    page.fill("#builder-text", "a red car")
    page.click("#builder-add-text")
    expect(parts).to_have_count(3)
    page.locator("#builder-parts .part-weight").nth(2).fill("2")
    upload = IMAGES / "png-gray-250x250.png"
    page.set_input_files("#builder-file", [upload])
    expect(parts).to_have_count(4)
    page.locator("#builder-parts .part-weight").nth(3).fill("-0.5")
    page.locator("#builder-parts .part-remove").nth(1).click()
    expect(parts).to_have_count(3)
    page.check("#autocut")
    expect(page.locator("#status")).to_contain_text("for images like")
    before = len(sent)
    page.click("#builder-search")
    expect(page.locator("#status")).to_contain_text("for the combined query (3 parts)")
    body = sent[-1]
    check(len(sent) == before + 1, f"{len(sent) - before} searches sent")
    check(body.get("queries") == [{"image_id": shown[0]["id"], "weight": 1}, {"text": "a red car", "weight": 2},
                                  {"image": base64.b64encode(upload.read_bytes()).decode(), "weight": -0.5}],
          f"queries sent: {json.dumps(body)[:300]}")
    check(body.get("autocut") == 1 and body.get("k") == 24, f"request {json.dumps(body)[:300]}")
    # What the page shows is the server's answer to that request.
    _, answer = post_json(server, "/search", body)
    wait_for_thumbnails(page, len(answer["results"]))
    check([r["id"] for r in rendered_results(page)] == [r["id"] for r in answer["results"]], f"builder results {answer}")
    page.screenshot(path=SHOTS / "page-builder.png", full_page=True)
    # At phone width the open builder still fits the screen.
    page.set_viewport_size({"width": 375, "height": 812})
    page.wait_for_timeout(200)
    width = page.evaluate("document.documentElement.scrollWidth")
    check(width <= 375, f"page with the builder open is {width}px wide at a 375px viewport")
    page.screenshot(path=SHOTS / "page-builder-phone.png", full_page=True)
    page.set_viewport_size({"width": 1280, "height": 900})

    # A weight that is not a number is refused in the page, nothing sent.
    page.locator("#builder-parts .part-weight").nth(1).fill("")
    before = len(sent)
    page.click("#builder-search")
    expect(page.locator("#builder-status")).to_contain_text("must be a number")
    check(len(sent) == before, "a search was sent with a bad weight")
    page.click("#builder-clear")
    expect(parts).to_have_count(0)
    expect(page.locator("#builder-search")).to_be_disabled()
    check(not page.errors, f"page errors: {page.errors}")
    page.close()


def check_duplicates(browser):
    key = "dup-test-key"
    server = Server("--api-key", key)
    try:
        auth = {"Authorization": f"Bearer {key}"}
        original = (IMAGES / PRELOADED[3]).read_bytes()
        ids = []
        for name, data in [("original.png", original), ("copy-1.png", with_text_chunk(original, "one")),
                           ("copy-2.png", with_text_chunk(original, "two")), (PRELOADED[0], (IMAGES / PRELOADED[0]).read_bytes())]:
            status, answer = server.index(name, data, auth)
            check(status == 200 and not answer["indexed"][0]["duplicate"], f"indexing {name}: {status} {answer}")
            ids.append(answer["indexed"][0]["id"])
        _, expected = server.request("GET", "/duplicates?min_score=0.99")
        check([g["ids"] for g in expected["groups"]] == [sorted(ids[:3])], f"/duplicates answered {expected}")

        page = open_page(browser)
        page.on("dialog", lambda dialog: dialog.accept())
        page.goto(server.url + "/")
        page.fill("#dup-min", "0.99")
        page.click("#dup-form button[type=submit]")
        groups = page.locator("#dup-groups .dup-group")
        expect(groups).to_have_count(1)
        expect(page.locator("#dup-status")).to_contain_text("1 group of near-identical images")
        score = expected["groups"][0]["score"]
        expect(groups.nth(0).locator(".dup-heading")).to_have_text(f"3 images, lowest similarity {score:.3f}")
        tiles = groups.nth(0).locator(".dup-tile")
        expect(tiles).to_have_count(3)
        check([int(t) for t in tiles.evaluate_all("tiles => tiles.map(t => t.dataset.id)")] == sorted(ids[:3]), "tile order")
        check(tiles.evaluate_all("tiles => tiles.map(t => t.querySelector('.dup-pick').checked)") == [False, True, True],
              "the extras (all but the oldest) are not the ones ticked")
        page.wait_for_function("[...document.querySelectorAll('.dup-tile img')].every(i => i.complete && i.naturalWidth > 0)")
        expect(groups.nth(0).locator(".dup-delete")).to_have_text("Delete 2 selected images")
        page.screenshot(path=SHOTS / "page-duplicates.png", full_page=True)
        page.set_viewport_size({"width": 375, "height": 812})
        page.wait_for_timeout(200)
        width = page.evaluate("document.documentElement.scrollWidth")
        check(width <= 375, f"page with a duplicate group is {width}px wide at a 375px viewport")
        page.set_viewport_size({"width": 1280, "height": 900})

        # Without the key: refused, the page asks for it; with it, the extras go and the group is done.
        groups.nth(0).locator(".dup-delete").click()
        expect(groups.nth(0).locator(".dup-line")).to_contain_text("Deleting needs an API key")
        expect(page.locator("#key-note")).to_contain_text("Deleting needs an API key.")
        check(server.request("GET", f"/images/{sorted(ids[:3])[1]}")[0] == 200, "deleted without the key")
        page.fill("#api-key", key)
        page.click("#key-form button[type=submit]")
        groups.nth(0).locator(".dup-delete").click()
        expect(groups).to_have_count(0)
        expect(page.locator("#dup-status")).to_contain_text("Deleted 2 images")
        kept, *extras = sorted(ids[:3])
        check(server.request("GET", f"/images/{kept}")[0] == 200, "the kept image is gone")
        for extra in extras:
            check(server.request("GET", f"/images/{extra}")[0] == 404, f"extra {extra} still served")
        _, listing = server.request("GET", "/images?limit=10")
        check(listing["total"] == 2, f"index holds {listing['total']} images")
        # Nothing left to review.
        page.click("#dup-form button[type=submit]")
        expect(page.locator("#dup-status")).to_have_text("No near-duplicates at similarity ≥ 0.99.")
        check(not page.errors, f"page errors: {page.errors}")
        page.close()
    finally:
        server.stop()


def check_library_and_filters(browser):
    """`serve --library`: the page shows the folder's status; the filters go into the request and
    the results keep to them."""
    photos = Path(tempfile.mkdtemp(prefix="clip-page-library-")).resolve()
    try:
        for sub, name in [("a", PRELOADED[0]), ("a", PRELOADED[1]), ("b", PRELOADED[2])]:
            (photos / sub).mkdir(exist_ok=True)
            (photos / sub / name).write_bytes((IMAGES / name).read_bytes())
        server = Server("--library", str(photos))
        try:
            page = open_page(browser)
            sent = searches_sent(page)
            page.goto(server.url + "/?" + urllib.parse.urlencode({"q": "a photo"}))
            expect(page.locator("#library-status")).to_contain_text(f"{photos}: 3 files", timeout=20_000)
            page.reload()   # the first search may have run while the first scan was under way
            wait_for_thumbnails(page, 3)

            page.click("#filters-summary")
            page.fill("#filter-folder", str(photos / "a"))
            page.dispatch_event("#filter-folder", "change")
            wait_for_thumbnails(page, 2)
            check(sent[-1].get("folder") == str(photos / "a"), f"folder not sent: {sent[-1]}")
            _, inside = post_json(server, "/search", sent[-1])
            check(all(r["source"].startswith(str(photos / "a") + "/") for r in inside["results"]), f"outside the folder: {inside}")
            check([r["id"] for r in rendered_results(page)] == [r["id"] for r in inside["results"]],
                  f"page shows {rendered_results(page)}, the server answers {inside}")
            expect(page.locator("#filters-summary")).to_have_text("Filters (1)")

            page.select_option("#filter-sort", "date_desc")
            page.check("#filter-hybrid")
            expect(page.locator("#filters-summary")).to_have_text("Filters (3)")
            check(sent[-1].get("sort") == "date_desc" and sent[-1].get("hybrid") is True, f"sort/hybrid not sent: {sent[-1]}")

            # "to" is inclusive on the page: the request's `before` is the next day.
            page.fill("#filter-before", "2000-01-01")
            page.dispatch_event("#filter-before", "change")
            expect(page.locator("#status")).to_contain_text("No results")
            check(sent[-1].get("before") == "2000-01-02", f"before not sent as the next day: {sent[-1]}")
            page.click("#filters-clear")
            wait_for_thumbnails(page, 3)
            check(not {"folder", "before", "sort", "hybrid"} & set(sent[-1]), f"filters still sent: {sent[-1]}")
            page.screenshot(path=str(SHOTS / "library-filters.png"))
        finally:
            server.stop()
    finally:
        shutil.rmtree(photos, ignore_errors=True)


def main():
    for path, what in [(SERVER, "the debug binary (swift build)"), (Path(CHROMIUM), "Chromium (apt-get install chromium)"),
                       (ROOT / "Models/bpe_simple_vocab_16e6.txt.gz", "the BPE vocabulary (make setup)")]:
        if not path.exists():
            sys.exit(f"missing {path}: {what}")
    checks = ["search page", "viewer and keyboard", "loading, demo banner, errors", "autocut and combined query",
              "uploads", "delete", "fresh database and API key", "near-duplicates", "library and filters"]
    failed = []
    server = Server()
    try:
        for name in PRELOADED:
            status, answer = server.index(name, (IMAGES / name).read_bytes())
            if status != 200:
                raise RuntimeError(f"indexing {name}: {status} {answer}")
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
            steps = [lambda: check_search_page(browser, server), lambda: check_viewer_and_keyboard(browser, server),
                     lambda: check_loading_demo_and_errors(browser, server),
                     lambda: check_autocut_and_builder(browser, server),
                     lambda: check_uploads(browser, server), lambda: check_delete(browser, server),
                     lambda: check_fresh_database_and_api_key(browser), lambda: check_duplicates(browser),
                     lambda: check_library_and_filters(browser)]
            for name, step in zip(checks, steps):
                start = time.monotonic()
                try:
                    step()
                    print(f"ok   {name} ({time.monotonic() - start:.1f}s)")
                except Exception:
                    failed.append(name)
                    print(f"FAIL {name}\n{traceback.format_exc()}")
            browser.close()
    finally:
        if failed:
            print("server log (end):\n" + server.log_text())
        server.stop()
    print(f"{len(checks) - len(failed)} of {len(checks)} browser checks passed; screenshots in {SHOTS}")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
