"""The bed's ECR: mirrors every image manifest pushed to the local registry into moto's ECR.

The registry (distribution v3) POSTs its notifications here. For each manifest push with a tag,
the manifest is read back from the registry as pushed and handed to ECR PutImage with the
registry's own digest, so `describe-images`, the build's termination-message digest and the
Pod's imageID all agree. Layers are not copied: moto never looks at them, and Pods pull the
image from the registry itself (containerd mirrors the ECR host to it). Repositories are
created on first push, as an ECR pull-through or `create_on_push` setup would.

Usage: python ecr_mirror.py HOST PORT MOTO_URL   (started by test/bed/node/node.sh)
"""

import json
import sys
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import boto3

MANIFEST_SUFFIXES = (
    "manifest.v1+json",
    "manifest.v2+json",
    "image.index.v1+json",
    "manifest.list.v2+json",
)


def log(*parts):
    print(*parts, flush=True)


class Mirror:
    def __init__(self, moto_url):
        self.ecr = boto3.client("ecr", endpoint_url=moto_url, region_name="us-east-1")

    def ensure_repository(self, name):
        try:
            self.ecr.create_repository(repositoryName=name)
        except self.ecr.exceptions.RepositoryAlreadyExistsException:
            pass

    def on_event(self, event):
        target = event.get("target", {})
        media_type = target.get("mediaType", "")
        if event.get("action") != "push" or not target.get("tag") or not media_type.endswith(MANIFEST_SUFFIXES):
            return
        request = urllib.request.Request(target["url"], headers={"Accept": media_type})
        manifest = urllib.request.urlopen(request, timeout=10).read().decode()
        self.ensure_repository(target["repository"])
        try:
            image = self.ecr.put_image(
                repositoryName=target["repository"],
                imageManifest=manifest,
                imageManifestMediaType=media_type,
                imageTag=target["tag"],
                # Without it moto derives a digest of its own (from the layer digests).
                imageDigest=target["digest"],
            )["image"]
        except self.ecr.exceptions.ImageAlreadyExistsException:
            log("already in ECR", target["repository"], target["tag"], target["digest"])
            return
        log("mirrored", target["repository"], target["tag"], target["digest"],
            "ecr", image["imageId"]["imageDigest"])


def handler(mirror):
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # readiness, for up.sh
            self.send_response(200 if self.path == "/healthz" else 404)
            self.end_headers()

        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            for event in json.loads(body or b"{}").get("events", []):
                try:
                    mirror.on_event(event)
                except Exception as e:  # say so, but never make the registry retry forever
                    log("mirroring failed:", repr(e))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    return Handler


def main():
    host, port, moto_url = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    server = ThreadingHTTPServer((host, port), handler(Mirror(moto_url)))
    log(f"mirroring registry pushes into {moto_url} (listening on {host}:{port})")
    server.serve_forever()


if __name__ == "__main__":
    main()
