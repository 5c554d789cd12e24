"""Object-storage test harness, started by tests/object_storage.rs.

Runs on 127.0.0.1:
  * moto's S3 server (real S3 protocol, signature checking on: an IAM user and its keys are
    created at start, any other key is refused), with one bucket;
  * a fault proxy in front of it that forwards every request unchanged (Host header included, so
    signatures stay valid), counts requests, and fails a chosen share of them: HTTP 500, HTTP 503,
    dropped connections (closed without an answer) or slow answers;
  * a read-only HTTP file server with Range support over a local folder (for https:// reads).

Prints one JSON line with the ports and credentials, then serves until stdin closes.
Control (on the control port):  GET /config?rate=0.1&kinds=500,503,drop,slow&seed=1
                                GET /stats   GET /trace (last requests)   GET /reset
"""

import email.utils
import http.client
import json
import logging
import os
import random
import socket
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

os.environ["INITIAL_NO_AUTH_ACTION_COUNT"] = "3"  # create user, policy, key; then auth is on
from moto.server import ThreadedMotoServer  # noqa: E402

# werkzeug logs every request; nobody reads it (a full stderr pipe would block the server).
logging.getLogger("werkzeug").setLevel(logging.ERROR)

BUCKET = "eopf"
http_root = sys.argv[1] if len(sys.argv) > 1 else "."

state = {
    "rate": 0.0,
    "kinds": ["500", "503", "drop", "slow"],
    "rng": random.Random(1),
    "lock": threading.Lock(),
    "stats": {},
    "trace": [],
}


def bump(name):
    with state["lock"]:
        state["stats"][name] = state["stats"].get(name, 0) + 1


def classify(method, path):
    query = urllib.parse.urlsplit(path).query
    if method == "PUT" and "partNumber=" in query:
        return "put_part"
    if method == "POST" and "uploads" in query:
        return "multipart_create"
    if method == "POST" and "uploadId=" in query:
        return "multipart_complete"
    if method == "GET" and ("list-type" in query or "delimiter" in query or "prefix" in query):
        return "list"
    return method.lower()


class Proxy(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    upstream = None

    def log_message(self, *a):
        pass

    def handle_any(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        kind = classify(self.command, self.path)
        with state["lock"]:
            state["trace"] = (state["trace"] + [self.command + " " + self.path])[-5000:]
        bump("total")
        bump(kind)
        if self.headers.get("Range"):
            bump("ranged")
        fault = None
        with state["lock"]:
            if state["rate"] > 0 and state["rng"].random() < state["rate"]:
                fault = state["rng"].choice(state["kinds"])
        if fault:
            bump("fault_" + fault)
        if fault in ("500", "503"):
            msg = b"<Error><Code>InternalError</Code><Message>injected</Message></Error>"
            self.send_response(int(fault))
            self.send_header("Content-Type", "application/xml")
            self.send_header("Content-Length", str(len(msg)))
            self.end_headers()
            self.wfile.write(msg)
            return
        if fault == "drop":
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return
        if fault == "slow":
            time.sleep(1.0)
        conn = http.client.HTTPConnection("127.0.0.1", self.upstream, timeout=60)
        headers = {k: v for k, v in self.headers.items() if k.lower() not in ("connection",)}
        conn.request(self.command, self.path, body=body, headers=headers)
        r = conn.getresponse()
        data = r.read()
        conn.close()
        self.send_response(r.status)
        for k, v in r.getheaders():
            if k.lower() in ("transfer-encoding", "connection", "content-length", "server", "date"):
                continue
            self.send_header(k, v)
        if self.command == "HEAD":
            self.send_header("Content-Length", r.getheader("Content-Length") or "0")
            self.end_headers()
            return
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = handle_any


class Control(BaseHTTPRequestHandler):
    def log_message(self, *a):
        pass

    def do_GET(self):
        u = urllib.parse.urlsplit(self.path)
        q = urllib.parse.parse_qs(u.query)
        if u.path == "/config":
            with state["lock"]:
                state["rate"] = float(q.get("rate", ["0"])[0])
                if "kinds" in q:
                    state["kinds"] = q["kinds"][0].split(",")
                state["rng"] = random.Random(int(q.get("seed", ["1"])[0]))
        elif u.path == "/reset":
            with state["lock"]:
                state["stats"] = {}
                state["trace"] = []
        with state["lock"]:
            out = json.dumps(state["trace"] if u.path == "/trace" else state["stats"]).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)


class Files(BaseHTTPRequestHandler):
    """Static files with Range (a-b, a-, -n), Last-Modified, ETag; read only."""

    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def send_plain(self, code):
        self.send_response(code)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def serve(self, head):
        bump("http_total")
        rel = urllib.parse.unquote(urllib.parse.urlsplit(self.path).path).lstrip("/")
        full = os.path.realpath(os.path.join(http_root, rel))
        if not full.startswith(os.path.realpath(http_root)) or not os.path.isfile(full):
            return self.send_plain(404)
        size = os.path.getsize(full)
        st = os.stat(full)
        start, end, code = 0, size, 200
        rng = self.headers.get("Range")
        if rng and rng.startswith("bytes="):
            a, _, b = rng[6:].partition("-")
            if a == "":
                start, end = max(0, size - int(b)), size
            else:
                start = int(a)
                end = min(size, int(b) + 1) if b else size
            if start >= size:
                return self.send_plain(416)
            code = 206
        self.send_response(code)
        self.send_header("Content-Length", str(end - start))
        self.send_header("Last-Modified", email.utils.formatdate(st.st_mtime, usegmt=True))
        self.send_header("ETag", '"%x-%x"' % (int(st.st_mtime), size))
        self.send_header("Accept-Ranges", "bytes")
        if code == 206:
            self.send_header("Content-Range", "bytes %d-%d/%d" % (start, end - 1, size))
        self.end_headers()
        if not head:
            with open(full, "rb") as f:
                f.seek(start)
                self.wfile.write(f.read(end - start))

    def do_GET(self):
        self.serve(False)

    def do_HEAD(self):
        self.serve(True)


def serve(handler):
    srv = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    srv.daemon_threads = True
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv


def main():
    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    moto.start()
    _, moto_port = moto.get_host_and_port()
    import boto3

    endpoint = "http://127.0.0.1:%d" % moto_port
    iam = boto3.client("iam", endpoint_url=endpoint, region_name="us-east-1",
                       aws_access_key_id="bootstrap", aws_secret_access_key="bootstrap")
    iam.create_user(UserName="eopf")
    iam.put_user_policy(UserName="eopf", PolicyName="all", PolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}))
    key = iam.create_access_key(UserName="eopf")["AccessKey"]
    s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                      aws_access_key_id=key["AccessKeyId"], aws_secret_access_key=key["SecretAccessKey"])
    s3.create_bucket(Bucket=BUCKET)
    Proxy.upstream = moto_port
    proxy = serve(Proxy)
    control = serve(Control)
    files = serve(Files)
    print(json.dumps({
        "moto": moto_port,
        "proxy": proxy.server_address[1],
        "control": control.server_address[1],
        "http": files.server_address[1],
        "key": key["AccessKeyId"],
        "secret": key["SecretAccessKey"],
        "bucket": BUCKET,
    }), flush=True)
    sys.stdin.read()
    moto.stop()


if __name__ == "__main__":
    main()
