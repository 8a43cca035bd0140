//! Which kinds keep images in fields other than container lists, recognized
//! by the object's `apiVersion` group and `kind` (so an unrelated custom
//! resource with a `steps` or `package` field is not misread).
//!
//! The discovery walk reads the object in one pass, and `apiVersion` and
//! `kind` may come after `spec` in it; so every place that holds an image
//! in some kind is noted while walking, tagged with the kinds it belongs to
//! (a `Kinds` set), and once the object's kind is known the findings of
//! other kinds are dropped (`discovery.rs`).
//!
//! Keys that are not what they are in a Pod. The walk gives a key the
//! meaning it has in a pod spec wherever it stands (`containers`,
//! `initContainers`, `ephemeralContainers`, `volumes`), or in the kinds that
//! use it (`container`, `script`, `steps`, `sidecars`, `image` under
//! `spec`…), unless the key stands where the kind's schema says it means
//! something else. Those places, each checked against the upstream types:
//! - Argo Workflows: `azure.container` in every artifact location (inputs and
//!   outputs `artifacts[]`, `archiveLocation`, the artifact repository) is an
//!   Azure blob container's name (AzureBlobContainer, a string): not a
//!   container. Argo's other locations (`s3`, `gcs`, `oss`, `hdfs`, `git`,
//!   `http`, `artifactory`, `raw`, `plugin`; `artifactRepositoryRef` names a
//!   ConfigMap) have no key of those names. An artifact's `from` is a step's
//!   output (a string), not an OpenShift reference: those are only read in
//!   OpenShift kinds. `script.source` and `data.source` are not CDI sources:
//!   CDI sources are only read in KubeVirt and CDI kinds.
//! - Argo `steps` (lists of lists of steps) are only read as containers in
//!   Tekton kinds; Argo's `container` and `script` only in Argo kinds.
//! - Kubewarden group `spec.policies` keys are policy names (`discovery.rs`,
//!   `Frame::member`).

/// A set of kinds, as bits; `ANY` tags the places every kind has
/// (container lists, image volumes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Kinds(u16);

impl Kinds {
    pub const NONE: Kinds = Kinds(0);
    pub const ANY: Kinds = Kinds(u16::MAX);
    /// tekton.dev Task, ClusterTask, TaskRun, Pipeline, PipelineRun.
    pub const TEKTON: Kinds = Kinds(1);
    /// tekton.dev StepAction (`spec.image`).
    pub const TEKTON_STEP_ACTION: Kinds = Kinds(1 << 1);
    /// argoproj.io Workflow, WorkflowTemplate, ClusterWorkflowTemplate, CronWorkflow.
    pub const ARGO: Kinds = Kinds(1 << 2);
    /// kubevirt.io VirtualMachine, VirtualMachineInstance,
    /// VirtualMachineInstanceReplicaSet; pool.kubevirt.io VirtualMachinePool.
    pub const KUBEVIRT: Kinds = Kinds(1 << 3);
    /// cdi.kubevirt.io DataVolume, DataImportCron.
    pub const CDI: Kinds = Kinds(1 << 4);
    /// image.openshift.io ImageStream, ImageStreamImport; build.openshift.io
    /// BuildConfig, Build.
    pub const OPENSHIFT: Kinds = Kinds(1 << 5);
    /// pkg.crossplane.io Provider, Function, Configuration.
    pub const CROSSPLANE: Kinds = Kinds(1 << 6);
    /// policies.kubewarden.io ClusterAdmissionPolicy, AdmissionPolicy.
    pub const KUBEWARDEN_POLICY: Kinds = Kinds(1 << 7);
    /// policies.kubewarden.io ClusterAdmissionPolicyGroup, AdmissionPolicyGroup.
    pub const KUBEWARDEN_GROUP: Kinds = Kinds(1 << 8);
    /// policies.kubewarden.io PolicyServer.
    pub const KUBEWARDEN_SERVER: Kinds = Kinds(1 << 9);
    /// template.openshift.io Template: `objects[i]` are walked as objects of
    /// their own kinds, and `${NAME}` / `${{NAME}}` are parameters.
    pub const TEMPLATE: Kinds = Kinds(1 << 10);
    /// apps Deployment, StatefulSet, DaemonSet; batch CronJob, Job: the kinds
    /// OpenShift honours the `image.openshift.io/triggers` annotation on.
    pub const TRIGGERED: Kinds = Kinds(1 << 11);
    /// apps.openshift.io DeploymentConfig (`spec.triggers`).
    pub const DEPLOYMENT_CONFIG: Kinds = Kinds(1 << 12);
    /// Any kind the table does not know (Pods, workloads, custom resources):
    /// a place tagged `ANY.but(…)` still matters to them.
    pub const OTHER: Kinds = Kinds(1 << 15);

