"""A FAKE Google Gemini provider (the native API, not its OpenAI-compatible one), for the AI
gateway's tests: POST /v1beta/models/<model>:generateContent and
:streamGenerateContent?alt=sse, key in `x-goog-api-key`. Like fake_llm.py it answers
"echo: <last user text>", calls the first declared function with {"city": "Paris"} when tools
are given and the text mentions weather, and answers "the tool said: <result>" after a
functionResponse. Usage: words in, words out. Errors use Google's shape
{"error": {"code", "message", "status"}}; `mode = "429"` answers RESOURCE_EXHAUSTED."""
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def _text_of(parts):
    return " ".join(p["text"] for p in parts if "text" in p)


class FakeGemini:
    def __init__(self, expected_key="sk-provider-secret"):
        self.expected_key = expected_key
        self.requests = []
        self.mode = None
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def send_json(self, status, doc):
                body = json.dumps(doc).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=UTF-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def error(self, status, grpc_status, message):
                self.send_json(status, {"error": {"code": status, "message": message, "status": grpc_status}})

            def do_POST(self):
                raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                path, _, query = self.path.partition("?")
                body = json.loads(raw) if raw else None
                fake.requests.append({"path": path, "query": query, "json": body,
                                      "headers": {k.lower(): v for k, v in self.headers.items()}})
                if self.headers.get("x-goog-api-key") != fake.expected_key:
                    return self.error(400, "INVALID_ARGUMENT", "API key not valid. Please pass a valid API key.")
                if fake.mode == "429":
                    return self.error(429, "RESOURCE_EXHAUSTED", "Resource has been exhausted (e.g. check quota).")
                if not path.startswith("/v1beta/models/") or ":" not in path:
                    return self.error(404, "NOT_FOUND", "not found")
                model, _, method = path[len("/v1beta/models/"):].partition(":")
                contents = body.get("contents") or []
                if not contents:
                    return self.error(400, "INVALID_ARGUMENT", "* GenerateContentRequest.contents: contents is not specified")
                last = contents[-1]
                parts = []
                finish = "STOP"
                response_part = next((p for p in last["parts"] if "functionResponse" in p), None)
                user_text = _text_of(last["parts"])
                if response_part:
                    parts = [{"text": "the tool said: " + json.dumps(response_part["functionResponse"]["response"])}]
                elif body.get("tools") and "weather" in user_text:
                    name = body["tools"][0]["functionDeclarations"][0]["name"]
                    parts = [{"functionCall": {"name": name, "args": {"city": "Paris"}}}]
                else:
                    parts = [{"text": "echo: " + user_text}]
                prompt = sum(len(_text_of(c["parts"]).split()) for c in contents)
                out_words = len(_text_of(parts).split()) or 1
                usage = {"promptTokenCount": prompt, "candidatesTokenCount": out_words,
                         "totalTokenCount": prompt + out_words}
                if method == "generateContent":
                    return self.send_json(200, {
                        "candidates": [{"content": {"role": "model", "parts": parts}, "finishReason": finish, "index": 0}],
                        "usageMetadata": usage, "modelVersion": model + "-001", "responseId": "resp-1"})
                if method != "streamGenerateContent" or query != "alt=sse":
                    return self.error(400, "INVALID_ARGUMENT", "unsupported method")
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                if "text" in parts[0]:
                    words = parts[0]["text"].split(" ")
                    pieces = [{"text": w + (" " if i < len(words) - 1 else "")} for i, w in enumerate(words)]
                else:
                    pieces = parts
                for i, piece in enumerate(pieces):
                    event = {"candidates": [{"content": {"role": "model", "parts": [piece]}, "index": 0}],
                             "modelVersion": model + "-001", "responseId": "resp-1"}
                    if i == len(pieces) - 1:
                        event["candidates"][0]["finishReason"] = finish
                        event["usageMetadata"] = usage
                    data = f"data: {json.dumps(event)}\r\n\r\n".encode()
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
                    self.wfile.flush()
                self.wfile.write(b"0\r\n\r\n")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()
