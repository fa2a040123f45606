"""A FAKE AWS Bedrock runtime (the Converse API), for the AI gateway's tests:
POST /model/<modelId>/converse and /model/<modelId>/converse-stream. Every request must carry a
valid AWS Signature Version 4 for service "bedrock" (checked here from the canonical request, as
AWS does) or a Bedrock API key as a bearer token. converse-stream answers in AWS's binary event
stream (application/vnd.amazon.eventstream: prelude, CRC32s, string headers :event-type,
:content-type, :message-type). Replies like fake_llm.py: "echo: <last user text>", a toolUse when
tools are configured and the text mentions weather, "the tool said: <result>" after a
toolResult. Errors are {"message"} with x-amzn-ErrorType, as Bedrock sends them."""
import binascii
import datetime
import hashlib
import hmac
import json
import struct
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def _sign(key, msg):
    return hmac.new(key, msg.encode(), hashlib.sha256).digest()


def expected_signature(secret, region, method, path, query, headers, signed, body, amz_date):
    canonical_path = urllib.parse.quote(path, safe="/~")  # the sent path, encoded once more
    pairs = sorted(p for p in query.split("&") if p)
    canonical_query = "&".join(p if "=" in p else p + "=" for p in pairs)
    canonical_headers = "".join(f"{h}:{headers[h].strip()}\n" for h in signed)
    request = "\n".join([method, canonical_path, canonical_query, canonical_headers, ";".join(signed),
                         hashlib.sha256(body).hexdigest()])
    date = amz_date[:8]
    scope = f"{date}/{region}/bedrock/aws4_request"
    to_sign = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(request.encode()).hexdigest()])
    key = _sign(_sign(_sign(_sign(("AWS4" + secret).encode(), date), region), "bedrock"), "aws4_request")
    return hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()


def frame(event_type, payload):
    """One event-stream message."""
    headers = b""
    for name, value in ((":event-type", event_type), (":content-type", "application/json"), (":message-type", "event")):
        headers += bytes([len(name)]) + name.encode() + bytes([7]) + struct.pack(">H", len(value)) + value.encode()
    body = json.dumps(payload).encode()
    total = 16 + len(headers) + len(body)
    prelude = struct.pack(">II", total, len(headers))
    prelude += struct.pack(">I", binascii.crc32(prelude))
    message = prelude + headers + body
    return message + struct.pack(">I", binascii.crc32(message))


class FakeBedrock:
    def __init__(self, access_key="AKIDFAKE", secret_key="fake-secret", region="us-east-1", api_key=None):
        self.access_key, self.secret_key, self.region, self.api_key = access_key, secret_key, region, api_key
        self.requests = []
        self.mode = None
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def fail(self, status, kind, message):
                body = json.dumps({"message": message}).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("x-amzn-ErrorType", kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def authorized(self, raw):
                auth = self.headers.get("Authorization", "")
                if fake.api_key and auth == f"Bearer {fake.api_key}":
                    return True
                if not auth.startswith("AWS4-HMAC-SHA256 "):
                    return False
                fields = dict(part.strip().split("=", 1) for part in auth[len("AWS4-HMAC-SHA256 "):].split(","))
                access, date, region, service, _ = fields["Credential"].split("/")
                signed = fields["SignedHeaders"].split(";")
                headers = {k.lower(): v for k, v in self.headers.items()}
                amz_date = headers.get("x-amz-date", "")
                skew = abs((datetime.datetime.now(datetime.timezone.utc) -
                            datetime.datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ").replace(
                                tzinfo=datetime.timezone.utc)).total_seconds())
                path, _, query = self.path.partition("?")
                want = expected_signature(fake.secret_key, fake.region, "POST", path, query, headers, signed, raw, amz_date)
                return (access == fake.access_key and region == fake.region and service == "bedrock" and
                        "host" in signed and skew < 300 and hmac.compare_digest(want, fields["Signature"]))

            def do_POST(self):
                raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                body = json.loads(raw) if raw else {}
                path = urllib.parse.unquote(self.path.partition("?")[0])
                fake.requests.append({"path": path, "json": body, "headers": {k.lower(): v for k, v in self.headers.items()}})
                if not self.authorized(raw):
                    return self.fail(403, "UnrecognizedClientException:", "The security token included in the request is invalid.")
                if fake.mode == "429":
                    return self.fail(429, "ThrottlingException:", "Too many requests, please wait before trying again.")
                parts = path.split("/")  # ['', 'model', '<id>', 'converse' | 'converse-stream']
                if len(parts) != 4 or parts[1] != "model" or parts[3] not in ("converse", "converse-stream"):
                    return self.fail(404, "UnknownOperationException:", "unknown operation")
                messages = body.get("messages") or []
                last = messages[-1]["content"] if messages else []
                text = " ".join(b["text"] for b in last if "text" in b)
                result = next((b["toolResult"] for b in last if "toolResult" in b), None)
                if result:
                    content = [{"text": "the tool said: " + result["content"][0]["text"]}]
                    stop = "end_turn"
                elif body.get("toolConfig") and "weather" in text:
                    name = body["toolConfig"]["tools"][0]["toolSpec"]["name"]
                    content = [{"toolUse": {"toolUseId": "tooluse_1", "name": name, "input": {"city": "Paris"}}}]
                    stop = "tool_use"
                else:
                    content = [{"text": "echo: " + text}]
                    stop = "end_turn"
                words_in = sum(len(b.get("text", "").split()) for m in messages for b in m["content"])
                words_out = len(" ".join(b.get("text", "") for b in content).split()) or 1
                usage = {"inputTokens": words_in, "outputTokens": words_out, "totalTokens": words_in + words_out}
                if parts[3] == "converse":
                    out = json.dumps({"output": {"message": {"role": "assistant", "content": content}}, "stopReason": stop,
                                      "usage": usage, "metrics": {"latencyMs": 12}}).encode()
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(out)))
                    self.end_headers()
                    self.wfile.write(out)
                    return
                self.send_response(200)
                self.send_header("Content-Type", "application/vnd.amazon.eventstream")
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                frames = [frame("messageStart", {"role": "assistant"})]
                if "toolUse" in content[0]:
                    use = content[0]["toolUse"]
                    frames.append(frame("contentBlockStart", {"contentBlockIndex": 0, "start": {
                        "toolUse": {"toolUseId": use["toolUseId"], "name": use["name"]}}}))
                    arguments = json.dumps(use["input"])
                    for piece in (arguments[:5], arguments[5:]):
                        frames.append(frame("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"toolUse": {"input": piece}}}))
                else:
                    words = content[0]["text"].split(" ")
                    for i, w in enumerate(words):
                        frames.append(frame("contentBlockDelta", {"contentBlockIndex": 0, "delta": {
                            "text": w + (" " if i < len(words) - 1 else "")}}))
                frames.append(frame("contentBlockStop", {"contentBlockIndex": 0}))
                frames.append(frame("messageStop", {"stopReason": stop}))
                frames.append(frame("metadata", {"usage": usage, "metrics": {"latencyMs": 12}}))
                for f in frames:
                    # Split each frame in two writes: the parser must join frames across reads.
                    for piece in (f[:7], f[7:]):
                        self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
                        self.wfile.flush()
                self.wfile.write(b"0\r\n\r\n")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()
