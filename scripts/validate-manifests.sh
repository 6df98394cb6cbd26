#!/usr/bin/env bash
# Validates the Kubernetes manifests under deploy/kubernetes, offline:
#
#   1. renders every kustomization (`kubectl kustomize`); kustomize
#      components are rendered through the kustomizations that use them;
#   2. validates every rendered object against the Kubernetes OpenAPI
#      schemas (strict: unknown fields are errors) with kubernetes-validate
#      (PyPI; the schemas ship inside the package), for Kubernetes
#      $K8S_VERSION (default 1.32). Custom resources of known operators
#      (MetalLB) have no schema there and are listed as not validated; any
#      other unknown kind is an error;
#   3. checks what the schemas cannot: every meshrr.yaml in a rendered
#      ConfigMap passes `meshrr-rr check` with the environment its pods get
#      (POD_IP and the literal env values of the container); the probes hit
#      /healthz and /readyz on the port the config's `admin` listens on; the
#      pod's security settings; selectors (each workload's own, no two
#      workloads selecting each other's pods, every Service and
#      PodDisruptionBudget selecting a workload of the render).
#
# Usage: scripts/validate-manifests.sh
# Env:   MESHRR_RR   meshrr-rr binary (default target/release/meshrr-rr,
#                    then target/x86_64-unknown-linux-gnu/release/meshrr-rr,
#                    then target/debug/meshrr-rr)
#        K8S_VERSION Kubernetes version of the schemas (default 1.32)
#        MESHRR_VALIDATE_VENV  where kubernetes-validate is installed
#                    (default target/validate-venv); after the first run
#                    nothing is downloaded.
# Needs kubectl (installed with apt-get if missing) and python3.
# Exit status: 0 if everything is valid, 1 otherwise.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
root=deploy/kubernetes
k8s_version=${K8S_VERSION:-1.32}
validator_version=1.37.0
venv=${MESHRR_VALIDATE_VENV:-$repo/target/validate-venv}

die() {
  echo "validate-manifests: FAILED: $*" >&2
  exit 1
}

# kubectl (with its built-in kustomize).
if ! command -v kubectl >/dev/null 2>&1; then
  echo "kubectl not found; installing it with apt-get" >&2
  if command -v apt-get >/dev/null 2>&1; then
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo=sudo
    $sudo apt-get update -qq >&2 || true
    $sudo apt-get install -y -qq kubectl >&2 ||
      $sudo apt-get install -y -qq kubernetes-client >&2 || true
  fi
  command -v kubectl >/dev/null 2>&1 ||
    die "kubectl is not installed and could not be installed with apt-get (package kubectl or kubernetes-client)"
fi

# kubernetes-validate, pinned, in its own virtualenv.
if ! "$venv/bin/python" -c "import kubernetes_validate.version as v, sys; sys.exit(v.__version__ != '$validator_version')" 2>/dev/null; then
  echo "installing kubernetes-validate $validator_version into $venv" >&2
  command -v python3 >/dev/null 2>&1 || die "python3 is needed"
  python3 -m venv "$venv" || die "cannot create a virtualenv at $venv (apt-get install python3-venv?)"
  PIP_DISABLE_PIP_VERSION_CHECK=1 "$venv/bin/pip" install --quiet "kubernetes-validate==$validator_version" ||
    die "pip install kubernetes-validate==$validator_version failed"
fi

# meshrr-rr, for `check`.
if [ -n "${MESHRR_RR:-}" ]; then
  rr=$MESHRR_RR
else
  rr=""
  for b in target/release/meshrr-rr target/x86_64-unknown-linux-gnu/release/meshrr-rr target/debug/meshrr-rr; do
    if [ -x "$b" ]; then
      rr=$b
      break
    fi
  done
  [ -n "$rr" ] || die "no meshrr-rr binary: build it (cargo build --release -p meshrr-rr) or set MESHRR_RR"
