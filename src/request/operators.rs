//! Images that operators take in their own fields, not in pod templates
//! (README, "Operators"): a table of kinds and paths in `imageFields`
//! syntax, read after the walk by the same targeted reader
//! (`custom_fields.rs`), so a wrong shape at a path is rejected naming it.
//! Pod templates and container lists inside these kinds (Prometheus
//! `spec.containers`, Flink `podTemplate`, KServe `containers`) are found by
//! the walk, as in every kind.
//!
//! Left, on purpose: fields that hold only a version or a tag that the
//! operator turns into an image from its own defaults (ECK, Strimzi and
//! CloudNativePG `spec.version`; Strimzi `spec.kafka.version`); names of
//! other objects (CloudNativePG `spec.imageCatalogRef`); and push targets
//! (Strimzi KafkaConnect `spec.build.output.image`, where the built image is
//! pushed, not pulled).
//!
//! prometheus-operator's legacy `baseImage` (a repository) with `tag`,
//! `sha` or `version` is composed as the operator composes it
//! (`operator.BuildImagePath`): `spec.image` when it is set, else
//! `baseImage@sha256:<sha>`, `baseImage:<tag>` or `baseImage:<version>`.

use std::borrow::Cow;
use std::ops::Range;

use crate::request::custom_fields::{self, FieldPath};
use crate::request::discovery::Found;
use crate::request::kinds::api_group;

/// (API group, kind, image paths). Each row cites the upstream CRD.
const OPERATOR_FIELDS: &[(&str, &str, &[&str])] = &[
    // prometheus-operator, monitoring.coreos.com/v1 (and PrometheusAgent v1alpha1).
    ("monitoring.coreos.com", "Prometheus", &["spec.image", "spec.thanos.image"]),
    ("monitoring.coreos.com", "PrometheusAgent", &["spec.image"]),
    ("monitoring.coreos.com", "Alertmanager", &["spec.image"]),
    ("monitoring.coreos.com", "ThanosRuler", &["spec.image"]),
    // Strimzi, kafka.strimzi.io/v1beta2.
    (
        "kafka.strimzi.io",
        "Kafka",
        &[
            "spec.kafka.image",
            "spec.zookeeper.image",
            "spec.entityOperator.topicOperator.image",
            "spec.entityOperator.userOperator.image",
            "spec.entityOperator.tlsSidecar.image",
            "spec.cruiseControl.image",
            "spec.kafkaExporter.image",
        ],
    ),
    ("kafka.strimzi.io", "KafkaConnect", &["spec.image"]),
    ("kafka.strimzi.io", "KafkaMirrorMaker2", &["spec.image"]),
    ("kafka.strimzi.io", "KafkaMirrorMaker", &["spec.image"]),
    ("kafka.strimzi.io", "KafkaBridge", &["spec.image"]),
    // CloudNativePG, postgresql.cnpg.io/v1.
    ("postgresql.cnpg.io", "Cluster", &["spec.imageName"]),
    ("postgresql.cnpg.io", "ImageCatalog", &["spec.images[*].image"]),
    ("postgresql.cnpg.io", "ClusterImageCatalog", &["spec.images[*].image"]),
    // Kubeflow Spark operator, sparkoperator.k8s.io/v1beta2.
    (
        "sparkoperator.k8s.io",
        "SparkApplication",
        &[
            "spec.image",
            "spec.driver.image",
            "spec.executor.image",
            "spec.driver.sidecars[*].image",
            "spec.executor.sidecars[*].image",
        ],
    ),
    (
        "sparkoperator.k8s.io",
        "ScheduledSparkApplication",
        &[
            "spec.template.image",
            "spec.template.driver.image",
            "spec.template.executor.image",
            "spec.template.driver.sidecars[*].image",
            "spec.template.executor.sidecars[*].image",
        ],
    ),
    // Apache Flink Kubernetes operator, flink.apache.org/v1beta1.
    ("flink.apache.org", "FlinkDeployment", &["spec.image"]),
    // ECK: each kind's spec.image (spec.version alone picks Elastic's image).
    ("elasticsearch.k8s.elastic.co", "Elasticsearch", &["spec.image"]),
    ("kibana.k8s.elastic.co", "Kibana", &["spec.image"]),
    ("apm.k8s.elastic.co", "ApmServer", &["spec.image"]),
    ("enterprisesearch.k8s.elastic.co", "EnterpriseSearch", &["spec.image"]),
    ("beat.k8s.elastic.co", "Beat", &["spec.image"]),
    ("agent.k8s.elastic.co", "Agent", &["spec.image"]),
    ("maps.k8s.elastic.co", "ElasticMapsServer", &["spec.image"]),
    ("logstash.k8s.elastic.co", "Logstash", &["spec.image"]),
    // KServe, serving.kserve.io/v1beta1: each predictor framework embeds a
    // container (its `image` inline); `containers` are found by the walk.
    (
        "serving.kserve.io",
        "InferenceService",
        &[
            "spec.predictor.model.image",
            "spec.predictor.sklearn.image",
            "spec.predictor.xgboost.image",
            "spec.predictor.tensorflow.image",
            "spec.predictor.pytorch.image",
            "spec.predictor.triton.image",
            "spec.predictor.onnx.image",
            "spec.predictor.pmml.image",
            "spec.predictor.lightgbm.image",
            "spec.predictor.paddle.image",
            "spec.predictor.huggingface.image",
        ],
    ),
];

