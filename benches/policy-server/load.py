#!/usr/bin/env python3
"""A small client for a Kubewarden PolicyServer on loopback (Python 3 stdlib only).

Subcommands:

  load        a bounded load test: a fixed count of AdmissionReviews from
              several concurrent clients (one keep-alive HTTP/1.1 connection
              per client thread) to one or more policies of one server, in
              alternating rounds; every answer is checked (HTTP 200, the
              request's uid echoed, the expected `allowed`, and the same
              answer as the first one apart from the uid), none may be lost.
              Prints throughput and p50/p99 latency per policy (and the
              server's CPU time per request with --server-pid), and ratios
              to a baseline policy (`--policy NAME=BASELINE`; time: the
              median over rounds of paired rounds' wall-time ratio). Exits
              1 when any request was not answered correctly.
  post        one AdmissionReview to /validate/NAME; prints the HTTP status
              and the response's fields, one per line (for tests).
  ready       wait (bounded) until GET /readiness answers 200; fails early if
              the server process exits.
  free-ports  print N free TCP ports on 127.0.0.1.

A fixture is either an AdmissionReview (`{"request": ...}`) or the
AdmissionRequest itself (as benches/fixtures are); either way the client
sends `{"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
"request": ...}`. Only 127.0.0.1 is ever contacted.
"""

import argparse
import base64
import http.client
import json
import os
import socket
import sys
import threading
import time

HOST = "127.0.0.1"
# Same length as a UUID, so payloads keep their size whatever the uid.
UID_PLACEHOLDER = "UIDUIDUI-UIDU-UIDU-UIDU-UIDUIDUIDUID"
UID_MARK = b"\x00UID\x00"


def review_of(fixture):
    """The AdmissionReview an API server would send for a fixture."""
    with open(fixture, "rb") as f:
        doc = json.load(f)
    request = doc["request"] if "request" in doc else doc
    if not isinstance(request, dict) or "uid" not in request:
        raise SystemExit(f"{fixture}: not an AdmissionRequest (no uid)")
    review = {k: v for k, v in doc.items() if k != "request"} if "request" in doc else {}
    review.setdefault("apiVersion", "admission.k8s.io/v1")
    review.setdefault("kind", "AdmissionReview")
    review["request"] = request
    return review


def make_uid(round_no, worker, seq):
    return f"{round_no:08x}-{worker:04x}-4000-8000-{seq:012x}"


