"""Dockerfile, .dockerignore and deploy/k8s.yaml agree with each other, with nginx.conf and
with the build command of netlify.toml and the README. Docker cannot run here, so these
static checks (plus the real nginx of test_nginx.py) are what stands behind the image."""

from __future__ import annotations

import fnmatch
import re
import subprocess
import tomllib

import yaml

from deploy.nginx_conf import NginxSite, render_nginx_conf
from sitegen.config import ROOT
from sitegen.headers import REDIRECTS

DOCKERFILE = (ROOT / "Dockerfile").read_text()


def netlify_build_command() -> str:
    return tomllib.loads((ROOT / "netlify.toml").read_text())["build"]["command"]


def dockerfile_instructions() -> list[tuple[str, str]]:
    """Return (INSTRUCTION, arguments) pairs, continuation lines joined, comments dropped."""
    text = re.sub(r"\\\n\s*", " ", DOCKERFILE)
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            out.append((word.upper(), rest.strip()))
    return out


def stages() -> list[list[tuple[str, str]]]:
    result: list[list[tuple[str, str]]] = []
    for word, rest in dockerfile_instructions():
        if word == "FROM":
            result.append([])
        result[-1].append((word, rest))
    return result


def k8s_docs() -> dict[str, dict]:
    docs = list(yaml.safe_load_all((ROOT / "deploy" / "k8s.yaml").read_text()))
    return {d["kind"]: d for d in docs}


def container() -> dict:
    (only,) = k8s_docs()["Deployment"]["spec"]["template"]["spec"]["containers"]
    return only


def readme_deploy_section() -> str:
    text = (ROOT / "README.md").read_text()
    assert "\n## Deploy\n" in text, "README.md needs its Deploy section"
    return text[text.index("\n## Deploy\n") :]


# ------------------------------------------------------------------ Dockerfile


def test_dockerfile_builds_with_the_netlify_and_readme_command():
    command = netlify_build_command()
    build_stage = next(s for s in stages() if "AS build" in s[0][1])
    assert build_stage[0][1].startswith("python:3.11")
    assert ("RUN", command) in build_stage, f"the build stage must RUN {command!r}"
    assert command in readme_deploy_section()
    # Node 20 for `npm ci` and the Pyodide bytecode step of the build
    assert any(w == "FROM" and r.startswith("node:20") for w, r in dockerfile_instructions())


def test_dockerfile_serves_public_with_the_rendered_nginx_conf():
    serve = stages()[-1]
    assert serve[0] == ("FROM", "nginx:stable AS serve")
    site = NginxSite()
    assert ("COPY", "deploy/nginx.conf /etc/nginx/nginx.conf") in serve
    assert ("COPY", f"--from=build /src/public {site.root}") in serve
    assert ("EXPOSE", site.listen) in serve
    user = dict(serve)["USER"]
    assert user.split(":")[0] == str(container()["securityContext"].get("runAsUser", "101"))


def git_tracked() -> list[str]:
    out = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=False)
    # the suite runs from a git checkout (CI clones main): anything else is a setup error
    assert out.returncode == 0, f"git ls-files failed: {out.stderr}"
    return out.stdout.splitlines()


def dockerignored(path: str, patterns: list[str]) -> bool:
    """Docker's rule, enough for our patterns: a pattern matches the path or a parent."""
    parts = path.split("/")
    prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    for pattern in patterns:
        bare = pattern.removeprefix("**/")
        for prefix in prefixes:
            if fnmatch.fnmatchcase(prefix, pattern) or (
                pattern.startswith("**/") and fnmatch.fnmatchcase(prefix.split("/")[-1], bare)
            ):
                return True
    return False


def test_dockerignore_keeps_every_tracked_file():
    """The image builds from what a fresh clone has: .dockerignore drops generated or local
    paths only (build.py reads templates/, content/, site/, reference/ ...)."""
    lines = (ROOT / ".dockerignore").read_text().splitlines()
    patterns = [p.strip() for p in lines if p.strip() and not p.startswith("#")]
    for must in ("node_modules", "public", ".venv", ".git"):
        assert must in patterns
    assert dockerignored("node_modules/pyodide/pyodide.mjs", patterns)
    assert dockerignored("engine/__pycache__/x.pyc", patterns)
    ignored = [p for p in git_tracked() if dockerignored(p, patterns)]
    assert ignored == []


# ------------------------------------------------------------------ k8s.yaml


def test_k8s_deployment_and_service():
    docs = k8s_docs()
    assert {"Deployment", "Service"} <= set(docs)
    deployment = docs["Deployment"]
    assert deployment["apiVersion"] == "apps/v1"
    assert deployment["spec"]["replicas"] == 2
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    selector = deployment["spec"]["selector"]["matchLabels"]
    assert selector.items() <= labels.items()
    service = docs["Service"]
    assert service["spec"]["selector"].items() <= labels.items()
    (port,) = container()["ports"]
    assert port["containerPort"] == int(NginxSite().listen)
    (svc_port,) = service["spec"]["ports"]
    assert svc_port["targetPort"] in (port["name"], port["containerPort"])


def test_k8s_probes_hit_api_health():
    c = container()
    (port,) = c["ports"]
    for probe in ("readinessProbe", "livenessProbe"):
        get = c[probe]["httpGet"]
        assert get["path"] == "/api/health"
        assert get["port"] in (port["name"], port["containerPort"])
    assert ("/api/health", "/api/health.json", 200) in REDIRECTS


def test_k8s_runs_non_root_on_a_read_only_root_with_resources():
    spec = k8s_docs()["Deployment"]["spec"]["template"]["spec"]
    c = container()
    pod_sc, sc = spec["securityContext"], c["securityContext"]
    assert pod_sc["runAsNonRoot"] is True and pod_sc["runAsUser"] != 0
    assert sc["readOnlyRootFilesystem"] is True
    assert sc["allowPrivilegeEscalation"] is False
    assert sc["capabilities"]["drop"] == ["ALL"]
    for kind in ("requests", "limits"):
        assert {"cpu", "memory"} <= set(c["resources"][kind])
    # every path nginx writes must be on a writable emptyDir mount
    empty_dirs = {v["name"] for v in spec["volumes"] if "emptyDir" in v}
    mounts = [m["mountPath"] for m in c["volumeMounts"] if m["name"] in empty_dirs]
    conf = render_nginx_conf()
    written = re.findall(r"^\s*(?:pid|\w+_temp_path) (\S+);", conf, re.M)
    assert len(written) == 6
    for path in written:
        assert any(path.startswith(m.rstrip("/") + "/") for m in mounts), path
    assert not re.search(r"^\s*user ", conf, re.M)  # no `user`: it runs as the pod's uid


def test_k8s_image_is_the_one_the_readme_builds():
    image = container()["image"]
    assert f"docker build -t {image} ." in readme_deploy_section()
    assert f"docker build -t {image} ." in DOCKERFILE
