#!/usr/bin/env python3
"""The real clients against a running clip-server (tools/schemathesis.sh starts one and runs this):
clip-retrieval's ClipClient, the openai package, and requests shaped as Immich's server and
Weaviate's multi2vec-clip module send them. Every vector must equal POST /embed's for the same
input (compared as float32, the wire precision of encoding_format=base64).

    python Tests/Clients/test_clients.py http://127.0.0.1:PORT API_KEY
Needs: requests, openai, and clip-retrieval installed with --no-deps (only its clip_client.py is
used: the package's __init__ imports its Flask back end).
"""
import base64
import importlib.metadata
import importlib.util
import json
import pathlib
import struct
import sys
import traceback

import openai
import requests

BASE, KEY = sys.argv[1], sys.argv[2]
ROOT = pathlib.Path(__file__).resolve().parents[2]
IMAGE = ROOT / "Tests/CLIPTests/Fixtures/images/jpeg-exif3-360x270.jpg"
IMAGE_B64 = base64.b64encode(IMAGE.read_bytes()).decode()


def load_clip_client():
    files = importlib.metadata.distribution("clip-retrieval").files
    path = next(f for f in files if str(f).endswith("clip_retrieval/clip_client.py")).locate()
    spec = importlib.util.spec_from_file_location("clip_client", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def f32(vector):
    return [struct.unpack("<f", struct.pack("<f", x))[0] for x in vector]


def embed(texts=(), images=()):
    body = requests.post(f"{BASE}/embed", json={"texts": list(texts), "images": list(images)}).json()
    return [f32(v) for v in body["text_embeddings"]], [f32(v) for v in body["image_embeddings"]]


MODEL = requests.get(f"{BASE}/readyz").json()["model"]
TEXT_VEC = embed(["a red circle"])[0][0]
IMAGE_VEC = embed(images=[IMAGE_B64])[1][0]


def test_page_and_spec_from_the_binary():
    page = requests.get(f"{BASE}/")
    assert page.status_code == 200 and "<html" in page.text.lower(), page.status_code
    spec = requests.get(f"{BASE}/openapi.yaml")
    assert spec.status_code == 200 and spec.text.startswith("openapi: 3"), spec.status_code
    assert requests.get(f"{BASE}/../Package.swift").status_code in (400, 404)


def test_clip_client():
    mod = load_clip_client()
    indices = requests.get(f"{BASE}/indices-list").json()
    assert indices == [MODEL], indices
    client = mod.ClipClient(url=f"{BASE}/knn-service", indice_name=MODEL, num_images=3)
    results = client.query(text="a red circle")
    assert 1 <= len(results) <= 3, results
    for r in results:
        assert {"id", "similarity", "url", "caption"} <= r.keys(), r
    top = client.query(image=str(IMAGE))[0]
    assert top["similarity"] > 0.9999, top
    assert requests.get(top["url"]).content == IMAGE.read_bytes()
    by_vector = client.query(embedding_input=IMAGE_VEC)[0]
    assert by_vector["id"] == top["id"], (by_vector, top)
    meta = requests.post(f"{BASE}/metadata", data=json.dumps({"ids": [top["id"]], "indice_name": MODEL})).json()
    assert meta[0]["id"] == top["id"] and meta[0]["metadata"]["url"] == top["url"], meta
    refused = requests.post(f"{BASE}/knn-service", data=json.dumps({"image_url": "http://example.com/a.jpg", "num_images": 1, "modality": "image", "indice_name": MODEL}))
    assert refused.status_code == 400 and refused.json()["error"]["code"] == "url_not_fetched", refused.text


def test_openai():
    client = openai.OpenAI(base_url=f"{BASE}/v1", api_key="unused")
    assert [m.id for m in client.models.list()][0] == MODEL
    default = client.embeddings.create(model=MODEL, input="a red circle")  # the client asks for base64
    floats = client.embeddings.create(model=MODEL, input=["a red circle", "a red circle"], encoding_format="float")
    assert f32(default.data[0].embedding) == TEXT_VEC
    assert [f32(d.embedding) for d in floats.data] == [TEXT_VEC, TEXT_VEC]
    assert default.usage.prompt_tokens > 0
    for image in (f"data:image/jpeg;base64,{IMAGE_B64}", IMAGE_B64):
        got = client.embeddings.create(model=MODEL, input=[image], extra_body={"modality": "image"})
        assert f32(got.data[0].embedding) == IMAGE_VEC
    try:
        client.embeddings.create(model="no-such-model", input="x")
        raise AssertionError("an unknown model was accepted")
    except openai.NotFoundError:
        pass
    try:
        client.embeddings.create(model=MODEL, input=[1, 2, 3])
        raise AssertionError("token ids were accepted")
    except openai.BadRequestError as error:
        assert "input" in str(error), error


def test_immich():
    def predict(tower, model=MODEL, **files):
        entries = json.dumps({"clip": {tower: {"modelName": model, "options": {}}}})
        return requests.post(f"{BASE}/predict", files={"entries": (None, entries), **files})
    text = predict("textual", text=(None, "a red circle"))
    assert text.status_code == 200 and f32(json.loads(text.json()["clip"])) == TEXT_VEC, text.text
    image = predict("visual", image=("photo.jpg", IMAGE.read_bytes(), "image/jpeg"))
    body = image.json()
    assert f32(json.loads(body["clip"])) == IMAGE_VEC and (body["imageWidth"], body["imageHeight"]) == (360, 270), body
    bad = predict("textual", model="ViT-L-14__openai", text=(None, "x"))
    assert bad.status_code == 422 and "detail" in bad.json(), bad.text
    assert requests.get(f"{BASE}/ping").text == "pong"


def test_weaviate():
    body = requests.post(f"{BASE}/vectorize", json={"texts": ["a red circle"], "images": [IMAGE_B64]}).json()
    assert [f32(v) for v in body["textVectors"]] == [TEXT_VEC] and [f32(v) for v in body["imageVectors"]] == [IMAGE_VEC]
    assert requests.get(f"{BASE}/meta").json()["clip_model"]["name"] == MODEL
    assert requests.get(f"{BASE}/.well-known/live").status_code == 204
    assert requests.get(f"{BASE}/.well-known/ready").status_code == 204
    bad = requests.post(f"{BASE}/vectorize", json={"texts": [1]})
    assert bad.status_code == 400 and isinstance(bad.json()["error"], str), bad.text


tests = [test_page_and_spec_from_the_binary, test_clip_client, test_openai, test_immich, test_weaviate]
failed = 0
for test in tests:
    try:
        test()
        print(f"PASS {test.__name__}")
    except Exception:
        failed += 1
        print(f"FAIL {test.__name__}")
        traceback.print_exc()
print(f"clients: {len(tests) - failed} passed, {failed} failed")
sys.exit(1 if failed else 0)