    pub const fn or(self, other: Kinds) -> Kinds {
        Kinds(self.0 | other.0)
    }

    /// These kinds without `other`'s.
    pub const fn but(self, other: Kinds) -> Kinds {
        Kinds(self.0 & !other.0)
    }

    /// The two sets share a kind.
    pub fn meets(self, other: Kinds) -> bool {
        self.0 & other.0 != 0
    }

    /// The kinds an object of `apiVersion` and `kind` is (one: `OTHER` when
    /// the table does not know it).
    pub fn of(api_version: &str, kind: &str) -> Kinds {
        let group = api_group(api_version);
        // A table scan, once per request: a `match` on the strings compiled
        // to 2 KB of policy.wasm, the table to a few hundred bytes.
        KNOWN.iter().find(|(g, k, _)| *g == group && *k == kind).map_or(Kinds::OTHER, |(_, _, kinds)| *kinds)
    }

    /// How objects of these kinds write a parameter that their controller
    /// replaces before the Pod is made: the marker, and its name in
    /// warnings.
    pub fn parameter_syntax(self) -> Option<(&'static str, &'static str)> {
        if self.meets(Kinds::TEKTON.or(Kinds::TEKTON_STEP_ACTION)) {
            Some(("$(", "a Tekton parameter or result reference"))
        } else if self.meets(Kinds::ARGO) {
            Some(("{{", "an Argo Workflows template expression"))
        } else if self.meets(Kinds::TEMPLATE) {
            // `${{NAME}}` (a parameter substituted as a JSON value) too.
            Some(("${", "an OpenShift template parameter"))
        } else {
            None
        }
    }
}

/// Every kind the discovery knows, by API group. `""` (OpenShift 3's legacy
/// `apiVersion: v1`, still found in manifests, and the catalog's older
/// templates) for the OpenShift kinds: the core group has no kinds of those
/// names.
const KNOWN: &[(&str, &str, Kinds)] = &[
    ("tekton.dev", "Task", Kinds::TEKTON),
    ("tekton.dev", "ClusterTask", Kinds::TEKTON),
    ("tekton.dev", "TaskRun", Kinds::TEKTON),
    ("tekton.dev", "Pipeline", Kinds::TEKTON),
    ("tekton.dev", "PipelineRun", Kinds::TEKTON),
    ("tekton.dev", "StepAction", Kinds::TEKTON_STEP_ACTION),
    ("argoproj.io", "Workflow", Kinds::ARGO),
    ("argoproj.io", "WorkflowTemplate", Kinds::ARGO),
    ("argoproj.io", "ClusterWorkflowTemplate", Kinds::ARGO),
    ("argoproj.io", "CronWorkflow", Kinds::ARGO),
    ("kubevirt.io", "VirtualMachine", Kinds::KUBEVIRT),
    ("kubevirt.io", "VirtualMachineInstance", Kinds::KUBEVIRT),
    ("kubevirt.io", "VirtualMachineInstanceReplicaSet", Kinds::KUBEVIRT),
    ("pool.kubevirt.io", "VirtualMachinePool", Kinds::KUBEVIRT),
    ("cdi.kubevirt.io", "DataVolume", Kinds::CDI),
    ("cdi.kubevirt.io", "DataImportCron", Kinds::CDI),
    ("image.openshift.io", "ImageStream", Kinds::OPENSHIFT),
    ("image.openshift.io", "ImageStreamImport", Kinds::OPENSHIFT),
    ("build.openshift.io", "BuildConfig", Kinds::OPENSHIFT),
    ("build.openshift.io", "Build", Kinds::OPENSHIFT),
    ("", "ImageStream", Kinds::OPENSHIFT),
    ("", "ImageStreamImport", Kinds::OPENSHIFT),
    ("", "BuildConfig", Kinds::OPENSHIFT),
    ("", "Build", Kinds::OPENSHIFT),
    ("pkg.crossplane.io", "Provider", Kinds::CROSSPLANE),
    ("pkg.crossplane.io", "Function", Kinds::CROSSPLANE),
    ("pkg.crossplane.io", "Configuration", Kinds::CROSSPLANE),
    ("policies.kubewarden.io", "ClusterAdmissionPolicy", Kinds::KUBEWARDEN_POLICY),
    ("policies.kubewarden.io", "AdmissionPolicy", Kinds::KUBEWARDEN_POLICY),
    ("policies.kubewarden.io", "ClusterAdmissionPolicyGroup", Kinds::KUBEWARDEN_GROUP),
    ("policies.kubewarden.io", "AdmissionPolicyGroup", Kinds::KUBEWARDEN_GROUP),
    ("policies.kubewarden.io", "PolicyServer", Kinds::KUBEWARDEN_SERVER),
    ("template.openshift.io", "Template", Kinds::TEMPLATE),
    ("", "Template", Kinds::TEMPLATE),
    ("apps", "Deployment", Kinds::TRIGGERED),
    ("apps", "StatefulSet", Kinds::TRIGGERED),
    ("apps", "DaemonSet", Kinds::TRIGGERED),
    ("batch", "CronJob", Kinds::TRIGGERED),
    ("batch", "Job", Kinds::TRIGGERED),
    ("apps.openshift.io", "DeploymentConfig", Kinds::DEPLOYMENT_CONFIG),
    ("", "DeploymentConfig", Kinds::DEPLOYMENT_CONFIG),
];

