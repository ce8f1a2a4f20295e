"""A tiny stand-in for the Hugging Face Hub, used only by the tests: download and upload through the real client.

It serves a folder of repos through the endpoints ``huggingface_hub`` 2.4 calls:
repo info by revision, recursive tree listing, ``HEAD``/``GET`` of
``/{repo}/resolve/{rev}/{path}`` (with ``X-Repo-Commit``, ``ETag`` and
``Content-Length``), and for publishing ``/api/repos/create``, ``preupload``
and ``commit`` (regular, base64 files only). Layout on disk::

    <root>/<org>/<name>/repo.json          {"private": bool, "token": str, "refs": {branch/tag: sha}}
    <root>/<org>/<name>/<sha>/<files...>   one folder per commit, holding every file of that commit

A repo can also be made to misbehave (``misbehave``): answer every request with one HTTP
status (``answer``; on its files only with ``files_only``), or send a file's headers and then
stall for ``stall`` seconds before its bytes, as a Hub that hangs mid-download does.

Run it with ``python tests/support/hub_server.py ROOT PORT``; the helpers below write repos for tests.
"""

from __future__ import annotations

import base64
import hashlib
import json
import shutil
import sys
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

# --- helpers used by tests to build repos on disk ---------------------------------


def repo_dir(root: Path, repo_id: str) -> Path:
    return Path(root) / repo_id


def read_repo(root: Path, repo_id: str) -> dict | None:
    meta = repo_dir(root, repo_id) / "repo.json"
    return json.loads(meta.read_text()) if meta.exists() else None


def write_repo(root: Path, repo_id: str, meta: dict) -> None:
    folder = repo_dir(root, repo_id)
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / "repo.json.tmp"
    tmp.write_text(json.dumps(meta))
    tmp.replace(folder / "repo.json")


def create_repo(root: Path, repo_id: str, *, private: bool = False, token: str = "") -> None:
    if read_repo(root, repo_id) is None:
        write_repo(root, repo_id, {"private": private, "token": token, "refs": {}})


def commit_folder(
    root: Path, repo_id: str, source: Path | None, *, branch: str = "main", subfolder: str = "", files=None
) -> str:
    """Commit ``source``'s files (plus ``files`` {path: bytes}) on top of ``branch``; returns the new sha."""
    meta = read_repo(root, repo_id)
    if meta is None:
        create_repo(root, repo_id)
        meta = read_repo(root, repo_id)
    sha = hashlib.sha1(uuid.uuid4().bytes).hexdigest()
    target = repo_dir(root, repo_id) / sha
    parent = meta["refs"].get(branch)
    if parent:
        shutil.copytree(repo_dir(root, repo_id) / parent, target)
    else:
        target.mkdir(parents=True)
    if source is not None:
        shutil.copytree(source, target / subfolder if subfolder else target, dirs_exist_ok=True)
    for path, content in (files or {}).items():
        (target / path).parent.mkdir(parents=True, exist_ok=True)
        (target / path).write_bytes(content)
    meta["refs"][branch] = sha
    write_repo(root, repo_id, meta)
    return sha


def misbehave(root: Path, repo_id: str, *, answer: int | None = None, files_only: bool = False, stall: float = 0):
    """Make ``repo_id`` answer ``answer`` (an HTTP status) or stall its downloads for ``stall`` seconds."""
    meta = read_repo(root, repo_id)
    meta["misbehave"] = {"answer": answer, "files_only": files_only, "stall": stall}
    write_repo(root, repo_id, meta)


def tag(root: Path, repo_id: str, name: str, sha: str) -> None:
    meta = read_repo(root, repo_id)
    meta["refs"][name] = sha
    write_repo(root, repo_id, meta)


# --- the server -------------------------------------------------------------------