/// Where prometheus-operator reads a legacy `baseImage` (with `tag`, `sha`,
/// `version` beside it), by kind.
const BASE_IMAGES: &[(&str, &[&str])] =
    &[("Prometheus", &["spec", "spec.thanos"]), ("PrometheusAgent", &["spec"]), ("Alertmanager", &["spec"])];

/// Adds the images of an operator's own fields in the object at `object`.
pub fn find<'de>(
    bytes: &'de [u8],
    object: Range<usize>,
    api_version: &str,
    kind: &str,
    found: &mut Vec<Found<'de>>,
) -> Result<(), String> {
    let group = api_group(api_version);
    let Some((_, _, paths)) = OPERATOR_FIELDS.iter().find(|(g, k, _)| *g == group && *k == kind) else {
        return Ok(());
    };
    let parsed: Vec<FieldPath<'_>> = paths.iter().map(|p| FieldPath::parse(p)).collect::<Result<_, _>>()?;
    let refs: Vec<&FieldPath<'_>> = parsed.iter().collect();
    custom_fields::find(bytes, object.clone(), &refs, found)?;
    if group == "monitoring.coreos.com"
        && let Some((_, prefixes)) = BASE_IMAGES.iter().find(|(k, _)| *k == kind)
    {
        for prefix in *prefixes {
            base_image(bytes, object.clone(), prefix, found)?;
        }
    }
    Ok(())
}

