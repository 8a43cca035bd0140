#!/usr/bin/env python3
"""Real registry fixtures for e2e-tests/registry.bats: pushes images over the
OCI distribution API (plain HTTP calls, no container engine) to a registry on
loopback, and prints what it pushed as JSON (digests the tests expect).

    fixtures.py push --registry 127.0.0.1:PORT --keys DIR [--user U:P --ca CA.pem]
    fixtures.py keys DIR          cosign-format signing keys, made by openssl
    fixtures.py review IMAGE...   a Pod CREATE AdmissionReview running the images
    fixtures.py sign --registry R --repo P --tag T --key K
                                  cosign's key signature of what P:T names now
    fixtures.py trust-root DIR    a Sigstore trust config (DIR/trust-config.json) for offline hosts
    fixtures.py registry-config   a docker-registry config (see --help)
    fixtures.py fake-registry     a registry that answers 500, or never answers
                                  (--mode 500|hang|lie, --touch FILE: hang notes each request;
                                  lie serves one image whatever digest is asked)

Images (all under acme/ on the registry given):
- oci-single:1       OCI image manifest; config linux/amd64, user 65532,
                     created 2 days ago, label org.opencontainers.image.source
- docker-single:1    Docker schema-2 manifest; no user (root), created 2020-01-01
- multi:1            OCI index: linux/amd64 (user 65532) and linux/arm64/v8
                     (user root), plus a BuildKit attestation manifest
- signed:1           signed with keys/cosign.key (cosign's layout: tag
                     sha256-<hex>.sig, simple-signing payload, the signature in
                     the dev.cosignproject.cosign/signature annotation)
- other-signed:1     signed with keys/other.key only
- unsigned:1         no signature
- wrong-payload:1    signed with cosign.key, but the payload names another digest
- moved:1            signed with cosign.key, then the tag moved to a new image

Only the standard library and the openssl command line are used, so that
CI needs nothing beyond Debian's packages.
"""

import argparse
import base64
import gzip
import hashlib
import http.server
import io
import json
import os
import socketserver
import ssl
import subprocess
import sys
import tarfile
import threading
import time
import urllib.error
import urllib.request

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
DOCKER_LAYER = "application/vnd.docker.image.rootfs.diff.tar.gzip"
SIMPLE_SIGNING = "application/vnd.dev.cosign.simplesigning.v1+json"


def sha256(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


def rfc3339(seconds):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds))


class Registry:
    def __init__(self, host, user=None, ca=None):
        self.host = host
        scheme = "https" if ca else "http"
        self.base = f"{scheme}://{host}"
        self.context = ssl.create_default_context(cafile=ca) if ca else None
        self.auth = None
        if user:
            self.auth = "Basic " + base64.b64encode(user.encode()).decode()

    def request(self, method, path, body=None, headers=None):
        url = path if path.startswith("http") else self.base + path
        request = urllib.request.Request(url, data=body, method=method, headers=headers or {})
        if self.auth:
            request.add_header("Authorization", self.auth)
        try:
            with urllib.request.urlopen(request, context=self.context, timeout=30) as response:
                return response.status, dict(response.headers), response.read()
        except urllib.error.HTTPError as e:
            raise SystemExit(f"{method} {url}: {e.code} {e.read()[:300]!r}")

    def blob(self, repo, data):
        digest = sha256(data)
        _, headers, _ = self.request("POST", f"/v2/{repo}/blobs/uploads/")
        location = headers["Location"]
        if location.startswith("/"):
            location = self.base + location
        separator = "&" if "?" in location else "?"
        self.request("PUT", f"{location}{separator}digest={digest}", data,
                     {"Content-Type": "application/octet-stream"})
        return {"digest": digest, "size": len(data)}

    def manifest(self, repo, reference, media_type, document):
        data = json.dumps(document, separators=(",", ":")).encode()
        _, headers, _ = self.request("PUT", f"/v2/{repo}/manifests/{reference}", data,
                                     {"Content-Type": media_type})
        digest = sha256(data)
        answered = headers.get("Docker-Content-Digest")
        if answered and answered != digest:
            raise SystemExit(f"{repo}:{reference}: the registry says {answered}, we computed {digest}")
        return digest, len(data)