class HubHandler(BaseHTTPRequestHandler):
    root: Path
    protocol_version = "HTTP/1.1"

    def log_message(self, format, *args):  # keep test output quiet
        pass

    # routing ------------------------------------------------------------------
    def do_HEAD(self):
        self._route("HEAD")

    def do_GET(self):
        self._route("GET")

    def do_POST(self):
        self._route("POST")

    def _route(self, method: str) -> None:
        path = unquote(urlsplit(self.path).path)
        parts = [p for p in path.split("/") if p]
        try:
            if method == "POST" and parts[:3] == ["api", "repos", "create"]:
                return self._create_repo()
            if parts[:2] == ["api", "models"] and len(parts) >= 4:
                repo_id = f"{parts[2]}/{parts[3]}"
                rest = parts[4:]
                if method == "GET" and (not rest or rest[0] == "revision"):
                    return self._model_info(repo_id, rest[1] if len(rest) > 1 else "main")
                if method == "GET" and rest and rest[0] == "tree":
                    return self._tree(repo_id, rest[1], "/".join(rest[2:]))
                if method == "POST" and rest and rest[0] == "preupload":
                    return self._preupload(repo_id)
                if method == "POST" and rest and rest[0] == "commit":
                    return self._commit(repo_id, rest[1])
            if len(parts) >= 5 and parts[2] == "resolve" and method in ("GET", "HEAD"):
                return self._resolve(f"{parts[0]}/{parts[1]}", parts[3], "/".join(parts[4:]), method)
            self._error(404, "EntryNotFound", f"No route for {path}")
        except BrokenPipeError:
            pass

    # responses ----------------------------------------------------------------
    def _json(self, status: int, data, head: bool = False) -> None:
        body = json.dumps(data).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if not head:
            self.wfile.write(body)

    def _error(self, status: int, code: str, message: str, head: bool = False) -> None:
        body = json.dumps({"error": message}).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        if code:
            self.send_header("X-Error-Code", code)
        self.send_header("X-Error-Message", message)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if not head:
            self.wfile.write(body)

    def _body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    # access -------------------------------------------------------------------
    def _repo(self, repo_id: str, head: bool = False, write: bool = False, file: bool = False) -> dict | None:
        meta = read_repo(self.root, repo_id)
        answer = (meta or {}).get("misbehave", {}).get("answer")
        if answer and (file or not meta["misbehave"].get("files_only")):
            # A plain error, as a proxy or a failing Hub sends it: no X-Error-Code to explain it.
            self._error(answer, "", f"HTTP {answer} from the test Hub", head=head)
            return None
        auth = self.headers.get("Authorization", "")
        token = auth.removeprefix("Bearer ").strip() if auth.startswith("Bearer ") else ""
        if meta is None or (meta.get("private") and token != meta.get("token")):
            # Like the real Hub: a private repo without the right token looks absent.
            status = 401 if (meta is not None and meta.get("private")) or not token else 404
            self._error(status, "RepoNotFound", "Repository not found", head=head)
            return None
        if write and not token:
            self._error(401, "", "Invalid credentials in Authorization header", head=head)
            return None
        return meta

    def _resolve_rev(self, repo_id: str, meta: dict, revision: str, head: bool = False) -> str | None:
        sha = meta["refs"].get(revision) or (revision if (repo_dir(self.root, repo_id) / revision).is_dir() else None)
        if sha is None or len(sha) != 40:
            self._error(404, "RevisionNotFound", f"Invalid rev id: {revision}", head=head)
            return None
        return sha

    # endpoints ----------------------------------------------------------------
    def _model_info(self, repo_id: str, revision: str) -> None:
        meta = self._repo(repo_id)
        if meta is None:
            return
        sha = self._resolve_rev(repo_id, meta, revision)
        if sha is None:
            return
        folder = repo_dir(self.root, repo_id) / sha
        siblings = [{"rfilename": p.relative_to(folder).as_posix()} for p in sorted(folder.rglob("*")) if p.is_file()]
        self._json(
            200,
            {"id": repo_id, "modelId": repo_id, "sha": sha, "private": bool(meta.get("private")), "siblings": siblings},
        )

    def _tree(self, repo_id: str, revision: str, under: str) -> None:
        meta = self._repo(repo_id)
        if meta is None:
            return
        sha = self._resolve_rev(repo_id, meta, revision)
        if sha is None:
            return
        folder = repo_dir(self.root, repo_id) / sha
        base = folder / under if under else folder
        entries = []
        for p in sorted(base.rglob("*")):
            rel = p.relative_to(folder).as_posix()
            if p.is_dir():
                entries.append({"type": "directory", "path": rel, "oid": hashlib.sha1(rel.encode()).hexdigest()})
            else:
                data = p.read_bytes()
                blob = hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()
                entries.append({"type": "file", "path": rel, "size": len(data), "oid": blob})
        self._json(200, entries)

    def _resolve(self, repo_id: str, revision: str, filename: str, method: str) -> None:
        head = method == "HEAD"
        meta = self._repo(repo_id, head=head, file=True)
        if meta is None:
            return
        sha = self._resolve_rev(repo_id, meta, revision, head=head)
        if sha is None:
            return
        path = repo_dir(self.root, repo_id) / sha / filename
        if not path.is_file():
            self._error(404, "EntryNotFound", f"{filename} does not exist at {revision}", head=head)
            return
        data = path.read_bytes()
        self.send_response(200)
        self.send_header("X-Repo-Commit", sha)
        self.send_header("ETag", f'"{hashlib.sha256(data).hexdigest()}"')
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if not head:
            stall = meta.get("misbehave", {}).get("stall")
            if stall:
                self.wfile.write(data[:1])
                self.wfile.flush()
                time.sleep(stall)
                data = data[1:]
            self.wfile.write(data)

    def _create_repo(self) -> None:
        payload = json.loads(self._body() or b"{}")
        repo_id = f"{payload.get('organization') or 'user'}/{payload['name']}"
        auth = self.headers.get("Authorization", "")
        if not auth.startswith("Bearer "):
            self._error(401, "", "Invalid credentials in Authorization header")
            return
        if read_repo(self.root, repo_id) is not None:
            self._json(409, {"error": "You already created this model repo", "url": f"/{repo_id}"})
            return
        create_repo(self.root, repo_id, private=payload.get("visibility") == "private", token=auth[7:])
        self._json(200, {"url": f"http://{self.headers.get('Host')}/{repo_id}", "name": repo_id})

    def _preupload(self, repo_id: str) -> None:
        payload = json.loads(self._body() or b"{}")
        if self._repo(repo_id, write=True) is None:
            return
        files = [{"path": f["path"], "uploadMode": "regular", "shouldIgnore": False} for f in payload["files"]]
        self._json(200, {"files": files})

    def _commit(self, repo_id: str, revision: str) -> None:
        lines = [json.loads(line) for line in self._body().splitlines() if line.strip()]
        if self._repo(repo_id, write=True) is None:
            return
        files, header = {}, {}
        for item in lines:
            if item["key"] == "header":
                header = item["value"]
            elif item["key"] == "file":
                files[item["value"]["path"]] = base64.b64decode(item["value"]["content"])
            else:
                self._error(400, "", f"This test Hub only accepts regular files, not {item['key']}")
                return
        sha = commit_folder(self.root, repo_id, None, branch=revision, files=files)
        meta = read_repo(self.root, repo_id)
        meta.setdefault("messages", {})[sha] = header.get("summary", "")
        write_repo(self.root, repo_id, meta)
        host = self.headers.get("Host")
        self._json(200, {"commitUrl": f"http://{host}/{repo_id}/commit/{sha}", "commitOid": sha})


def serve(root: Path, port: int) -> ThreadingHTTPServer:
    handler = type("BoundHubHandler", (HubHandler,), {"root": Path(root)})
    server = ThreadingHTTPServer(("127.0.0.1", port), handler)
    server.daemon_threads = True
    return server


if __name__ == "__main__":
    serve(Path(sys.argv[1]), int(sys.argv[2])).serve_forever()