fi
[ -x "$rr" ] || die "MESHRR_RR=$rr is not an executable"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# Render every kustomization; components only through their users.
echo "kubectl: $(kubectl version --client 2>/dev/null | head -n 2 | tr '\n' ' ')"
echo "validator: kubernetes-validate $validator_version, Kubernetes $k8s_version schemas, strict"
echo "meshrr-rr: $rr"
echo
n=0
render_failed=0
: >"$work/index"
while IFS= read -r file; do
  dir=$(dirname "$file")
  if grep -Eq '^kind:[[:space:]]*Component[[:space:]]*$' "$file"; then
    printf 'component\t%s\t-\n' "$dir" >>"$work/index"
    continue
  fi
  n=$((n + 1))
  out="$work/render-$n.yaml"
  if kubectl kustomize "$dir" >"$out" 2>"$work/render-$n.err"; then
    printf 'kustomization\t%s\t%s\n' "$dir" "$out" >>"$work/index"
  else
    echo "FAIL $dir: kubectl kustomize failed:" >&2
    sed 's/^/    /' "$work/render-$n.err" >&2
    printf 'failed\t%s\t-\n' "$dir" >>"$work/index"
    render_failed=1
  fi
done < <(find "$root" \( -name kustomization.yaml -o -name kustomization.yml -o -name Kustomization \) -type f | LC_ALL=C sort)

[ "$n" -gt 0 ] || die "no kustomization found under $root"

status=0
MESHRR_RR="$rr" K8S_VERSION="$k8s_version" "$venv/bin/python" - "$work/index" <<'PY' || status=$?
import functools
import hashlib
import ipaddress
import os
import subprocess
import sys
import tempfile

import yaml
import kubernetes_validate.utils as kv

index_file = sys.argv[1]
rr = os.environ["MESHRR_RR"]
k8s = os.environ["K8S_VERSION"]
# A documentation address (RFC 5737) standing in for the downward API.
FAKE_POD_IP = "192.0.2.10"
CONFIG_KEY = "meshrr.yaml"
CONFIG_DIR = "/etc/meshrr"
# Custom resources of operators the examples rely on: no schema in
# kubernetes-validate; reported, not failed.
KNOWN_CRDS = {
    ("metallb.io/v1beta1", "IPAddressPool"),
    ("metallb.io/v1beta1", "BGPAdvertisement"),
    ("metallb.io/v1beta2", "BGPPeer"),
}
WORKLOADS = {"Deployment", "DaemonSet", "StatefulSet"}

# The schemas and the way kubernetes_validate.validate() uses them, but
# with every error of an object reported (validate() stops at the first)
# and each schema loaded once.
import re

import jsonschema
from referencing import Registry, Resource

if kv.major_minor(k8s) > kv.latest_version():
    sys.exit(f"kubernetes-validate has no schemas for Kubernetes {k8s}")
SCHEMA_VERSION = [v for v in kv.all_versions() if kv.major_minor(v) <= kv.major_minor(k8s)][-1]
SCHEMA_DIR = f"kubernetes-json-schema/v{SCHEMA_VERSION}-local-strict"


@functools.lru_cache(maxsize=None)
def schema_validator(api_version, kind):
    group_version = re.sub(r"^([^./]*)(?:\.[^/]*)?/", r"\1-", api_version)
    try:
        schema = kv.schema_contents(f"{SCHEMA_DIR}/{kind.lower()}-{group_version}.json", k8s)
    except FileNotFoundError:
        return None
    definitions = kv.schema_contents(f"{SCHEMA_DIR}/_definitions.json", k8s)
    registry = Resource.from_contents(schema) @ Registry()
    registry = Resource.from_contents(definitions) @ registry
    return jsonschema.validators.Draft202012Validator(schema, registry=registry)


kv.schema_contents = functools.lru_cache(maxsize=None)(kv.schema_contents)

errors = []


def fail(where, msg):
    errors.append(f"{where}: {msg}")
    print(f"  FAIL {msg}")


entries = []
for line in open(index_file):
    kind, d, out = line.rstrip("\n").split("\t")
    entries.append((kind, os.path.normpath(d), out))