/// The API group of an `apiVersion`: `tekton.dev` of `tekton.dev/v1`, the
/// empty core group of `v1`.
pub fn api_group(api_version: &str) -> &str {
    api_version.rsplit_once('/').map_or("", |(group, _)| group)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_are_recognized_by_group_and_kind() {
        assert_eq!(Kinds::of("tekton.dev/v1", "Task"), Kinds::TEKTON);
        assert_eq!(Kinds::of("tekton.dev/v1beta1", "ClusterTask"), Kinds::TEKTON);
        assert_eq!(Kinds::of("tekton.dev/v1alpha1", "StepAction"), Kinds::TEKTON_STEP_ACTION);
        assert_eq!(Kinds::of("argoproj.io/v1alpha1", "CronWorkflow"), Kinds::ARGO);
        assert_eq!(Kinds::of("pool.kubevirt.io/v1alpha1", "VirtualMachinePool"), Kinds::KUBEVIRT);
        assert_eq!(Kinds::of("v1", "ImageStream"), Kinds::OPENSHIFT);
        assert_eq!(Kinds::of("policies.kubewarden.io/v1", "PolicyServer"), Kinds::KUBEWARDEN_SERVER);
        // A kind of the same name in another group, or another kind of the group.
        assert_eq!(Kinds::of("example.com/v1", "Task"), Kinds::OTHER);
        assert_eq!(Kinds::of("argoproj.io/v1alpha1", "Application"), Kinds::OTHER);
        assert_eq!(Kinds::of("apps/v1", "Deployment"), Kinds::TRIGGERED);
        assert_eq!(Kinds::of("v1", "Template"), Kinds::TEMPLATE);
        assert_eq!(Kinds::of("apps/v1", "ReplicaSet"), Kinds::OTHER);
        assert_eq!(Kinds::of("", ""), Kinds::OTHER);
    }

    #[test]
    fn only_templating_kinds_have_parameters() {
        assert_eq!(Kinds::TEKTON.parameter_syntax().unwrap().0, "$(");
        assert_eq!(Kinds::ARGO.parameter_syntax().unwrap().0, "{{");
        assert_eq!(Kinds::KUBEVIRT.parameter_syntax(), None);
        assert_eq!(Kinds::NONE.parameter_syntax(), None);
    }
}