def layer(seed):
    """A gzipped tar holding one small file: a layer a runtime could unpack."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as tar:
        content = f"registry-guard fixture {seed}\n".encode()
        info = tarfile.TarInfo("fixture.txt")
        info.size = len(content)
        info.mtime = 0
        tar.addfile(info, io.BytesIO(content))
    return gzip.compress(raw.getvalue(), mtime=0)


def image(registry, repo, *, docker=False, architecture="amd64", variant=None, user=None,
          created=None, labels=None, seed="", reference=None):
    """Pushes one image (config, layer, manifest); returns (digest, size)."""
    config = {"architecture": architecture, "os": "linux",
              "config": {"Env": ["PATH=/usr/bin"]},
              "rootfs": {"type": "layers", "diff_ids": []}}
    if variant:
        config["variant"] = variant
    if user is not None:
        config["config"]["User"] = user
    if labels:
        config["config"]["Labels"] = labels
    if created:
        config["created"] = created
    data = layer(f"{repo} {architecture} {seed}")
    config["rootfs"]["diff_ids"] = [sha256(gzip.decompress(data))]
    config_blob = registry.blob(repo, json.dumps(config, separators=(",", ":")).encode())
    layer_blob = registry.blob(repo, data)
    manifest = {
        "schemaVersion": 2,
        "mediaType": DOCKER_MANIFEST if docker else OCI_MANIFEST,
        "config": {"mediaType": DOCKER_CONFIG if docker else OCI_CONFIG, **config_blob},
        "layers": [{"mediaType": DOCKER_LAYER if docker else OCI_LAYER, **layer_blob}],
    }
    # Platform images of an index are pushed by digest.
    data = json.dumps(manifest, separators=(",", ":")).encode()
    return registry.manifest(repo, reference or sha256(data), manifest["mediaType"], manifest)


def sign(registry, repo, digest, key, payload_digest=None):
    """Cosign's key signature of repo@digest: the simple-signing payload,
    signed with openssl (ECDSA P-256, SHA-256, DER), as tag sha256-<hex>.sig."""
    payload = json.dumps({
        "critical": {
            "identity": {"docker-reference": f"{registry.host}/{repo}"},
            "image": {"docker-manifest-digest": payload_digest or digest},
            "type": "cosign container image signature",
        },
        "optional": None,
    }, separators=(",", ":")).encode()
    signature = subprocess.run(["openssl", "dgst", "-sha256", "-sign", key], input=payload,
                               capture_output=True, check=True).stdout
    payload_blob = registry.blob(repo, payload)
    config = {"architecture": "", "created": "0001-01-01T00:00:00Z", "os": "",
              "rootfs": {"type": "layers", "diff_ids": [payload_blob["digest"]]}, "config": {}}
    config_blob = registry.blob(repo, json.dumps(config, separators=(",", ":")).encode())
    manifest = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {"mediaType": OCI_CONFIG, **config_blob},
        "layers": [{
            "mediaType": SIMPLE_SIGNING, **payload_blob,
            "annotations": {"dev.cosignproject.cosign/signature": base64.b64encode(signature).decode()},
        }],
    }
    tag = digest.replace(":", "-") + ".sig"
    registry.manifest(repo, tag, OCI_MANIFEST, manifest)


def push(args):
    registry = Registry(args.registry, args.user, args.ca)
    key = os.path.join(args.keys, "cosign.key")
    other = os.path.join(args.keys, "other.key")
    recent = rfc3339(time.time() - 2 * 86400)
    out = {"registry": args.registry}

    out["oci-single"], _ = image(
        registry, "acme/oci-single", user="65532", created=recent,
        labels={"org.opencontainers.image.source": "https://github.com/acme/oci-single"}, reference="1")
    out["docker-single"], _ = image(
        registry, "acme/docker-single", docker=True, created="2020-01-01T00:00:00Z", reference="1")

    amd64 = image(registry, "acme/multi", user="65532", created=recent)
    arm64 = image(registry, "acme/multi", architecture="arm64", variant="v8", user="root", created=recent)
    attestation_blob = registry.blob("acme/multi", b'{"predicateType":"https://slsa.dev/provenance/v0.2"}')
    empty = registry.blob("acme/multi", b"{}")
    attestation = {"schemaVersion": 2, "mediaType": OCI_MANIFEST,
                   "config": {"mediaType": OCI_CONFIG, **empty},
                   "layers": [{"mediaType": "application/vnd.in-toto+json", **attestation_blob}]}
    data = json.dumps(attestation, separators=(",", ":")).encode()
    attestation_digest, attestation_size = registry.manifest("acme/multi", sha256(data), OCI_MANIFEST, attestation)
    index = {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [
        {"mediaType": OCI_MANIFEST, "digest": amd64[0], "size": amd64[1],
         "platform": {"architecture": "amd64", "os": "linux"}},
        {"mediaType": OCI_MANIFEST, "digest": arm64[0], "size": arm64[1],
         "platform": {"architecture": "arm64", "os": "linux", "variant": "v8"}},
        {"mediaType": OCI_MANIFEST, "digest": attestation_digest, "size": attestation_size,
         "platform": {"architecture": "unknown", "os": "unknown"},
         "annotations": {"vnd.docker.reference.digest": amd64[0],
                         "vnd.docker.reference.type": "attestation-manifest"}},
    ]}
    out["multi"], _ = registry.manifest("acme/multi", "1", OCI_INDEX, index)
    out["multi-amd64"], out["multi-arm64"] = amd64[0], arm64[0]

    for name, signer in [("signed", key), ("other-signed", other), ("unsigned", None),
                         ("wrong-payload", key), ("moved", key)]:
        digest, _ = image(registry, f"acme/{name}", user="65532", created=recent, seed=name, reference="1")
        out[name] = digest
        if signer:
            elsewhere = sha256(b"another image") if name == "wrong-payload" else None
            sign(registry, f"acme/{name}", digest, signer, elsewhere)
    # moved:1 now points to an image nobody signed.
    out["moved-now"], _ = image(registry, "acme/moved", user="65532", created=recent, seed="after", reference="1")
    json.dump(out, sys.stdout, indent=1)
    print()


def sign_tag(args):
    """Signs what repo:tag names now (a pushed policy module, say)."""
    registry = Registry(args.registry, args.user, args.ca)
    accept = ", ".join([OCI_MANIFEST, DOCKER_MANIFEST, OCI_INDEX])
    _, headers, _ = registry.request("HEAD", f"/v2/{args.repo}/manifests/{args.tag}", None, {"Accept": accept})
    digest = headers["Docker-Content-Digest"]
    sign(registry, args.repo, digest, args.key)
    print(digest)


def trust_root(args):
    """A Sigstore ClientTrustConfig for an air-gapped host: a made-up Fulcio
    CA and Rekor key (never used: key signatures need neither, but kwctl and
    policy-server refuse a trust root without them)."""
    work = args.dir
    os.makedirs(work, exist_ok=True)
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                    "-nodes", "-days", "30", "-subj", "/O=registry-guard tests/CN=no fulcio",
                    "-keyout", os.path.join(work, "fulcio.key"), "-out", os.path.join(work, "fulcio.pem")],
                   check=True, capture_output=True)
    der = subprocess.run(["openssl", "x509", "-in", os.path.join(work, "fulcio.pem"), "-outform", "DER"],
                         check=True, capture_output=True).stdout
    rekor = subprocess.run(["openssl", "ec", "-in", os.path.join(work, "fulcio.key"), "-pubout", "-outform", "DER"],
                           check=True, capture_output=True).stdout
    since = {"start": "2020-01-01T00:00:00Z"}
    config = {
        "mediaType": "application/vnd.dev.sigstore.clienttrustconfig.v0.1+json",
        "trustedRoot": {
            "mediaType": "application/vnd.dev.sigstore.trustedroot+json;version=0.1",
            "tlogs": [{"baseUrl": "https://rekor.invalid", "hashAlgorithm": "SHA2_256",
                       "publicKey": {"rawBytes": b64(rekor), "keyDetails": "PKIX_ECDSA_P256_SHA_256",
                                     "validFor": since},
                       "logId": {"keyId": b64(hashlib.sha256(rekor).digest())}}],
            "certificateAuthorities": [{"subject": {"organization": "registry-guard tests", "commonName": "no fulcio"},
                                        "uri": "https://fulcio.invalid",
                                        "certChain": {"certificates": [{"rawBytes": b64(der)}]},
                                        "validFor": since}],
            "ctlogs": [], "timestampAuthorities": []},
        "signingConfig": {"mediaType": "application/vnd.dev.sigstore.signingconfig.v0.2+json",
                          "caUrls": [], "oidcUrls": [], "rekorTlogUrls": [], "tsaUrls": [],
                          "rekorTlogConfig": {"selector": "ANY"}, "tsaConfig": {"selector": "ANY"}},
    }
    with open(os.path.join(work, "trust-config.json"), "w") as f:
        json.dump(config, f, indent=1)


def b64(data):
    return base64.b64encode(data).decode()


def review(args):
    """A Pod CREATE AdmissionReview running the images, as an API server sends it."""
    containers = [{"name": f"c{i}", "image": image} for i, image in enumerate(args.images)]
    print(json.dumps({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": {
        "uid": "9b0d7e4c-1a2b-4c3d-8e9f-a0b1c2d3e4f5",
        "kind": {"group": "", "version": "v1", "kind": "Pod"},
        "resource": {"group": "", "version": "v1", "resource": "pods"},
        "operation": "CREATE", "name": "p", "namespace": "default", "userInfo": {"username": "alice"},
        "object": {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "default"},
                   "spec": {"containers": containers}}}}))


def keys(args):
    os.makedirs(args.dir, exist_ok=True)
    for name in ("cosign", "other"):
        private = os.path.join(args.dir, f"{name}.key")
        subprocess.run(["openssl", "ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", private],
                       check=True)
        subprocess.run(["openssl", "ec", "-in", private, "-pubout", "-out",
                        os.path.join(args.dir, f"{name}.pub")], check=True, capture_output=True)


def registry_config(args):
    lines = ["version: 0.1", "log:", "  level: error", "  accesslog:", "    disabled: true",
             "storage:", "  filesystem:", f"    rootdirectory: {args.storage}",
             "http:", f"  addr: 127.0.0.1:{args.port}"]
    if args.cert:
        lines += ["  tls:", f"    certificate: {args.cert}", f"    key: {args.key}"]
    if args.htpasswd:
        lines += ["auth:", "  htpasswd:", "    realm: registry-guard-tests", f"    path: {args.htpasswd}"]
    print("\n".join(lines))


# What the lying registry serves for every manifest and blob asked for: a
# valid image, whatever digest was asked (so an image named by digest gets
# another digest's manifest).
LYING_CONFIG = json.dumps({"architecture": "amd64", "os": "linux", "config": {"User": "65532"},
                           "created": "2026-01-01T00:00:00Z",
                           "rootfs": {"type": "layers", "diff_ids": []}}, separators=(",", ":")).encode()
LYING_MANIFEST = json.dumps({"schemaVersion": 2, "mediaType": OCI_MANIFEST,
                             "config": {"mediaType": OCI_CONFIG, "digest": sha256(LYING_CONFIG),
                                        "size": len(LYING_CONFIG)},
                             "layers": []}, separators=(",", ":")).encode()


class Fake(http.server.BaseHTTPRequestHandler):
    mode = "500"
    touch = None

    def lie(self):
        if "/manifests/" in self.path:
            body, media_type = LYING_MANIFEST, OCI_MANIFEST
        elif "/blobs/" in self.path:
            body, media_type = LYING_CONFIG, OCI_CONFIG
        else:
            body, media_type = b"{}", "application/json"
        self.send_response(200)
        self.send_header("Content-Type", media_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Docker-Content-Digest", sha256(body))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def do_GET(self):  # noqa: N802 (the standard library's name)
        if self.mode == "lie":
            self.lie()
            return
        if self.mode == "hang":
            # Accept, read the request, say so in the touch file, and never
            # answer (bounded: the test stops this process, which closes the
            # connection).
            if self.touch:
                with open(self.touch, "a") as f:
                    f.write(self.path + "\n")
            time.sleep(3600)
            return
        body = b'{"errors":[{"code":"UNKNOWN","message":"the registry is broken"}]}'
        self.send_response(500)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_HEAD = do_GET

    def log_message(self, *args):
        pass


def fake_registry(args):
    Fake.mode = args.mode
    Fake.touch = args.touch

    class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
        daemon_threads = True

    server = Server(("127.0.0.1", args.port), Fake)
    threading.Timer(args.max_seconds, server.shutdown).start()
    server.serve_forever()


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("push")
    p.add_argument("--registry", required=True)
    p.add_argument("--keys", required=True)
    p.add_argument("--user")
    p.add_argument("--ca")
    p.set_defaults(run=push)
    p = sub.add_parser("sign")
    p.add_argument("--registry", required=True)
    p.add_argument("--repo", required=True)
    p.add_argument("--tag", required=True)
    p.add_argument("--key", required=True)
    p.add_argument("--user")
    p.add_argument("--ca")
    p.set_defaults(run=sign_tag)
    p = sub.add_parser("trust-root")
    p.add_argument("dir")
    p.set_defaults(run=trust_root)
    p = sub.add_parser("review")
    p.add_argument("images", nargs="+")
    p.set_defaults(run=review)
    p = sub.add_parser("keys")
    p.add_argument("dir")
    p.set_defaults(run=keys)
    p = sub.add_parser("registry-config")
    p.add_argument("--storage", required=True)
    p.add_argument("--port", required=True)
    p.add_argument("--cert")
    p.add_argument("--key")
    p.add_argument("--htpasswd")
    p.set_defaults(run=registry_config)
    p = sub.add_parser("fake-registry")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--mode", choices=["500", "hang", "lie"], required=True)
    p.add_argument("--max-seconds", type=float, default=300)
    p.add_argument("--touch", help="hang: append each request's path to this file")
    p.set_defaults(run=fake_registry)
    args = parser.parse_args()
    args.run(args)


if __name__ == "__main__":
    main()