def kustomization_refs(d):
    """Directories named in resources/components of the kustomization in d."""
    for name in ("kustomization.yaml", "kustomization.yml", "Kustomization"):
        p = os.path.join(d, name)
        if os.path.exists(p):
            k = yaml.safe_load(open(p)) or {}
            break
    else:
        return []
    refs = []
    for r in (k.get("resources") or []) + (k.get("components") or []):
        t = os.path.normpath(os.path.join(d, r))
        if os.path.isdir(t):
            refs.append(t)
    return refs


referenced = {}
for _, d, _ in entries:
    for t in kustomization_refs(d):
        referenced.setdefault(t, []).append(d)

# Every component must be used by a rendered kustomization, or it is never
# validated.
for kind, d, _ in entries:
    if kind == "component":
        users = referenced.get(d, [])
        print(f"{d}: component, validated through {', '.join(sorted(users)) or 'NOTHING'}")
        if not users:
            fail(d, "component used by no kustomization")


def matches(selector, labels):
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


def selector_of(w):
    sel = w["spec"].get("selector") or {}
    if sel.get("matchExpressions"):
        return None
    return sel.get("matchLabels") or {}


def name(o):
    return f"{o['kind']}/{o['metadata']['name']}"


check_cache = {}


def meshrr_check(text, env):
    key = (hashlib.sha256(text.encode()).hexdigest(), tuple(sorted(env.items())))
    if key not in check_cache:
        with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as f:
            f.write(text)
            path = f.name
        try:
            clean = {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}
            clean.update(env)
            p = subprocess.run([rr, "check", "--config", path], env=clean,
                               capture_output=True, text=True, timeout=30)
            out = (p.stdout + p.stderr).strip().replace(path, CONFIG_KEY)
            check_cache[key] = (p.returncode == 0, out)
        finally:
            os.unlink(path)
    return check_cache[key]


def port_number(container, port):
    if isinstance(port, int):
        return port
    for p in container.get("ports") or []:
        if p.get("name") == port:
            return p.get("containerPort")
    return None


