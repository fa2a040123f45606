"""A FAKE embeddings endpoint in OpenAI's format (POST /v1/embeddings: {"model", "input"} →
{"object": "list", "data": [{"object": "embedding", "index", "embedding"}], "model", "usage"}),
for the semantic-cache tests. A text's embedding is the mean of the GloVe vectors of its words
(fixtures/word_vectors.json, see fixtures/make_word_vectors.py), common words left out: crude,
but it places paraphrases near each other and unrelated questions far apart, deterministically."""
import json
import math
import pathlib
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

VECTORS = json.loads((pathlib.Path(__file__).parent / "fixtures" / "word_vectors.json").read_text())["vectors"]
STOP = {"what", "is", "the", "of", "which", "how", "do", "i", "me", "to", "at", "a"}


def embedding(text):
    words = [w for w in re.findall("[a-z]+", text.lower()) if w in VECTORS and w not in STOP]
    if not words:
        return [0.0] * 100
    v = [sum(VECTORS[w][i] for w in words) / len(words) for i in range(100)]
    norm = math.sqrt(sum(x * x for x in v)) or 1.0
    return [x / norm for x in v]


class FakeEmbeddings:
    def __init__(self):
        self.inputs = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                fake.inputs.append(body["input"])
                out = json.dumps({"object": "list", "model": body["model"],
                                  "data": [{"object": "embedding", "index": 0, "embedding": embedding(body["input"])}],
                                  "usage": {"prompt_tokens": 1, "total_tokens": 1}}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(out)))
                self.end_headers()
                self.wfile.write(out)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()