/// prometheus-operator's `BuildImagePath` for the fields under `prefix`.
fn base_image<'de>(
    bytes: &'de [u8],
    object: Range<usize>,
    prefix: &str,
    found: &mut Vec<Found<'de>>,
) -> Result<(), String> {
    let value = |name: &str| -> Result<Option<Found<'de>>, String> {
        let path = format!("{prefix}.{name}");
        let path = FieldPath::parse(&path)?;
        let mut out = Vec::new();
        custom_fields::find(bytes, object.clone(), &[&path], &mut out)?;
        Ok(out.pop())
    };
    // `spec.image` wins (it is checked by the table); a problem at one of
    // these fields is reported as a problem.
    let image = value("image")?;
    if image.as_ref().is_some_and(|f| f.image.as_ref().map_or(true, |i| !i.trim().is_empty())) {
        return Ok(());
    }
    let Some(base) = value("baseImage")? else { return Ok(()) };
    let Ok(written) = base.image.clone() else {
        found.push(base);
        return Ok(());
    };
    let mut part = |name: &str| -> Result<Option<String>, String> {
        match value(name)? {
            Some(Found { image: Ok(v), .. }) => Ok(Some(v.into_owned())),
            Some(problem) => {
                found.push(problem);
                Ok(None)
            }
            None => Ok(None),
        }
    };
    let (sha, tag, version) = (part("sha")?, part("tag")?, part("version")?);
    // A baseImage that carries its own tag or digest is used as written.
    let last = written.rsplit('/').next().unwrap_or_default();
    let composed = if last.contains(':') || last.contains('@') {
        written.into_owned()
    } else if let Some(sha) = sha {
        format!("{written}@sha256:{sha}")
    } else if let Some(tag) = tag.or(version) {
        format!("{written}:{tag}")
    } else {
        written.into_owned()
    };
    found.push(Found::new(base.field, Ok(Cow::Owned(composed)), 0..0));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(object: &str) -> Vec<(String, Result<String, String>)> {
        let value: serde_json::Value = serde_json::from_str(object).unwrap();
        let (api_version, kind) = (value["apiVersion"].as_str().unwrap(), value["kind"].as_str().unwrap());
        let mut found = Vec::new();
        find(object.as_bytes(), 0..object.len(), api_version, kind, &mut found).unwrap();
        found.into_iter().map(|f| (f.field, f.image.map(|i| i.into_owned()))).collect()
    }

    fn ok(field: &str, image: &str) -> (String, Result<String, String>) {
        (field.to_string(), Ok(image.to_string()))
    }

    #[test]
    fn strimzi_kafka_images_in_their_fields() {
        let kafka = r#"{"apiVersion": "kafka.strimzi.io/v1beta2", "kind": "Kafka", "spec": {
            "kafka": {"version": "3.7.0", "image": "quay.io/strimzi/kafka:0.41.0-kafka-3.7.0", "replicas": 3},
            "zookeeper": {"replicas": 3},
            "entityOperator": {"topicOperator": {"image": "quay.io/strimzi/operator:0.41.0"}, "userOperator": {}, "tlsSidecar": {"image": 5}}}}"#;
        assert_eq!(
            run(kafka),
            [
                ok("spec.kafka.image", "quay.io/strimzi/kafka:0.41.0-kafka-3.7.0"),
                ok("spec.entityOperator.topicOperator.image", "quay.io/strimzi/operator:0.41.0"),
                (
                    "spec.entityOperator.tlsSidecar.image".to_string(),
                    Err("expected an image reference (a string) at this imageFields path, found the number 5"
                        .to_string())
                ),
            ]
        );
        // Another group's Kafka is not Strimzi's.
        assert_eq!(run(&kafka.replace("kafka.strimzi.io", "example.com")), []);
    }

    #[test]
    fn prometheus_base_images_are_composed_as_the_operator_does() {
        let prometheus = |spec: &str| {
            format!(r#"{{"apiVersion": "monitoring.coreos.com/v1", "kind": "Prometheus", "spec": {spec}}}"#)
        };
        assert_eq!(
            run(&prometheus(r#"{"baseImage": "quay.io/prometheus/prometheus", "version": "v2.53.0"}"#)),
            [ok("spec.baseImage", "quay.io/prometheus/prometheus:v2.53.0")]
        );
        assert_eq!(
            run(&prometheus(r#"{"baseImage": "quay.io/p/p", "tag": "v2", "sha": "abc", "version": "v1"}"#)),
            [ok("spec.baseImage", "quay.io/p/p@sha256:abc")]
        );
        assert_eq!(
            run(&prometheus(r#"{"baseImage": "quay.io/p/p", "tag": "v2", "version": "v1"}"#)),
            [ok("spec.baseImage", "quay.io/p/p:v2")]
        );
        // spec.image wins over the legacy fields.
        assert_eq!(
            run(&prometheus(
                r#"{"image": "quay.io/prometheus/prometheus:v2.53.0", "baseImage": "evil.io/p", "thanos": {"baseImage": "quay.io/thanos/thanos:v0.35.0"}}"#
            )),
            [
                ok("spec.image", "quay.io/prometheus/prometheus:v2.53.0"),
                ok("spec.thanos.baseImage", "quay.io/thanos/thanos:v0.35.0")
            ]
        );
    }
}