def check_workload(where, w, objs, partial_ok):
    """Checks a meshrr workload; returns the number of configs checked."""
    pod = w["spec"]["template"]["spec"]
    c = next(c for c in pod["containers"] if is_meshrr(c))
    cn = f"{name(w)} container {c['name']}"
    host_net = bool(pod.get("hostNetwork"))
    psc = pod.get("securityContext") or {}
    sc = c.get("securityContext") or {}

    # Environment: POD_IP from the downward API, literal values as they are.
    env = {}
    pod_ip = False
    for e in c.get("env") or []:
        if "value" in e:
            env[e["name"]] = str(e["value"])
        elif e.get("valueFrom", {}).get("fieldRef", {}).get("fieldPath") == "status.podIP":
            env[e["name"]] = FAKE_POD_IP
            pod_ip = pod_ip or e["name"] == "POD_IP"
    if not pod_ip:
        fail(where, f"{cn}: POD_IP does not come from the downward API (status.podIP)")

    # Probes.
    admin_port = None
    for probe, path in (("livenessProbe", "/healthz"), ("readinessProbe", "/readyz")):
        g = (c.get(probe) or {}).get("httpGet")
        if not g or g.get("path") != path:
            fail(where, f"{cn}: {probe} is not an httpGet of {path}")
            continue
        port = port_number(c, g.get("port"))
        if port is None:
            fail(where, f"{cn}: {probe} port {g.get('port')!r} is not a port of the container")
        admin_port = admin_port or port

    # Security.
    if sc.get("allowPrivilegeEscalation") is not False:
        fail(where, f"{cn}: allowPrivilegeEscalation is not false")
    if sc.get("readOnlyRootFilesystem") is not True:
        fail(where, f"{cn}: readOnlyRootFilesystem is not true")
    caps = sc.get("capabilities") or {}
    if "ALL" not in (caps.get("drop") or []):
        fail(where, f"{cn}: capabilities do not drop ALL")
    if set(caps.get("add") or []) - {"NET_BIND_SERVICE"}:
        fail(where, f"{cn}: adds capabilities other than NET_BIND_SERVICE: {caps.get('add')}")
    if sc.get("privileged"):
        fail(where, f"{cn}: privileged")
    sysctls = {s["name"]: s["value"] for s in psc.get("sysctls") or []}
    if host_net:
        if sysctls:
            fail(where, f"{cn}: hostNetwork pods cannot set network sysctls: {sorted(sysctls)}")
        for p in c.get("ports") or []:
            if p.get("hostPort") != p.get("containerPort"):
                fail(where, f"{cn}: with hostNetwork, port {p.get('name')} needs hostPort = containerPort")
    else:
        run_as_non_root = sc.get("runAsNonRoot", psc.get("runAsNonRoot"))
        run_as_user = sc.get("runAsUser", psc.get("runAsUser"))
        if run_as_non_root is not True:
            fail(where, f"{cn}: runAsNonRoot is not true")
        if run_as_user != 65532:
            fail(where, f"{cn}: runAsUser is {run_as_user}, not 65532")
        if sysctls.get("net.ipv4.ip_unprivileged_port_start") != "0":
            fail(where, f"{cn}: pod sysctl net.ipv4.ip_unprivileged_port_start=0 missing (non-root cannot bind 179)")
    res = c.get("resources") or {}
    for part in ("requests", "limits"):
        for r in ("cpu", "memory"):
            if r not in (res.get(part) or {}):
                fail(where, f"{cn}: resources.{part}.{r} not set")

    # Namespace Pod Security level against what the pod needs.
    ns = w["metadata"].get("namespace")
    for o in objs:
        if o["kind"] == "Namespace" and o["metadata"]["name"] == ns:
            level = (o["metadata"].get("labels") or {}).get("pod-security.kubernetes.io/enforce", "privileged")
            if host_net and level != "privileged":
                fail(where, f"{cn}: hostNetwork pod in namespace {ns} that enforces Pod Security {level!r}")

    # The config, through the volume mounted at /etc/meshrr.
    mount = next((m for m in c.get("volumeMounts") or [] if m.get("mountPath") == CONFIG_DIR), None)
    if mount is None:
        fail(where, f"{cn}: nothing mounted at {CONFIG_DIR}")
        return 0
    vol = next((v for v in pod.get("volumes") or [] if v["name"] == mount["name"]), None)
    cm_name = ((vol or {}).get("configMap") or {}).get("name")
    if not cm_name:
        fail(where, f"{cn}: {CONFIG_DIR} is not a ConfigMap volume")
        return 0
    cm = next((o for o in objs if o["kind"] == "ConfigMap" and o["metadata"]["name"] == cm_name
               and o["metadata"].get("namespace") == ns), None)
    if cm is None:
        if partial_ok:
            print(f"  part: {name(w)} mounts ConfigMap {cm_name}, provided by the kustomization using this one")
        else:
            fail(where, f"{cn}: mounts ConfigMap {cm_name}, which is not in the render")
        return 0
    text = (cm.get("data") or {}).get(CONFIG_KEY)
    if text is None:
        fail(where, f"{cn}: ConfigMap {cm_name} has no key {CONFIG_KEY}")
        return 0
    ok, out = meshrr_check(text, env)
    shown_env = " ".join(f"{k}={v}" for k, v in sorted(env.items()))
    if ok:
        print(f"  config: {name(w)} <- ConfigMap {cm_name}: meshrr-rr check [{shown_env}]: {out}")
    else:
        fail(where, f"{cn}: meshrr-rr check of ConfigMap {cm_name} [{shown_env}] failed:\n      "
             + out.replace("\n", "\n      "))
    # The admin API must be reachable by the kubelet on the probed port.
    try:
        doc = yaml.safe_load(text)
        admin = (doc if isinstance(doc, dict) else {}).get("admin", "127.0.0.1:9179")
        host, _, port = str(admin).rpartition(":")
        host = host.strip("[]")
        if admin_port is not None and int(port) != admin_port:
            fail(where, f"{cn}: probes use port {admin_port} but the config's admin is {admin}")
        if not ipaddress.ip_address(host).is_unspecified:
            fail(where, f"{cn}: config admin {admin} is not reachable by the kubelet's probes (use 0.0.0.0:{port})")
    except (ValueError, yaml.YAMLError) as e:
        fail(where, f"{cn}: cannot read admin from the config: {e}")
    return 1