def percentile(sorted_values, q):
    """Nearest-rank percentile of an already sorted list."""
    if not sorted_values:
        return float("nan")
    rank = max(1, -(-len(sorted_values) * q // 100))  # ceil
    return sorted_values[int(rank) - 1]


def cpu_ticks(pid):
    """utime + stime of a process, in clock ticks (Linux), or None."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return int(fields[11]) + int(fields[12])
    except (OSError, IndexError, ValueError):
        return None


class Target:
    """One policy under load, and what every answer must be."""

    def __init__(self, name, baseline, template, expect_allowed):
        self.name = name
        self.baseline = baseline
        self.template = template
        self.expect_allowed = expect_allowed
        self.reference = None  # first correct answer, uid replaced by UID_MARK
        self.lock = threading.Lock()
        self.latencies_ns = []
        self.wall_s = 0.0
        self.round_walls = []  # seconds per round, in round order
        self.sent = 0
        self.correct = 0
        self.errors = []  # first few error descriptions
        self.error_count = 0
        self.server_ticks = 0
        self.server_ticks_known = True


def check_answer(target, status, body, uid):
    """None when the answer is right, else what is wrong with it."""
    if status != 200:
        return f"HTTP {status}: {body[:200]!r}"
    uid_b = uid.encode()
    normalized = body.replace(uid_b, UID_MARK)
    reference = target.reference
    if reference is not None and normalized == reference:
        return None
    try:
        doc = json.loads(body)
        response = doc["response"]
    except (ValueError, KeyError, TypeError):
        return f"not an AdmissionReview: {body[:200]!r}"
    if doc.get("apiVersion") != "admission.k8s.io/v1" or doc.get("kind") != "AdmissionReview":
        return f"wrong apiVersion/kind: {body[:200]!r}"
    if response.get("uid") != uid:
        return f"uid {response.get('uid')!r} answered for {uid!r}"
    if response.get("allowed") is not target.expect_allowed:
        return f"allowed={response.get('allowed')!r}, expected {target.expect_allowed}: {body[:300]!r}"
    with target.lock:
        if target.reference is None:
            target.reference = normalized
        if normalized == target.reference:
            return None
    return f"answer differs from the first one: {body[:300]!r}"


class ProtocolError(Exception):
    pass


class KeepAlive:
    """A minimal HTTP/1.1 client on one keep-alive connection: the request
    bytes are built once per request by the caller, the answer is read by
    Content-Length (or chunked, or to the close). About a quarter of
    http.client's CPU per request, which matters when the client shares two
    cores with the server it measures."""

    def __init__(self, port, timeout):
        self.sock = socket.create_connection((HOST, port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = bytearray()

    def close(self):
        self.sock.close()

    def _fill(self):
        chunk = self.sock.recv(65536)
        if not chunk:
            raise ProtocolError("connection closed by the server")
        self.buf += chunk

    def _line(self):
        while (end := self.buf.find(b"\r\n")) < 0:
            self._fill()
        line = bytes(self.buf[:end])
        del self.buf[: end + 2]
        return line

    def _exactly(self, n):
        while len(self.buf) < n:
            self._fill()
        data = bytes(self.buf[:n])
        del self.buf[:n]
        return data

    def roundtrip(self, request):
        """(status, body, server_closes) for one request."""
        self.sock.sendall(request)
        while (end := self.buf.find(b"\r\n\r\n")) < 0:
            if len(self.buf) > 1 << 16:
                raise ProtocolError("response head too long")
            self._fill()
        head = bytes(self.buf[:end]).split(b"\r\n")
        del self.buf[: end + 4]
        version, _, rest = head[0].partition(b" ")
        if not version.startswith(b"HTTP/1.") or not rest[:3].isdigit():
            raise ProtocolError(f"bad status line {head[0][:100]!r}")
        status = int(rest[:3])
        length, chunked, close = None, False, version == b"HTTP/1.0"
        for line in head[1:]:
            key, _, value = line.partition(b":")
            key, value = key.strip().lower(), value.strip().lower()
            if key == b"content-length":
                length = int(value)
            elif key == b"transfer-encoding":
                chunked = b"chunked" in value
            elif key == b"connection":
                close = value == b"close"
        if chunked:
            parts = []
            while size := int(self._line().split(b";")[0], 16):
                parts.append(self._exactly(size))
                self._line()
            while self._line():  # trailers
                pass
            body = b"".join(parts)
        elif length is not None:
            body = self._exactly(length)
        else:
            try:
                while True:
                    self._fill()
            except ProtocolError:
                pass
            body, close = bytes(self.buf), True
            self.buf.clear()
        return status, body, close


def worker_loop(target, port, round_no, worker, count, deadline, timeout, results):
    """Send `count` requests on one keep-alive connection; results[worker] =
    (latencies_ns, correct, errors)."""
    latencies = []
    errors = []
    correct = 0
    head = (
        f"POST /validate/{target.name} HTTP/1.1\r\nHost: {HOST}:{port}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(target.template)}\r\n\r\n"
    ).encode()
    placeholder = UID_PLACEHOLDER.encode()
    conn = None
    try:
        for seq in range(count):
            if time.monotonic() > deadline:
                errors.append(f"deadline reached: {count - seq} requests not sent")
                break
            uid = make_uid(round_no, worker, seq)
            request = head + target.template.replace(placeholder, uid.encode())
            try:
                if conn is None:
                    conn = KeepAlive(port, timeout)
                t0 = time.perf_counter_ns()
                status, data, server_closes = conn.roundtrip(request)
                t1 = time.perf_counter_ns()
            except (OSError, ValueError, ProtocolError) as e:
                errors.append(f"request {uid}: {type(e).__name__}: {e}")
                if conn is not None:
                    conn.close()
                conn = None
                continue
            latencies.append(t1 - t0)
            problem = check_answer(target, status, data, uid)
            if problem is None:
                correct += 1
            else:
                errors.append(f"request {uid}: {problem}")
            if server_closes:
                conn.close()
                conn = None
    finally:
        if conn is not None:
            conn.close()
        results[worker] = (latencies, correct, errors)


def run_round(target, port, round_no, count, clients, deadline, timeout, server_pid, record=True):
    shares = [count // clients + (1 if i < count % clients else 0) for i in range(clients)]
    results = [None] * clients
    threads = [
        threading.Thread(
            target=worker_loop,
            args=(target, port, round_no, i, shares[i], deadline, timeout, results),
            daemon=True,
        )
        for i in range(clients)
        if shares[i] > 0
    ]
    ticks0 = cpu_ticks(server_pid) if server_pid else None
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        # Each request is bounded by the socket timeout and the deadline.
        t.join(max(0.0, deadline - time.monotonic()) + timeout + 5)
    wall = time.perf_counter() - t0
    ticks1 = cpu_ticks(server_pid) if server_pid else None
    if not record:
        return
    target.sent += count
    target.wall_s += wall
    target.round_walls.append(wall)
    if ticks0 is not None and ticks1 is not None:
        target.server_ticks += ticks1 - ticks0
    else:
        target.server_ticks_known = False
    for i, r in enumerate(results):
        if r is None:
            if shares[i] > 0:
                target.error_count += shares[i]
                target.errors.append(f"client {i} did not finish in time: {shares[i]} requests unaccounted")
            continue
        latencies, correct, errors = r
        target.latencies_ns.extend(latencies)
        target.correct += correct
        target.error_count += len(errors)
        target.errors.extend(errors[: max(0, 5 - len(target.errors))])


def parse_expect(value):
    if value in ("allowed", "true"):
        return True
    if value in ("denied", "false"):
        return False
    raise argparse.ArgumentTypeError("expected allowed or denied")


def cmd_load(args):
    review = review_of(args.request)
    review["request"]["uid"] = UID_PLACEHOLDER
    template = json.dumps(review, separators=(",", ":")).encode()
    if template.count(UID_PLACEHOLDER.encode()) != 1:
        raise SystemExit("the request must hold its uid exactly once")

    targets = []
    for spec in args.policy:
        name, _, baseline = spec.partition("=")
        targets.append(Target(name, baseline or None, template, args.expect))
    names = {t.name for t in targets}
    for t in targets:
        if t.baseline and t.baseline not in names:
            raise SystemExit(f"--policy {t.name}={t.baseline}: {t.baseline} is not one of the --policy names")

    deadline = time.monotonic() + args.max_seconds
    clock_ticks = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    client_cpu0 = time.process_time()
    # Warm-up: checked like the rest, not counted in the figures.
    if args.warmup:
        for t in targets:
            run_round(t, args.port, 0xFFFF, args.warmup, args.clients, deadline, args.timeout, None, record=False)
    for r in range(args.rounds):
        order = targets if r % 2 == 0 else list(reversed(targets))
        for t in order:
            run_round(t, args.port, r, args.count, args.clients, deadline, args.timeout, args.server_pid)
    client_cpu = time.process_time() - client_cpu0

    by_name = {t.name: t for t in targets}
    rows = []
    for t in targets:
        lat = sorted(t.latencies_ns)
        row = {
            "policy": t.name,
            "baseline": t.baseline,
            "requests": t.sent,
            "correct": t.correct,
            "errors": t.error_count,
            "lost": t.sent - t.correct - t.error_count,
            "req_per_s": t.sent / t.wall_s if t.wall_s else 0.0,
            "p50_ms": percentile(lat, 50) / 1e6,
            "p99_ms": percentile(lat, 99) / 1e6,
            "server_cpu_us_per_req": (
                t.server_ticks / clock_ticks * 1e6 / t.sent if t.server_ticks_known and args.server_pid and t.sent else None
            ),
        }
        rows.append(row)
    for row in rows:
        b = next((x for x in rows if x["policy"] == row["baseline"]), None)
        if b and row["req_per_s"] and b["req_per_s"]:
            # Rounds alternate, so round r of a policy and of its baseline
            # ran next to each other: the median of per-round ratios
            # shrugs off a burst of noise that hits one round.
            mine, theirs = by_name[row["policy"]].round_walls, by_name[b["policy"]].round_walls
            ratios = sorted(m / t for m, t in zip(mine, theirs))
            row["round_time_ratios"] = ratios
            row["time_ratio"] = ratios[len(ratios) // 2] if len(ratios) % 2 else (
                ratios[len(ratios) // 2 - 1] + ratios[len(ratios) // 2]) / 2
            row["p50_ratio"] = row["p50_ms"] / b["p50_ms"]
            row["p99_ratio"] = row["p99_ms"] / b["p99_ms"]
            if row["server_cpu_us_per_req"] and b["server_cpu_us_per_req"]:
                row["server_cpu_ratio"] = row["server_cpu_us_per_req"] / b["server_cpu_us_per_req"]

    total = sum(t.sent for t in targets)
    print(
        f"{args.clients} clients, {args.rounds} round(s) of {args.count} requests per policy, alternating"
        f" ({os.path.basename(args.request)}, expect {'allowed' if args.expect else 'denied'})"
    )
    show_cpu = any(r["server_cpu_us_per_req"] is not None for r in rows)
    header = f"{'policy':<28} {'requests':>8} {'wrong':>6} {'req/s':>7} {'p50 ms':>7} {'p99 ms':>7}"
    print(header + ("  server CPU µs/request" if show_cpu else ""))
    for row in rows:
        line = (
            f"{row['policy']:<28} {row['requests']:>8} {row['errors'] + row['lost']:>6} {row['req_per_s']:>7.0f}"
            f" {row['p50_ms']:>7.3f} {row['p99_ms']:>7.3f}"
        )
        cpu = row["server_cpu_us_per_req"]
        if cpu is not None:
            line += f"  {cpu:>8.0f}"
        print(line)
    ratio_rows = [r for r in rows if "time_ratio" in r]
    if ratio_rows:
        print("ratios (time per request: median over rounds of the wall-time ratio, [lowest-highest round]):")
        for row in ratio_rows:
            low, high = row["round_time_ratios"][0], row["round_time_ratios"][-1]
            line = (
                f"  {row['policy']} / {row['baseline']}: time {row['time_ratio']:.2f} [{low:.2f}-{high:.2f}],"
                f" p50 {row['p50_ratio']:.2f}, p99 {row['p99_ratio']:.2f}"
            )
            if "server_cpu_ratio" in row:
                line += f", server CPU {row['server_cpu_ratio']:.2f}"
            print(line)
    print(f"client CPU: {client_cpu * 1e6 / max(1, total):.0f} µs/request (shares the machine with the server)")

    bad = [t for t in targets if t.correct != t.sent]
    for t in bad:
        print(f"FAIL {t.name}: {t.correct} of {t.sent} answered correctly", file=sys.stderr)
        for e in t.errors:
            print(f"  {e}", file=sys.stderr)
    if not bad:
        print(f"every request answered correctly: {total} of {total}, none lost")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"clients": args.clients, "rounds": args.rounds, "count": args.count, "rows": rows}, f, indent=1)
    return 1 if bad else 0


def cmd_post(args):
    review = review_of(args.review)
    body = json.dumps(review).encode()
    conn = http.client.HTTPConnection(HOST, args.port, timeout=args.timeout)
    try:
        conn.request("POST", f"/validate/{args.policy}", body, {"Content-Type": "application/json"})
        response = conn.getresponse()
        data = response.read()
    finally:
        conn.close()
    print(f"status {response.status}")
    print(f"request-uid {review['request']['uid']}")
    try:
        doc = json.loads(data)
    except ValueError:
        print(f"body {data.decode(errors='replace')}")
        return 0
    answer = doc.get("response") if isinstance(doc, dict) else None
    if isinstance(answer, dict):
        print(f"apiVersion {doc.get('apiVersion')}")
        print(f"kind {doc.get('kind')}")
        print(f"uid {answer.get('uid')}")
        print(f"allowed {json.dumps(answer.get('allowed'))}")
        status = answer.get("status") or {}
        if "message" in status:
            print(f"message {status['message']}")
        if "code" in status:
            print(f"code {status['code']}")
        if "patchType" in answer:
            print(f"patchType {answer['patchType']}")
        if "patch" in answer:
            # Compact JSON, whatever spacing the server used.
            patch = json.loads(base64.b64decode(answer["patch"]))
            print(f"patch {json.dumps(patch, separators=(',', ':'))}")
        for w in answer.get("warnings") or []:
            print(f"warning {w}")
    print(f"body {data.decode(errors='replace')}")
    return 0


def process_alive(pid):
    """False once the process has exited (a zombie counts as exited)."""
    if os.path.isdir("/proc/self"):
        try:
            with open(f"/proc/{pid}/stat") as f:
                return f.read().rsplit(")", 1)[1].split()[0] != "Z"
        except FileNotFoundError:
            return False
        except (OSError, IndexError):
            pass
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    return True


def cmd_ready(args):
    start = time.monotonic()
    while True:
        if args.pid and not process_alive(args.pid):
            print(f"the server (pid {args.pid}) exited before it was ready", file=sys.stderr)
            return 1
        try:
            conn = http.client.HTTPConnection(HOST, args.port, timeout=2)
            conn.request("GET", "/readiness")
            status = conn.getresponse().status
            conn.close()
            if status == 200:
                print(f"ready after {time.monotonic() - start:.2f} s")
                return 0
        except (OSError, http.client.HTTPException):
            pass
        if time.monotonic() - start > args.timeout:
            print(f"not ready after {args.timeout} s", file=sys.stderr)
            return 1
        time.sleep(0.05)


def cmd_free_ports(args):
    socks = []
    try:
        for _ in range(args.n):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind((HOST, 0))
            socks.append(s)
        print(" ".join(str(s.getsockname()[1]) for s in socks))
    finally:
        for s in socks:
            s.close()
    return 0


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("load", help="bounded load test")
    p.add_argument("--port", type=int, required=True, help="the server's port on 127.0.0.1")
    p.add_argument("--request", required=True, help="fixture: AdmissionRequest or AdmissionReview (JSON)")
    p.add_argument(
        "--policy",
        action="append",
        required=True,
        help="NAME or NAME=BASELINE (ratios to BASELINE, itself a --policy); repeat; rounds alternate",
    )
    p.add_argument("--expect", type=parse_expect, default=True, help="allowed (default) or denied")
    p.add_argument("--count", type=int, default=3000, help="requests per policy per round (default 3000)")
    p.add_argument("--clients", type=int, default=8, help="concurrent clients (default 8)")
    p.add_argument("--rounds", type=int, default=1, help="rounds per policy (default 1)")
    p.add_argument("--warmup", type=int, default=0, help="unrecorded requests per policy first")
    p.add_argument("--timeout", type=float, default=10.0, help="seconds per request (default 10)")
    p.add_argument("--max-seconds", type=float, default=300.0, help="stop sending after this (default 300)")
    p.add_argument("--server-pid", type=int, help="measure the server's CPU time per request (Linux)")
    p.add_argument("--json", help="also write the figures to this file")
    p.set_defaults(func=cmd_load)

    p = sub.add_parser("post", help="one AdmissionReview; prints status and fields")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--policy", required=True)
    p.add_argument("--review", required=True, help="fixture: AdmissionRequest or AdmissionReview (JSON)")
    p.add_argument("--timeout", type=float, default=10.0)
    p.set_defaults(func=cmd_post)

    p = sub.add_parser("ready", help="wait for GET /readiness = 200")
    p.add_argument("--port", type=int, required=True, help="the readiness probe port")
    p.add_argument("--pid", type=int, help="fail as soon as this process exits")
    p.add_argument("--timeout", type=float, default=60.0)
    p.set_defaults(func=cmd_ready)

    p = sub.add_parser("free-ports", help="print N free ports on 127.0.0.1")
    p.add_argument("n", type=int)
    p.set_defaults(func=cmd_free_ports)

    args = parser.parse_args()
    if getattr(args, "count", 1) < 1 or getattr(args, "clients", 1) < 1 or getattr(args, "rounds", 1) < 1:
        parser.error("--count, --clients and --rounds must be at least 1")
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
