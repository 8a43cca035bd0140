#!/usr/bin/env python3
"""Writes the benchmark fixtures in benches/fixtures/ (committed; rerun only to change them).

- deployment-3-containers.json: a Deployment CREATE AdmissionRequest as `kubectl apply`
  sends it (last-applied-configuration annotation, managedFields), 3 containers + 1 init;
- deployment-100-containers.json: the same with 100 containers;
- settings-5-rules.json: 5 registry rules (some wildcards) and tags.reject [latest];
- settings-1000-rules.json: 1,000 registry rules (literal and *.suffix hosts) and the same tag rule.
Every image is allowed by both settings, so the benchmark measures the accepting path.
"""
import json, os

IMAGES = [
    "registry.corp.example/team/api:1.4.2",
    "quay.io/prometheus/node-exporter:v1.8.1",
    "123456789012.dkr.ecr.eu-west-1.amazonaws.com/payments/worker:2024.11.3",
    "eu.corp.example/platform/envoy:1.31.2@sha256:" + "5" * 64,
]

def container(i, image):
    return {
        "name": f"container-{i}",
        "image": image,
        "imagePullPolicy": "IfNotPresent",
        "ports": [{"name": "http", "containerPort": 8080 + i, "protocol": "TCP"}],
        "env": [
            {"name": "LOG_LEVEL", "value": "info"},
            {"name": "POD_NAME", "valueFrom": {"fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.name"}}},
            {"name": "DATABASE_URL", "valueFrom": {"secretKeyRef": {"name": "api-db", "key": "url"}}},
        ],
        "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"cpu": "500m", "memory": "512Mi"}},
        "readinessProbe": {"httpGet": {"path": "/ready", "port": "http", "scheme": "HTTP"}, "periodSeconds": 5,
                           "timeoutSeconds": 1, "successThreshold": 1, "failureThreshold": 3},
        "livenessProbe": {"httpGet": {"path": "/healthz", "port": "http", "scheme": "HTTP"}, "periodSeconds": 10,
                          "timeoutSeconds": 1, "successThreshold": 1, "failureThreshold": 3},
        "securityContext": {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True,
                            "runAsNonRoot": True, "capabilities": {"drop": ["ALL"]}},
        "volumeMounts": [{"name": "config", "mountPath": "/etc/app", "readOnly": True}],
        "terminationMessagePath": "/dev/termination-log",
        "terminationMessagePolicy": "File",
    }

def deployment(n):
    containers = [container(i, IMAGES[i % 3]) for i in range(n)]
    applied = {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"annotations": {}, "labels": {"app": "api"}, "name": "api", "namespace": "prod"},
        "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "api"}},
                 "template": {"metadata": {"labels": {"app": "api"}},
                              "spec": {"initContainers": [container(99, IMAGES[3])], "containers": containers,
                                       "volumes": [{"name": "config", "configMap": {"name": "api-config"}}]}}},
    }
    obj = json.loads(json.dumps(applied))
    obj["metadata"].update({
        "annotations": {"kubectl.kubernetes.io/last-applied-configuration": json.dumps(applied, separators=(",", ":")) + "\n"},
        "creationTimestamp": None, "generation": 1,
        "managedFields": [{"manager": "kubectl-client-side-apply", "operation": "Update", "apiVersion": "apps/v1",
                           "time": "2026-11-22T10:00:00Z", "fieldsType": "FieldsV1",
                           "fieldsV1": {"f:metadata": {"f:annotations": {".": {}, "f:kubectl.kubernetes.io/last-applied-configuration": {}},
                                                       "f:labels": {".": {}, "f:app": {}}},
                                        "f:spec": {"f:replicas": {}, "f:selector": {}, "f:template": {"f:spec": {
                                            "f:containers": {f'k:{{"name":"container-{i}"}}': {".": {}, "f:image": {}, "f:name": {}} for i in range(n)}}}}}}],
        "uid": "4b5c3f0e-8a51-4d2b-9f64-2c1e0c0e6a11",
    })
    obj["spec"].update({"progressDeadlineSeconds": 600, "revisionHistoryLimit": 10,
                        "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}}})
    gvk = {"group": "apps", "version": "v1", "kind": "Deployment"}
    gvr = {"group": "apps", "version": "v1", "resource": "deployments"}
    return {"uid": "7d3a0c5e-1f2b-4c6d-8e9f-0a1b2c3d4e5f", "kind": gvk, "resource": gvr, "requestKind": gvk,
            "requestResource": gvr, "name": "api", "namespace": "prod", "operation": "CREATE",
            "userInfo": {"username": "kubernetes-admin", "groups": ["system:masters", "system:authenticated"]},
            "object": obj, "oldObject": None, "dryRun": False,
            "options": {"kind": "CreateOptions", "apiVersion": "meta.k8s.io/v1", "fieldManager": "kubectl-client-side-apply",
                        "fieldValidation": "Strict"}}

FIVE = ["registry.corp.example", "*.corp.example", "quay.io", "ghcr.io", "*.dkr.ecr.*.amazonaws.com"]
THOUSAND = [f"registry-{i}.corp.internal" for i in range(900)] + [f"*.team-{i}.corp.internal" for i in range(95)] + FIVE

here = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures")
def write(name, value):
    with open(os.path.join(here, name), "w") as f:
        json.dump(value, f, indent=1)
        f.write("\n")

write("deployment-3-containers.json", deployment(3))
write("deployment-100-containers.json", deployment(100))
write("settings-5-rules.json", {"registries": {"allow": FIVE}, "tags": {"reject": ["latest"]}})
write("settings-1000-rules.json", {"registries": {"allow": THOUSAND}, "tags": {"reject": ["latest"]}})