def is_meshrr(c):
    return c.get("name") == "meshrr-rr" or str(c.get("image", "")).split("/")[-1].startswith("meshrr-rr")


pools = {}
lb_services = []
total_objects = 0
total_schema = 0
total_crd = 0
total_configs = 0
rendered = 0
for kind, d, out in entries:
    if kind != "kustomization":
        continue
    rendered += 1
    try:
        objs = [o for o in yaml.safe_load_all(open(out)) if o]
    except yaml.YAMLError as e:
        print(f"{d}:")
        fail(d, f"rendered YAML does not parse: {e}")
        continue
    partial_ok = d in referenced
    kinds = {}
    for o in objs:
        kinds[o.get("kind", "?")] = kinds.get(o.get("kind", "?"), 0) + 1
    summary = ", ".join(f"{k} {v}" for k, v in sorted(kinds.items()))
    print(f"{d}: {len(objs)} objects ({summary})" + (f"; part of {', '.join(sorted(referenced[d]))}" if partial_ok else ""))
    total_objects += len(objs)

    # 1. Schemas.
    schema_ok = 0
    for o in objs:
        if not isinstance(o, dict) or "apiVersion" not in o or "kind" not in o:
            fail(d, f"not a Kubernetes object: {str(o)[:80]}")
            continue
        v = schema_validator(o["apiVersion"], o["kind"])
        if v is None:
            if (o["apiVersion"], o["kind"]) in KNOWN_CRDS:
                total_crd += 1
                print(f"  note: {o['apiVersion']} {name(o)}: custom resource, no schema, not validated")
            else:
                fail(d, f"{o['apiVersion']} {o['kind']}: unknown kind (no schema for Kubernetes {k8s})")
            continue
        errs = sorted(v.iter_errors(o), key=lambda e: list(map(str, e.path)))
        for e in errs:
            path = ".".join(str(p) for p in e.path) or "(object)"
            fail(d, f"{name(o)}: schema: {path}: {e.message}")
        if not errs:
            schema_ok += 1
    total_schema += schema_ok
    crds = sum(1 for o in objs if (o.get("apiVersion"), o.get("kind")) in KNOWN_CRDS)
    print(f"  schema: {schema_ok}/{len(objs) - crds} objects valid against Kubernetes {SCHEMA_VERSION} (strict)"
          + (f"; {crds} custom resources without schema" if crds else ""))

    # MetalLB pools and the Services that take their address from them.
    for o in objs:
        if (o.get("apiVersion"), o.get("kind")) == ("metallb.io/v1beta1", "IPAddressPool"):
            nets = []
            for a in (o.get("spec") or {}).get("addresses") or []:
                try:
                    nets.append(ipaddress.ip_network(a))
                except ValueError:
                    fail(d, f"{name(o)}: address {a!r} is not a CIDR (ranges are not checked here)")
            pools.setdefault(o["metadata"]["name"], nets)
        if o.get("kind") == "Service" and (o.get("spec") or {}).get("type") == "LoadBalancer":
            ann = (o["metadata"].get("annotations") or {})
            pool = ann.get("metallb.universe.tf/address-pool") or ann.get("metallb.io/address-pool")
            if pool:
                lb_services.append((d, o, pool))

    # 2. Workloads, selectors, Services, PDBs.
    workloads = [o for o in objs if o.get("kind") in WORKLOADS]
    for w in workloads:
        sel = selector_of(w)
        labels = w["spec"]["template"]["metadata"].get("labels") or {}
        if sel is None:
            continue
        if not matches(sel, labels):
            fail(d, f"{name(w)}: selector {sel} does not match its own pod labels {labels}")
        for other in workloads:
            if other is w or other["metadata"].get("namespace") != w["metadata"].get("namespace"):
                continue
            if matches(sel, other["spec"]["template"]["metadata"].get("labels") or {}):
                fail(d, f"{name(w)}: selector {sel} also selects the pods of {name(other)}")
    for o in objs:
        if o.get("kind") == "Service" and (o["spec"].get("selector")):
            sel = o["spec"]["selector"]
            hit = [w for w in workloads if w["metadata"].get("namespace") == o["metadata"].get("namespace")
                   and matches(sel, w["spec"]["template"]["metadata"].get("labels") or {})]
            if not hit:
                fail(d, f"{name(o)}: selector {sel} selects no workload of this render")
            for p in o["spec"].get("ports") or []:
                tp = p.get("targetPort", p.get("port"))
                for w in hit:
                    cs = w["spec"]["template"]["spec"]["containers"]
                    if isinstance(tp, str) and not any(port_number(c, tp) for c in cs):
                        fail(d, f"{name(o)}: targetPort {tp!r} is not a named port of {name(w)}")
        if o.get("kind") == "PodDisruptionBudget":
            sel = (o["spec"].get("selector") or {}).get("matchLabels") or {}
            if not any(matches(sel, w["spec"]["template"]["metadata"].get("labels") or {}) for w in workloads
                       if w["metadata"].get("namespace") == o["metadata"].get("namespace")):
                fail(d, f"{name(o)}: selector {sel} selects no workload of this render")

    # 3. meshrr pods and their configs.
    mounted = set()
    for w in workloads:
        if not any(is_meshrr(c) for c in w["spec"]["template"]["spec"]["containers"]):
            continue
        total_configs += check_workload(d, w, objs, partial_ok)
        for v in w["spec"]["template"]["spec"].get("volumes") or []:
            if v.get("configMap"):
                mounted.add((w["metadata"].get("namespace"), v["configMap"]["name"]))
    # ConfigMaps with a meshrr.yaml that no workload of this render mounts.
    for o in objs:
        if o.get("kind") == "ConfigMap" and CONFIG_KEY in (o.get("data") or {}) \
                and (o["metadata"].get("namespace"), o["metadata"]["name"]) not in mounted:
            ok, out = meshrr_check(o["data"][CONFIG_KEY], {"POD_IP": FAKE_POD_IP})
            total_configs += 1
            if ok:
                print(f"  config: ConfigMap {o['metadata']['name']} (not mounted here): meshrr-rr check: {out}")
            else:
                fail(d, f"ConfigMap {o['metadata']['name']}: meshrr-rr check failed:\n      "
                     + out.replace("\n", "\n      "))

