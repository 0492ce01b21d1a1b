"""Pods shaped like what ``kubectl get pods -A -o json`` prints on a real cluster.

    python -m bench.realistic_pods COUNT PATH [--yaml] [--seed N]

Each pod is about 19 KB of pretty-printed JSON: about 19 annotations (two of
them multi-KB JSON blobs, ``kubectl.kubernetes.io/last-applied-configuration``
and ``sidecar.istio.io/status``), labels, owner references, managedFields,
a spec with two containers and a status with conditions, as a Deployment's
pod looks after Istio injection.  Names, uids, hashes and IPs vary per pod
(from a seeded generator) so that compression and string sharing see what
they would see on a cluster, not one pod repeated.

The file is written one pod at a time, so generating 100,000 pods (about
1.9 GB) takes constant memory.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import uuid

_APPS = ["checkout", "payments", "catalog", "search", "ledger", "notifier", "gateway", "auth",
         "inventory", "shipping", "billing", "reports", "frontend", "recommender", "orders"]
_NAMESPACES = ["prod", "staging", "data", "platform", "payments", "web", "batch", "monitoring"]
_OWNER_KINDS = ["ReplicaSet"] * 8 + ["StatefulSet", "DaemonSet", "Job"]


def _hex(rng: random.Random, digits: int) -> str:
    return f"{rng.getrandbits(digits * 4):0{digits}x}"


def _uid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128)))


def _container(rng: random.Random, app: str, index: int) -> dict:
    return {
        "name": app if index == 0 else "istio-proxy",
        "image": f"registry.example.com/{app}:{rng.randint(1, 40)}.{rng.randint(0, 20)}.{rng.randint(0, 9)}"
                 if index == 0 else "docker.io/istio/proxyv2:1.20.3",
        "imagePullPolicy": "IfNotPresent",
        "args": ["--port=8080", f"--log-level={rng.choice(['info', 'debug', 'warn'])}",
                 "--metrics", f"--shard={rng.randint(0, 63)}"],
        "env": [{"name": f"ENV_{k}", "value": f"value-{_hex(rng, 8)}"} for k in range(3)] + [
            {"name": "POD_NAME", "valueFrom": {"fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.name"}}},
            {"name": "POD_IP", "valueFrom": {"fieldRef": {"apiVersion": "v1", "fieldPath": "status.podIP"}}},
        ],
        "ports": [{"containerPort": 8080 + index, "name": "http", "protocol": "TCP"},
                  {"containerPort": 9090 + index, "name": "metrics", "protocol": "TCP"}],
        "resources": {"limits": {"cpu": "1", "memory": "512Mi"},
                      "requests": {"cpu": f"{rng.randint(1, 9)}00m", "memory": "256Mi"}},
        "readinessProbe": {"httpGet": {"path": "/ready", "port": 8080, "scheme": "HTTP"},
                           "periodSeconds": 10, "failureThreshold": 3, "successThreshold": 1,
                           "timeoutSeconds": 1},
        "livenessProbe": {"httpGet": {"path": "/healthz", "port": 8080, "scheme": "HTTP"},
                          "periodSeconds": 10, "failureThreshold": 3, "successThreshold": 1,
                          "timeoutSeconds": 1},
        "terminationMessagePath": "/dev/termination-log",
        "terminationMessagePolicy": "File",
        "volumeMounts": [{"mountPath": "/var/run/secrets/kubernetes.io/serviceaccount",
                          "name": f"kube-api-access-{_hex(rng, 5)}", "readOnly": True},
                         {"mountPath": "/etc/config", "name": "config"}],
    }


def make_pod(rng: random.Random, index: int) -> dict:
    """One pod; ``index`` makes its name unique."""
    app = f"{rng.choice(_APPS)}-{rng.randint(0, 99)}"
    namespace = rng.choice(_NAMESPACES)
    owner_kind = rng.choice(_OWNER_KINDS)
    template_hash = _hex(rng, 10)
    owner_name = f"{app}-{template_hash}" if owner_kind == "ReplicaSet" else app
    name = f"{owner_name}-{_hex(rng, 5)}-{index}"
    created = f"2026-{rng.randint(1, 11):02d}-{rng.randint(1, 28):02d}T{rng.randint(0, 23):02d}:" \
              f"{rng.randint(0, 59):02d}:{rng.randint(0, 59):02d}Z"
    containers = [_container(rng, app, 0), _container(rng, app, 1)]
    spec = {
        "containers": containers,
        "dnsPolicy": "ClusterFirst",
        "enableServiceLinks": True,
        "nodeName": f"node-{rng.randint(1, 400)}",
        "preemptionPolicy": "PreemptLowerPriority",
        "priority": 0,
        "restartPolicy": "Always",
        "schedulerName": "default-scheduler",
        "securityContext": {"runAsNonRoot": True, "fsGroup": 2000},
        "serviceAccount": app,
        "serviceAccountName": app,
        "terminationGracePeriodSeconds": 30,
        "tolerations": [{"effect": "NoExecute", "key": f"node.kubernetes.io/{what}",
                         "operator": "Exists", "tolerationSeconds": 300}
                        for what in ("not-ready", "unreachable")],
        "volumes": [{"name": "config", "configMap": {"name": f"{app}-config", "defaultMode": 420}}],
    }
    labels = {
        "app": app,
        "app.kubernetes.io/name": app,
        "app.kubernetes.io/instance": f"{app}-{namespace}",
        "app.kubernetes.io/version": f"{rng.randint(1, 9)}.{rng.randint(0, 30)}.{rng.randint(0, 9)}",
        "security.istio.io/tlsMode": "istio",
        "service.istio.io/canonical-name": app,
        "team": rng.choice(["core", "growth", "infra", "data"]),
    }
    if owner_kind == "ReplicaSet":
        labels["pod-template-hash"] = template_hash
    last_applied = {"apiVersion": "v1", "kind": "Pod",
                    "metadata": {"labels": labels, "name": name, "namespace": namespace},
                    "spec": {"containers": [containers[0]], "volumes": spec["volumes"]}}
    istio_status = {"initContainers": ["istio-init"], "containers": ["istio-proxy"],
                    "volumes": ["workload-socket", "credential-socket", "workload-certs",
                                "istio-envoy", "istio-data", "istio-podinfo", "istio-token", "istiod-ca-cert"],
                    "imagePullSecrets": None, "revision": "default",
                    "meshConfig": {"trustDomain": "cluster.local",
                                   "defaultConfig": {"discoveryAddress": "istiod.istio-system.svc:15012",
                                                     "proxyMetadata": {f"KEY_{k}": _hex(rng, 16)
                                                                       for k in range(12)}}}}
    annotations = {
        "kubectl.kubernetes.io/last-applied-configuration": json.dumps(last_applied, indent=None) + "\n",
        "sidecar.istio.io/status": json.dumps(istio_status),
        "kubectl.kubernetes.io/default-container": app,
        "kubectl.kubernetes.io/restartedAt": created,
        "prometheus.io/scrape": "true",
        "prometheus.io/port": "9090",
        "prometheus.io/path": "/metrics",
        "cni.projectcalico.org/containerID": _hex(rng, 64),
        "cni.projectcalico.org/podIP": f"10.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}/32",
        "cni.projectcalico.org/podIPs": f"10.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}/32",
        "checksum/config": _hex(rng, 64),
        "checksum/secret": _hex(rng, 64),
        "kubernetes.io/psp": "restricted",
        "seccomp.security.alpha.kubernetes.io/pod": "runtime/default",
        "istio.io/rev": "default",
        "linkerd.io/inject": "disabled",
        "vault.hashicorp.com/agent-inject": "false",
        "cluster-autoscaler.kubernetes.io/safe-to-evict": "true",
        "description": f"{app} serving shard {rng.randint(0, 63)} <primary> & friends",
    }
    uid = _uid(rng)
    metadata = {
        "annotations": annotations,
        "creationTimestamp": created,
        "generateName": f"{owner_name}-",
        "labels": labels,
        "managedFields": [{"apiVersion": "v1", "fieldsType": "FieldsV1",
                           "fieldsV1": {"f:metadata": {"f:labels": {f"f:{key}": {} for key in labels}}},
                           "manager": "kube-controller-manager", "operation": "Update", "time": created}],
        "name": name,
        "namespace": namespace,
        "ownerReferences": [{"apiVersion": "apps/v1" if owner_kind != "Job" else "batch/v1",
                             "blockOwnerDeletion": True, "controller": True, "kind": owner_kind,
                             "name": owner_name, "uid": _uid(rng)}],
        "resourceVersion": str(rng.randint(10_000_000, 99_999_999)),
        "uid": uid,
    }
    status = {
        "conditions": [{"lastProbeTime": None, "lastTransitionTime": created, "status": "True", "type": kind}
                       for kind in ("Initialized", "Ready", "ContainersReady", "PodScheduled")],
        "containerStatuses": [{
            "containerID": f"containerd://{_hex(rng, 64)}",
            "image": container["image"], "imageID": f"{container['image']}@sha256:{_hex(rng, 64)}",
            "lastState": {}, "name": container["name"], "ready": True, "restartCount": rng.randint(0, 3),
            "started": True, "state": {"running": {"startedAt": created}},
        } for container in containers],
        "hostIP": f"192.168.{rng.randint(0, 255)}.{rng.randint(1, 254)}",
        "phase": "Running",
        "podIP": annotations["cni.projectcalico.org/podIP"][:-3],
        "qosClass": "Burstable",
        "startTime": created,
    }
    return {"apiVersion": "v1", "kind": "Pod", "metadata": metadata, "spec": spec, "status": status}


def write_pod_list(count: int, path: str, *, seed: int = 19, as_yaml: bool = False) -> int:
    """Write ``count`` pods as one ``List`` (kubectl's layout); returns the bytes written."""
    rng = random.Random(seed)
    with open(path, "w", encoding="utf-8") as handle:
        if as_yaml:
            import yaml
            handle.write("apiVersion: v1\nitems:\n")
            for index in range(count):
                text = yaml.safe_dump([make_pod(rng, index)], default_flow_style=False, sort_keys=True)
                handle.write(text)
            handle.write("kind: List\nmetadata:\n  resourceVersion: \"\"\n")
        else:
            # kubectl's own layout: 4-space indentation, items before kind.
            handle.write('{\n    "apiVersion": "v1",\n    "items": [\n')
            for index in range(count):
                text = json.dumps(make_pod(rng, index), indent=4, ensure_ascii=False)
                handle.write("        " + text.replace("\n", "\n        "))
                handle.write(",\n" if index < count - 1 else "\n")
            handle.write('    ],\n    "kind": "List",\n    "metadata": {\n        "resourceVersion": ""\n    }\n}\n')
        return handle.tell()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("count", type=int)
    parser.add_argument("path")
    parser.add_argument("--yaml", action="store_true", help="write YAML (kubectl -o yaml) instead of JSON")
    parser.add_argument("--seed", type=int, default=19)
    args = parser.parse_args(argv)
    size = write_pod_list(args.count, args.path, seed=args.seed, as_yaml=args.yaml)
    print(f"{args.count} pods, {size / 1e6:.1f} MB ({size / max(args.count, 1) / 1000:.1f} KB per pod)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