# Every LoadBalancer address lies in the MetalLB pool its Service names.
for d, o, pool in lb_services:
    if pool not in pools:
        fail(d, f"{name(o)}: MetalLB pool {pool} is defined in no kustomization")
        continue
    ip = o["spec"].get("loadBalancerIP") or (o["metadata"].get("annotations") or {}).get(
        "metallb.universe.tf/loadBalancerIPs")
    if ip and not any(ipaddress.ip_address(ip.split(",")[0]) in n for n in pools[pool]):
        fail(d, f"{name(o)}: address {ip} is not in MetalLB pool {pool}")
if lb_services:
    print(f"MetalLB: {len(lb_services)} LoadBalancer Services checked against {len(pools)} pools")

print()
print(f"rendered {rendered} kustomizations: {total_objects} objects, {total_schema} valid against the "
      f"Kubernetes {SCHEMA_VERSION} schemas (kubernetes-validate, strict), {total_crd} custom resources without schema; "
      f"{total_configs} meshrr configs checked ({len(check_cache)} distinct)")
if errors:
    print(f"\n{len(errors)} problem(s):", file=sys.stderr)
    for e in errors:
        print(f"  {e}", file=sys.stderr)
    sys.exit(1)
PY

if [ "$render_failed" -ne 0 ]; then
  status=1
fi
if [ "$status" -ne 0 ]; then
  die "see the problems above"
fi
echo "validate-manifests: OK"
