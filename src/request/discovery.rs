//! Reads the waPC `validate` payload, `{"request": <AdmissionRequest>,
//! "settings": <settings>}`, in one streaming pass (`json.rs`), and finds
//! every image the object would make a node pull. Nothing is built but the
//! settings document (its strings borrowed from the payload), keys are
//! compared as bytes, and everything that cannot hold an image
//! (`oldObject`, the object's own `metadata`, other request fields) is
//! checked and skipped.
//!
//! Where images are, at any depth of `request.object`, in every kind (so
//! Pods, every workload kind, and custom resources embedding a pod template
//! go through one path):
//! - `containers`, `initContainers`, `ephemeralContainers`: lists of
//!   containers, each `image` a string;
//! - `volumes`: each volume's `image.reference` (image volumes).
//!
//! And in the kinds `kinds.rs` recognizes by `apiVersion` group and `kind`
//! (README, "Where images are found"):
//! - Tekton: `steps[]`, `sidecars[]` and `stepTemplate` `image`, at any depth
//!   (inline `taskSpec` and `pipelineSpec`); StepAction `spec.image`;
//! - Argo Workflows: `container`, `script` and `sidecars[]` `image`, at any
//!   depth; `podSpecPatch` that mentions `image` is a warning;
//! - KubeVirt: `volumes[].containerDisk.image`, `kernelBoot.container.image`,
//!   and CDI `source.registry.url` (`docker://…`, in VirtualMachine
//!   `dataVolumeTemplates` too);
//! - OpenShift: every `from` whose `kind` is `DockerImage` (its `name`);
//!   `ImageStreamTag`/`ImageStreamImage`/`ImageStream` are names inside the
//!   cluster and are skipped; ImageStream `spec.tags[i]` is named by the
//!   tag (`spec.tags[latest].from.name`), as OpenShift writes it;
//! - Crossplane: `spec.package` (a registry must be written: Crossplane
//!   resolves a bare name against its own `--registry`, not Docker Hub);
//! - Kubewarden: `spec.module` and group `spec.policies.<name>.module` when
//!   `registry://` (https:// and file:// modules are not images), and
//!   PolicyServer `spec.image`;
//! - OpenShift Templates: each of `objects[i]` walked again, after the walk,
//!   as an object of its own kind (`template_objects`), `${…}` parameters
//!   unchecked; blank images that an image-change trigger fills (the
//!   `image.openshift.io/triggers` annotation, DeploymentConfig
//!   `spec.triggers`) are unchecked, naming the ImageStreamTag (`openshift.rs`).
//!
//! `apiVersion` and `kind` may come after `spec`, so each of those places is
//! noted while walking, tagged with its kinds, and findings of other kinds
//! are dropped at the end (`Kinds`). In Tekton and Argo kinds a value with
//! the engine's parameter syntax (`$(params.image)`, `{{inputs.parameters.image}}`)
//! is not an image yet: it is reported as unchecked (a warning), not parsed.
//!
//! Fail closed on shapes that may hide an image: a container list that is not
//! a list, a container that is not a mapping, an `image` or `reference` that
//! is not a string, a volume `image` that is not a mapping, a `from` whose
//! `kind` is missing or unknown, ImageStream `tags` that are not a list of
//! mappings, a group's `policies` or a member of it that is not a mapping
//! (the members' names are the user's: each member is read both as a member
//! and in the role its name has anywhere, `Frame::member`): each is reported
//! as a malformed finding,
//! which the policy rejects, and the walk goes on below it. A missing, null
//! empty or blank image has nothing to pull and is skipped (a Deployment may
//! leave it to a controller; the Pod is checked when it is created), unless
//! a trigger fills it. A `volumes`
//! value that is not a list of mappings is walked like any other value:
//! outside a pod spec the word means other things.
//!
//! The object's own `metadata` is ObjectMeta for every kind (the API server
//! enforces it, custom resources included), so no image can be there but in
//! annotations a controller reads: every other field and annotation is
//! skipped, sparing the managedFields and the last-applied-configuration
//! annotation, a whole escaped copy of the object.
//!
//! A payload that is not JSON, or whose envelope has the wrong shape, is an
//! error (the policy then rejects the request with it).

use std::borrow::Cow;
use std::fmt::Write as _;
use std::ops::Range;

use crate::references::reference::looks_like_domain;
use crate::request::json::{Document, Event, Parser, RawStr};
use crate::request::kinds::Kinds;
use crate::request::openshift::{self, Blank};
use crate::request::operators;

/// A place in the object that holds, or should hold, an image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found<'de> {
    /// Field path from the object's root: `spec.initContainers[1].image`.
    pub field: String,
    /// The image as written (without `scheme`), or what is wrong with the
    /// value found there.
    pub image: Result<Cow<'de, str>, String>,
    /// Where the value's string token (quotes included) stands in the
    /// payload, for rewriting it in place; empty for malformed findings.
    pub span: Range<usize>,
    /// Written before the image in the value (`docker://`, `registry://`),
    /// and kept when the image is rewritten.
    pub scheme: &'static str,
    /// Why the value cannot be checked now, when it is not an image yet
    /// (a parameter its controller replaces): the policy warns.
    pub unchecked: Option<&'static str>,
    /// The kinds that have an image here.
    kinds: Kinds,
}

impl<'de> Found<'de> {
    /// An image (or a problem) at `field`, in every kind.
    pub fn new(field: String, image: Result<Cow<'de, str>, String>, span: Range<usize>) -> Self {
        Found { field, image, span, scheme: "", unchecked: None, kinds: Kinds::ANY }
    }
}

/// What the policy needs from a validate payload.
#[derive(Debug, Default)]
pub struct Payload<'de> {
    /// The payload has a `request`.
    pub has_request: bool,
    /// `request.operation`.
    pub operation: Option<Cow<'de, str>>,
    /// Every image (or malformed image field) in `request.object`.
    pub found: Vec<Found<'de>>,
    /// The settings document (not yet checked as settings), or the key
    /// it repeats in one mapping.
    pub settings: Option<Result<Document<'de>, String>>,
    /// Where `request.object` stands in the payload, when it is a mapping.
    pub object: Option<Range<usize>>,
    /// The object's own `apiVersion` and `kind`.
    pub api_version: Option<Cow<'de, str>>,
    pub kind: Option<Cow<'de, str>>,
    /// Where `request.object` starts (set at its key).
    object_start: Option<usize>,
}

/// How an image is written in a string value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Form {
    /// The image reference itself.
    Plain,
    /// CDI's `docker://<image>`.
    DockerUrl,
    /// A Kubewarden module: `registry://<image>`; `https://` and `file://`
    /// are downloads, not images.
    Module,
    /// A Crossplane package: an image whose registry must be written.
    Package,
    /// An Argo `podSpecPatch`: YAML or JSON that can set any image.
    PodSpecPatch,
}

/// What a string value holds.
enum Value<'de> {
    Image(Cow<'de, str>, &'static str),
    /// Nothing to pull.
    Nothing,
    Problem(String),
    Unchecked(Cow<'de, str>, &'static str),
}

impl Form {
    // Out of line, as the other rare paths of the walk: a smaller `walk`
    // compiles faster in the host (a PolicyServer compiles the module at
    // start) and keeps the hot loop tight.
    #[inline(never)]
    fn read(self, value: Cow<'_, str>) -> Value<'_> {
        match self {
            Form::Plain => Value::Image(value, ""),
            Form::DockerUrl => match strip(&value, "docker://") {
                Some(image) => Value::Image(image, "docker://"),
                None => Value::Problem(format!(
                    "expected a docker:// URL (CDI imports registry images from docker:// URLs), found {}",
                    quoted(&value)
                )),
            },
            Form::Module => match strip(&value, "registry://") {
                Some(image) => Value::Image(image, "registry://"),
                None if ["https://", "http://", "file://"].iter().any(|s| value.starts_with(s)) => Value::Nothing,
                // Without a scheme it is read as an image: checked, not skipped.
                None if !value.contains("://") => Value::Image(value, ""),
                None => Value::Problem(format!(
                    "expected a registry://, https:// or file:// module, found {}",
                    quoted(&value)
                )),
            },
            Form::Package => match value.split_once('/') {
                Some((first, _)) if looks_like_domain(first) => Value::Image(value, ""),
                _ => Value::Problem(format!(
                    "{} names no registry: Crossplane resolves it against its --registry flag \
                     (xpkg.crossplane.io since 1.20, xpkg.upbound.io before), not Docker Hub; write the registry",
                    quoted(&value)
                )),
            },
            Form::PodSpecPatch if value.contains("image") => {
                Value::Unchecked(value, "an Argo podSpecPatch that sets an image")
            }
            Form::PodSpecPatch => Value::Nothing,
        }
    }
}

/// `value` without `prefix`, borrowed when it was.
fn strip<'a>(value: &Cow<'a, str>, prefix: &str) -> Option<Cow<'a, str>> {
    match value {
        Cow::Borrowed(s) => s.strip_prefix(prefix).map(Cow::Borrowed),
        Cow::Owned(s) => s.strip_prefix(prefix).map(|rest| Cow::Owned(rest.to_string())),
    }
}

fn quoted(value: &str) -> String {
    format!("{:?}", crate::response::shorten(value))
}

/// What a value is, given where it stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    /// The waPC payload: `{"request": …, "settings": …}`.
    Payload,
    /// The AdmissionRequest: only `operation` and `object` are read.
    Request,
    Operation,
    /// `request.object`: a mapping or null.
    Object,
    /// The object's `apiVersion` and `kind`.
    ApiVersion,
    Kind,
    /// The object's own `spec`: where StepAction, Crossplane, Kubewarden and
    /// ImageStream keep their images; otherwise walked as `Any`.
    ObjectSpec,
    /// Any value inside the object: walked for image-holding keys.
    Any,
    /// A list of containers, and a container, in these kinds.
    ContainerList(Kinds),
    Container(Kinds),
    VolumeList,
    Volume,
    VolumeImage,
    /// KubeVirt `containerDisk` and `kernelBoot`.
    ContainerDisk,
    KernelBoot,
    /// CDI `source` (walked as `Any`) and its `registry`.
    Source,
    CdiRegistry,
    /// Kubewarden group `spec.policies`: policy name → policy. Its keys are
    /// names the user chose, so each value is read in the role its key has
    /// anywhere (a member named `containers` is a container list in other
    /// kinds) and, in group kinds, as a member too: `Frame::member`.
    PolicyMap,
    /// ImageStream `spec.tags`, one tag, and its name.
    TagList,
    Tag,
    TagName,
    /// An OpenShift object reference, `{kind, name}`, and its kind.
    ObjectRef,
    RefKind,
    /// The object's own `metadata` (ObjectMeta: only its `annotations` are
    /// read), its annotations, and the annotation that holds OpenShift
    /// image-change triggers.
    ObjectMetadata,
    Annotations,
    TriggerAnnotation,
    /// A container's `name` (image-change triggers name containers).
    ContainerName,
    /// The object's `objects` (an OpenShift Template's embedded objects) and
    /// one of them: walked as any value, and their places noted, so that
    /// in a Template each is walked again as an object of its own kind.
    TemplateObjects,
    TemplateObject,
    /// An Argo Azure artifact location (`azure`), and its `container`: the
    /// name of a blob container, not a Kubernetes container (kinds.rs,
    /// "Keys that are not what they are in a Pod").
    AzureArtifact,
    BlobContainer,
    /// An Argo `resource` template, and its `manifest`: a YAML or JSON
    /// string holding the object the workflow controller creates.
    ArgoResource,
    ArgoManifest,
    /// `annotations` below the object's own metadata (a pod template's):
    /// any value, but for the KubeVirt hook sidecars annotation.
    NestedAnnotations,
    /// KubeVirt's `hooks.kubevirt.io/hookSidecars` annotation: a JSON list
    /// of sidecar containers virt-launcher runs.
    HookSidecars,
    /// An image string, in these kinds, written in this form.
    Image(Kinds, Form),
}

impl Role {
    /// The role of the value under `key` in a mapping of this role.
    fn of_key(self, key: &RawStr<'_>) -> Role {
        // One comparison per key on the hot path; escaped keys (never sent
        // by an API server, but valid JSON) are decoded first.
        let decoded;
        let key: &[u8] = if key.has_escapes {
            decoded = key.decode().unwrap_or_default();
            decoded.as_bytes()
        } else {
            key.raw
        };
        match (self, key) {
            (Role::Object, b"apiVersion") => Role::ApiVersion,
            (Role::Object, b"kind") => Role::Kind,
            (Role::Object, b"spec") => Role::ObjectSpec,
            (Role::Container(kinds), b"image") => Role::Image(kinds, Form::Plain),
            (Role::Container(_), b"name") => Role::ContainerName,
            (Role::AzureArtifact, b"container") => Role::BlobContainer,
            (Role::ArgoResource, b"manifest") => Role::ArgoManifest,
            (Role::NestedAnnotations, b"hooks.kubevirt.io/hookSidecars") => Role::HookSidecars,
            (Role::Volume, b"image") => Role::VolumeImage,
            (Role::Volume, b"containerDisk") => Role::ContainerDisk,
            (Role::VolumeImage, b"reference") => Role::Image(Kinds::ANY, Form::Plain),
            (Role::ContainerDisk, b"image") => Role::Image(Kinds::KUBEVIRT, Form::Plain),
            (Role::KernelBoot, b"container") => Role::Container(Kinds::KUBEVIRT),
            (Role::Source, b"registry") => Role::CdiRegistry,
            (Role::CdiRegistry, b"url") => Role::Image(Kinds::KUBEVIRT.or(Kinds::CDI), Form::DockerUrl),
            (Role::ObjectSpec, b"image") => {
                Role::Image(Kinds::TEKTON_STEP_ACTION.or(Kinds::KUBEWARDEN_SERVER), Form::Plain)
            }
            (Role::ObjectSpec, b"package") => Role::Image(Kinds::CROSSPLANE, Form::Package),
            (Role::ObjectSpec, b"module") => Role::Image(Kinds::KUBEWARDEN_POLICY, Form::Module),
            (Role::ObjectSpec, b"policies") => Role::PolicyMap,
            (Role::ObjectSpec, b"tags") => Role::TagList,
            (Role::Tag, b"name") => Role::TagName,
            (Role::ObjectRef, b"kind") => Role::RefKind,
            (Role::ObjectRef, b"name") => Role::Image(Kinds::OPENSHIFT, Form::Plain),
            (_, b"containers" | b"initContainers" | b"ephemeralContainers") => Role::ContainerList(Kinds::ANY),
            (_, b"volumes") => Role::VolumeList,
            (_, b"steps") => Role::ContainerList(Kinds::TEKTON),
            (_, b"sidecars") => Role::ContainerList(Kinds::TEKTON.or(Kinds::ARGO)),
            (_, b"stepTemplate") => Role::Container(Kinds::TEKTON),
            (_, b"container" | b"script") => Role::Container(Kinds::ARGO),
            (_, b"podSpecPatch") => Role::Image(Kinds::ARGO, Form::PodSpecPatch),
            (_, b"azure") => Role::AzureArtifact,
            (_, b"resource") => Role::ArgoResource,
            (_, b"annotations") => Role::NestedAnnotations,
            (_, b"kernelBoot") => Role::KernelBoot,
            (_, b"source") => Role::Source,
            (_, b"from") => Role::ObjectRef,
            _ => Role::Any,
        }
    }

    /// The kinds a malformed value in this role matters to.
    fn kinds(self) -> Kinds {
        match self {
            Role::ContainerList(kinds) | Role::Container(kinds) | Role::Image(kinds, _) => kinds,
            Role::ContainerDisk => Kinds::KUBEVIRT,
            Role::CdiRegistry => Kinds::KUBEVIRT.or(Kinds::CDI),
            Role::ObjectRef | Role::RefKind | Role::TagList | Role::Tag => Kinds::OPENSHIFT,
            Role::ArgoManifest => Kinds::ARGO,
            Role::HookSidecars => Kinds::KUBEVIRT,
            Role::PolicyMap => Kinds::KUBEWARDEN_GROUP,
            _ => Kinds::ANY,
        }
    }

    /// What to answer for a value of the wrong type: `Err` for the
    /// envelope (the payload cannot be read), `Ok(Some(problem))` where an
    /// image belongs, `Ok(None)` where any value may stand.
    fn wrong_type(self, found: &str) -> Result<Option<String>, String> {
        let expected = match self {
            _ if self.takes_any_value() => return Ok(None),
            Role::Payload => {
                return Err(format!("the payload must be a mapping with request and settings, found {found}"));
            }
            Role::Request => return Err(format!("request: expected an AdmissionRequest (a mapping), found {found}")),
            Role::Operation => return Err(format!("request.operation: expected a string, found {found}")),
            Role::Object => return Err(format!("request.object: expected a mapping or null, found {found}")),
            Role::ApiVersion => return Err(format!("request.object.apiVersion: expected a string, found {found}")),
            Role::Kind => return Err(format!("request.object.kind: expected a string, found {found}")),
            Role::ContainerList(_) => "a list of containers",
            Role::Container(_) => "a container (a mapping)",
            Role::VolumeImage => "an image volume source (a mapping with a reference)",
            Role::ContainerDisk => "a containerDisk (a mapping with an image)",
            Role::HookSidecars => "a JSON list of hook sidecars (a string)",
            Role::ArgoManifest => "a manifest (a string of YAML or JSON)",
            Role::CdiRegistry => "a registry source (a mapping with a url)",
            Role::ObjectRef => "an object reference (a mapping with kind and name)",
            Role::RefKind => "a kind (a string)",
            Role::PolicyMap => "policies by name (a mapping)",
            Role::TagList => "a list of tags",
            Role::Tag => "a tag (a mapping with a name and from)",
            _ => "an image reference (a string)",
        };
        Ok(Some(format!("expected {expected}, found {found}")))
    }

    /// Any value may stand here (a wrong type is no problem).
    fn takes_any_value(self) -> bool {
        matches!(
            self,
            Role::Any
                | Role::ObjectSpec
                | Role::VolumeList
                | Role::Volume
                | Role::KernelBoot
                | Role::Source
                | Role::TagName
                | Role::ObjectMetadata
                | Role::Annotations
                | Role::TriggerAnnotation
                | Role::ContainerName
                | Role::TemplateObjects
                | Role::TemplateObject
                | Role::AzureArtifact
                | Role::BlobContainer
                | Role::ArgoResource
                | Role::NestedAnnotations
        )
    }

    /// A scalar here is skipped unread: any value may stand, and none is
    /// kept (a tag's `name` is kept, to name its findings).
    fn skips_scalars(self) -> bool {
        self.takes_any_value()
            && !matches!(self, Role::TagName | Role::TriggerAnnotation | Role::ContainerName | Role::TemplateObjects)
    }

    /// Values of this role are part of the object (they have a field path).
    fn in_object(self) -> bool {
        !matches!(self, Role::Payload | Role::Request | Role::Operation)
    }
}

/// An open mapping or list.
struct Frame {
    /// The role its keys or elements are read in.
    children: Role,
    is_object: bool,
    /// Next element's index (lists).
    index: usize,
    /// This container pushed a path segment that its end pops.
    has_segment: bool,
    /// This mapping is a Kubewarden policy-group member
    /// (`spec.policies.<name>`): in group kinds its `module` is an image,
    /// whatever else its name makes it.
    member: bool,
}

enum Segment<'de> {
    Key(RawStr<'de>),
    Index(usize),
}

/// An open OpenShift object reference: its `kind`, and the finding of its
/// `name`, decided when the mapping ends (either may come first).
#[derive(Default)]
struct OpenRef<'de> {
    kind: Option<Cow<'de, str>>,
    /// `kind` appears twice: which one a reader keeps differs, so what is
    /// pulled cannot be told (fail closed).
    kind_repeated: bool,
    name: Option<usize>,
}

/// An open ImageStream tag: its name, and its first finding (the findings
/// below it are renamed `tags[name]` when it ends).
struct OpenTag<'de> {
    name: Option<Cow<'de, str>>,
    first: usize,
}

/// `n` in decimal, without the formatting machinery (field paths are built
/// for every image of every request).
fn push_decimal(out: &mut String, n: usize) {
    if n >= 10 {
        push_decimal(out, n / 10);
    }
    out.push(char::from(b'0' + (n % 10) as u8));
}

/// Appends a key to a field path: `.key`, or `["odd.key"]`.
pub(crate) fn push_key(out: &mut String, key: &str) {
    if !key.is_empty() && key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-') {
        if !out.is_empty() {
            out.push('.');
        }
        out.push_str(key);
    } else {
        let _ = write!(out, "[{key:?}]");
    }
}

/// Appends a list index to a field path: `[3]`.
pub(crate) fn push_index(out: &mut String, i: usize) {
    out.push('[');
    push_decimal(out, i);
    out.push(']');
}

/// Reads a payload.
pub fn read(bytes: &[u8]) -> Result<Payload<'_>, String> {
    Walker::new(bytes).run(Role::Payload)
}

/// Walks the object of an admission request alone (for tests).
#[cfg(test)]
fn read_object(bytes: &[u8]) -> Result<Vec<Found<'_>>, String> {
    Walker::new(bytes).run(Role::Object).map(|payload| payload.found)
}

struct Walker<'de> {
    parser: Parser<'de>,
    bytes: &'de [u8],
    frames: Vec<Frame>,
    path: Vec<Segment<'de>>,
    refs: Vec<OpenRef<'de>>,
    tags: Vec<OpenTag<'de>>,
    payload: Payload<'de>,
    /// The next value is a policy-group member (its key's doing).
    next_member: bool,
    /// Blank `image` fields (`""`, `" "`): nothing to pull, unless an
    /// OpenShift image-change trigger fills them.
    blanks: Vec<Blank<'de>>,
    /// Open containers: the name, and the first blank field below.
    containers: Vec<(Option<Cow<'de, str>>, usize)>,
    /// The object's `image.openshift.io/triggers` annotation.
    trigger_annotation: Option<Cow<'de, str>>,
    /// Where the object's `spec.triggers` starts (DeploymentConfig).
    triggers_at: Option<usize>,
    /// The object's `objects`: each element's place when it is a list of
    /// mappings (an element of another shape: what it is), or what it is.
    objects: Option<Result<Vec<Element>, String>>,
    /// Templates this object is embedded in.
    nesting: usize,
    /// Where the parser's input starts in `bytes` (an embedded object's),
    /// and its length.
    base: usize,
    len: usize,
}

/// An element of a Template's `objects`: where it stands, or what it is
/// when it is not a mapping.
type Element = Result<Range<usize>, String>;

/// KubeVirt's annotation of hook sidecar containers.
const HOOK_SIDECARS: &str = "hooks.kubevirt.io/hookSidecars";

/// Templates embedded in Templates deeper than this are not read as
/// Templates (each level is a walk of its own; their objects are still
/// walked as any value).
const TEMPLATES_NESTED: usize = 4;

impl<'de> Walker<'de> {
    fn new(bytes: &'de [u8]) -> Self {
        Walker {
            parser: Parser::new(bytes),
            bytes,
            // Room for a Deployment's depth, so that the stacks do not regrow
            // on every request.
            frames: Vec::with_capacity(24),
            path: Vec::with_capacity(24),
            refs: Vec::new(),
            tags: Vec::new(),
            payload: Payload::default(),
            next_member: false,
            blanks: Vec::new(),
            containers: Vec::new(),
            trigger_annotation: None,
            triggers_at: None,
            objects: None,
            nesting: 0,
            base: 0,
            len: bytes.len(),
        }
    }

    /// A walker of the value at `range` of the payload `bytes`, embedded
    /// in `nesting` Templates (spans stay offsets in the payload).
    fn over(bytes: &'de [u8], range: Range<usize>, nesting: usize) -> Self {
        let len = range.len();
        Walker { parser: Parser::new(&bytes[range.clone()]), nesting, base: range.start, len, ..Walker::new(bytes) }
    }

    fn run(mut self, role: Role) -> Result<Payload<'de>, String> {
        self.walk(role, false)?;
        // The object's kind is known now: keep what its kind pulls.
        let kinds = Kinds::of(
            self.payload.api_version.as_deref().unwrap_or_default(),
            self.payload.kind.as_deref().unwrap_or_default(),
        );
        self.payload.found.retain(|f| f.kinds.meets(kinds));
        // Operators' own image fields: where the object stands (the
        // request's object, or the whole input when it is one).
        let object = self.payload.object.clone().or((role == Role::Object).then(|| self.base..self.base + self.len));
        if let (Some(object), Some(api_version), Some(kind)) =
            (object, self.payload.api_version.as_deref(), self.payload.kind.as_deref())
        {
            operators::find(self.bytes, object, api_version, kind, &mut self.payload.found)?;
        }
        if kinds.meets(Kinds::TEMPLATE) {
            self.template_objects();
        }
        self.fill_triggers(kinds);
        if let Some((marker, what)) = kinds.parameter_syntax() {
            for found in &mut self.payload.found {
                // An embedded object's own parameters, or a trigger, say first.
                if found.unchecked.is_none() && found.image.as_ref().is_ok_and(|image| image.contains(marker)) {
                    found.unchecked = Some(what);
                }
            }
        }
        Ok(self.payload)
    }

    /// An OpenShift Template: each of its `objects` is walked again as an
    /// object of its own kind (so a Tekton Task or a DeploymentConfig in a
    /// template is read as one), its findings named under `objects[i]`; they
    /// replace what the walk as any value found there.
    #[inline(never)]
    fn template_objects(&mut self) {
        let elements = match self.objects.take() {
            None => return,
            Some(Err(found)) => {
                let problem = format!("expected a list of objects, found {found}");
                return self.push(Found::new("objects".into(), Err(problem), 0..0));
            }
            Some(Ok(elements)) => elements,
        };
        if self.nesting >= TEMPLATES_NESTED {
            let problem = format!("a Template embedded in {TEMPLATES_NESTED} Templates is not read as one");
            return self.push(Found::new("objects".into(), Err(problem), 0..0));
        }
        let under = |f: &Found<'_>| f.field.strip_prefix("objects").is_some_and(|r| r.is_empty() || r.starts_with('['));
        let at = self.payload.found.iter().position(under).unwrap_or(self.payload.found.len());
        self.payload.found.retain(|f| !under(f));
        let mut inner = Vec::new();
        for (i, element) in elements.into_iter().enumerate() {
            let mut prefix = "objects".to_string();
            push_index(&mut prefix, i);
            let walked = element
                .map_err(|found| format!("expected an object (a mapping), found {found}"))
                .and_then(|range| Walker::over(self.bytes, range, self.nesting + 1).run(Role::Object));
            match walked {
                Ok(payload) => inner.extend(payload.found.into_iter().map(|f| Found {
                    field: if f.field.is_empty() { prefix.clone() } else { format!("{prefix}.{}", f.field) },
                    ..f
                })),
                Err(problem) => inner.push(Found::new(prefix, Err(problem), 0..0)),
            }
        }
        let at = at.min(self.payload.found.len());
        self.payload.found.splice(at..at, inner);
    }

    /// Blank `image` fields an OpenShift image-change trigger fills are
    /// reported as unchecked, naming the trigger's ImageStreamTag; the others
    /// are nothing to pull (`openshift.rs`).
    #[inline(never)]
    fn fill_triggers(&mut self, kinds: Kinds) {
        let mut triggers = Vec::new();
        if kinds.meets(Kinds::TRIGGERED)
            && let Some(text) = self.trigger_annotation.take()
        {
            match openshift::annotation_triggers(&text) {
                Ok(read) => triggers = read,
                Err(problem) => {
                    let mut field = "metadata.annotations".to_string();
                    push_key(&mut field, openshift::TRIGGERS_ANNOTATION);
                    self.push(Found::new(field, Err(problem), 0..0));
                }
            }
        }
        if kinds.meets(Kinds::DEPLOYMENT_CONFIG)
            && let Some(start) = self.triggers_at
        {
            triggers = openshift::deployment_config_triggers(self.bytes, start);
        }
        for blank in std::mem::take(&mut self.blanks) {
            if let Some(trigger) = triggers.iter().find(|t| t.fills(&blank)) {
                let found = Found::new(blank.field, Ok(Cow::Owned(trigger.from.clone())), 0..0);
                self.push(Found { unchecked: Some(openshift::FILLED_BY_TRIGGER), ..found });
            }
        }
    }

    /// The field path of the current value.
    fn field(&self) -> String {
        // One allocation for the usual path (`spec.template.spec.containers[0].image`).
        let mut out = String::with_capacity(64);
        for segment in &self.path {
            match segment {
                Segment::Index(i) => push_index(&mut out, *i),
                Segment::Key(key) => push_key(&mut out, &key.decode().unwrap_or(Cow::Borrowed("?"))),
            }
        }
        out
    }

    #[inline(never)]
    fn malformed(&mut self, role: Role, problem: Option<String>) {
        self.malformed_in(role.kinds(), problem);
    }

    /// A malformed value that matters to `kinds`.
    #[inline(never)]
    fn malformed_in(&mut self, kinds: Kinds, problem: Option<String>) {
        if let Some(problem) = problem {
            let field = self.field();
            self.push(Found { kinds, ..Found::new(field, Err(problem), 0..0) });
        }
    }

    /// A policy-group member that is not a mapping: the CRD's schema wants
    /// one, and a list or string there is a shape the policy does not read
    /// (it may hide a module or a container), so it is rejected in group
    /// kinds, naming the member. The value is walked on in the role its
    /// name has in other kinds.
    #[inline(never)]
    fn not_a_member(&mut self, event: &Event<'_>) {
        let found = match event {
            Event::ArrayStart => "a list".to_string(),
            Event::String(s) => s.decode().map_or("a string".into(), |d| format!("the string {}", quoted(&d))),
            Event::Number(n) => format!("the number {}", crate::request::json::ascii(n)),
            Event::Bool(b) => format!("the boolean {b}"),
            _ => return,
        };
        let problem = format!("expected a policy of the group (a mapping with a module), found {found}");
        self.malformed_in(Kinds::KUBEWARDEN_GROUP, Some(problem));
    }

    fn push(&mut self, found: Found<'de>) {
        self.payload.found.push(found);
    }

    /// Walks one whole value, starting in `role`, to the end of input.
    #[inline(never)]
    fn walk(&mut self, role: Role, segment: bool) -> Result<(), String> {
        // The role and segment of the next value, set by its key.
        let (mut next_role, mut next_segment) = (role, segment);
        while let Some(event) = self.parser.next().map_err(|e| e.to_string())? {
            // Where the value starting now stands: its key said, or its list.
            if !matches!(event, Event::Key(_) | Event::ObjectEnd | Event::ArrayEnd)
                && let Some(list) = self.frames.last_mut().filter(|f| !f.is_object)
            {
                next_role = list.children;
                next_segment = list.children.in_object();
                if next_segment {
                    self.path.push(Segment::Index(list.index));
                }
                list.index += 1;
            }
            let (role, segment) = (next_role, next_segment);
            let member = !matches!(event, Event::Key(_) | Event::ObjectEnd | Event::ArrayEnd)
                && std::mem::take(&mut self.next_member);
            if member && !matches!(event, Event::ObjectStart | Event::Null) {
                self.not_a_member(&event);
            }
            match event {
                Event::Key(key) => {
                    let parent = self.frames.last().map_or(Role::Payload, |f| f.children);
                    (next_role, next_segment) = self.key(parent, key)?;
                }
                Event::ObjectStart => {
                    let children = match role {
                        // A group member named `containers` is a container
                        // list in every kind but the group kinds.
                        Role::ContainerList(kinds) if member => {
                            let problem = role.wrong_type("a mapping")?;
                            self.malformed_in(kinds.but(Kinds::KUBEWARDEN_GROUP), problem);
                            Role::Any
                        }
                        Role::ContainerList(_)
                        | Role::Image(..)
                        | Role::RefKind
                        | Role::TagList
                        | Role::ArgoManifest
                        | Role::HookSidecars => {
                            let problem = role.wrong_type("a mapping")?;
                            self.malformed(role, problem);
                            Role::Any
                        }
                        // Always an error.
                        Role::Operation | Role::ApiVersion | Role::Kind => {
                            role.wrong_type("a mapping")?;
                            Role::Any
                        }
                        Role::VolumeList | Role::TagName => Role::Any,
                        Role::ObjectRef => {
                            self.refs.push(OpenRef::default());
                            role
                        }
                        Role::Tag => {
                            self.tags.push(OpenTag { name: None, first: self.payload.found.len() });
                            role
                        }
                        Role::Container(_) => {
                            self.containers.push((None, self.blanks.len()));
                            role
                        }
                        Role::TemplateObjects => {
                            self.objects = Some(Err("a mapping".into()));
                            Role::Any
                        }
                        Role::TemplateObject => {
                            // The `{` was just read.
                            let start = self.base + self.parser.position() - 1;
                            self.element(Ok(start..start));
                            role
                        }
                        other => other,
                    };
                    self.frames.push(Frame { children, is_object: true, index: 0, has_segment: segment, member });
                }
                Event::ArrayStart => {
                    let children = match role {
                        Role::ContainerList(kinds) => Role::Container(kinds),
                        Role::VolumeList => Role::Volume,
                        Role::TagList => Role::Tag,
                        Role::TemplateObjects => {
                            self.objects = Some(Ok(Vec::new()));
                            Role::TemplateObject
                        }
                        Role::TemplateObject => {
                            self.element(Err("a list".into()));
                            Role::Any
                        }
                        _ if role.takes_any_value() => Role::Any,
                        _ => {
                            let problem = role.wrong_type("a list")?;
                            self.malformed(role, problem);
                            Role::Any
                        }
                    };
                    self.frames.push(Frame {
                        children,
                        is_object: false,
                        index: 0,
                        has_segment: segment,
                        member: false,
                    });
                }
                Event::ObjectEnd | Event::ArrayEnd => {
                    let frame = self.frames.pop().expect("the parser balances containers");
                    match frame.children {
                        // Only the object's own mapping reads its keys as Object.
                        Role::Object => {
                            if let Some(start) = self.payload.object_start {
                                self.payload.object = Some(start..self.parser.position());
                            }
                        }
                        Role::ObjectRef if frame.is_object => self.close_ref(),
                        Role::Tag if frame.is_object => self.close_tag(),
                        Role::Container(_) if frame.is_object => self.close_container(),
                        Role::TemplateObject if frame.is_object => {
                            let end = self.base + self.parser.position();
                            if let Some(Ok(elements)) = &mut self.objects
                                && let Some(Ok(range)) = elements.last_mut()
                            {
                                range.end = end;
                            }
                        }
                        _ => {}
                    }
                    self.end_value(frame.has_segment);
                }
                Event::String(s) => {
                    self.string(role, s)?;
                    self.end_value(segment);
                }
                // Most numbers and booleans stand where anything may: the
                // message is only built where it is needed.
                Event::Number(_) | Event::Bool(_) | Event::Null
                    if matches!(role, Role::TemplateObjects | Role::TemplateObject) =>
                {
                    self.not_an_object(role, &event);
                    self.end_value(segment);
                }
                Event::Number(n) => {
                    if !role.takes_any_value() {
                        let problem = role.wrong_type(&format!("the number {}", crate::request::json::ascii(n)))?;
                        self.malformed(role, problem);
                    }
                    self.end_value(segment);
                }
                Event::Bool(b) => {
                    if !role.takes_any_value() {
                        let problem = role.wrong_type(&format!("the boolean {b}"))?;
                        self.malformed(role, problem);
                    }
                    self.end_value(segment);
                }
                Event::Null => {
                    // An error for the envelope; nothing to pull elsewhere.
                    if matches!(role, Role::Payload | Role::Request | Role::ApiVersion | Role::Kind) {
                        role.wrong_type("null")?;
                    }
                    self.end_value(segment);
                }
            }
        }
        Ok(())
    }

    fn end_value(&mut self, segment: bool) {
        if segment {
            self.path.pop();
        }
    }

    /// Decides what the value under `key` is; skips it when it cannot
    /// matter. Returns the role and whether it takes a path segment.
    fn key(&mut self, parent: Role, key: RawStr<'de>) -> Result<(Role, bool), String> {
        match parent {
            Role::Payload if key.is("request") => {
                if std::mem::replace(&mut self.payload.has_request, true) {
                    return Err("the payload has two request fields".into());
                }
                Ok((Role::Request, false))
            }
            Role::Payload if key.is("settings") => {
                if self.payload.settings.is_some() {
                    return Err("the payload has two settings fields".into());
                }
                // Read into a document in this same pass: settings are
                // compiled on every request, and a second scan of thousands
                // of rules would cost as much as the first.
                self.payload.settings = Some(Document::read(&mut self.parser).map_err(|e| e.to_string())?);
                Ok((Role::Any, false))
            }
            Role::Request if key.is("operation") => {
                if self.payload.operation.is_some() {
                    return Err("the request has two operation fields".into());
                }
                Ok((Role::Operation, false))
            }
            Role::Request if key.is("object") => {
                if self.payload.object_start.is_some() {
                    return Err("the request has two object fields".into());
                }
                self.payload.object_start = Some(self.parser.value_start());
                Ok((Role::Object, false))
            }
            Role::Payload | Role::Request => self.skip(),
            // Only the object's own mapping has keys read in the Object role.
            // Its metadata is ObjectMeta: only annotations that hold images
            // or triggers are read.
            Role::Object if key.is("metadata") => self.enter(key, Role::ObjectMetadata),
            Role::ObjectMetadata if key.is("annotations") => self.enter(key, Role::Annotations),
            Role::Annotations if key.is(openshift::TRIGGERS_ANNOTATION) => self.enter(key, Role::TriggerAnnotation),
            Role::Annotations if key.is(HOOK_SIDECARS) => self.enter(key, Role::HookSidecars),
            Role::ObjectMetadata | Role::Annotations => self.skip(),
            Role::Object if key.is("objects") => self.enter(key, Role::TemplateObjects),
            // A group member's module (`spec.policies.<name>.module`).
            _ if key.is("module") && self.frames.last().is_some_and(|f| f.member) => {
                self.path.push(Segment::Key(key));
                Ok((Role::Image(Kinds::KUBEWARDEN_GROUP, Form::Module), true))
            }
            // Keys of the policy map are names the user chose: a member is
            // read in the role its name has anywhere, and as a member.
            Role::PolicyMap => {
                self.next_member = true;
                self.path.push(Segment::Key(key));
                Ok((Role::Any.of_key(&key), true))
            }
            _ => {
                if parent == Role::ObjectSpec && key.is("triggers") {
                    self.triggers_at = Some(self.base + self.parser.value_start());
                }
                let role = parent.of_key(&key);
                // A scalar where any value may stand holds no image: skipped
                // here, with no path segment and no event.
                if role.skips_scalars() && self.parser.skip_if_scalar().map_err(|e| e.to_string())? {
                    return Ok((Role::Any, false));
                }
                self.path.push(Segment::Key(key));
                Ok((role, true))
            }
        }
    }

    /// The value under `key` is read in `role`, with a path segment.
    fn enter(&mut self, key: RawStr<'de>, role: Role) -> Result<(Role, bool), String> {
        self.path.push(Segment::Key(key));
        Ok((role, true))
    }

    fn skip(&mut self) -> Result<(Role, bool), String> {
        self.parser.skip_value().map_err(|e| e.to_string())?;
        // The value is gone; the role is never used.
        Ok((Role::Any, false))
    }

    #[inline(never)]
    fn string(&mut self, role: Role, s: RawStr<'de>) -> Result<(), String> {
        match role {
            Role::Image(kinds, form) => {
                let field = self.field();
                let found = match s.decode() {
                    // Blank (`""`, `" "`): nothing to pull, unless a trigger
                    // fills it (`fill_triggers`).
                    Ok(value) if value.trim().is_empty() => {
                        if form == Form::Plain {
                            self.blanks.push(Blank { field, container: None });
                        }
                        None
                    }
                    Ok(value) => {
                        // The token's quotes stand either side of its raw bytes,
                        // which are a slice of the payload.
                        let start = s.raw.as_ptr() as usize - self.bytes.as_ptr() as usize - 1;
                        let span = start..start + s.raw.len() + 2;
                        match form.read(value) {
                            Value::Image(image, scheme) => Some(Found { scheme, ..Found::new(field, Ok(image), span) }),
                            Value::Nothing => None,
                            Value::Problem(problem) => Some(Found::new(field, Err(problem), 0..0)),
                            Value::Unchecked(value, why) => {
                                Some(Found { unchecked: Some(why), ..Found::new(field, Ok(value), span) })
                            }
                        }
                    }
                    Err(e) => Some(Found::new(field, Err(e.to_string()), 0..0)),
                };
                if let Some(found) = found {
                    // An object reference's name waits for its kind.
                    if kinds == Kinds::OPENSHIFT
                        && let Some(open) = self.refs.last_mut()
                    {
                        open.name = Some(self.payload.found.len());
                    }
                    self.push(Found { kinds, ..found });
                }
            }
            Role::Operation => {
                self.payload.operation = Some(s.decode().map_err(|e| format!("request.operation: {e}"))?)
            }
            Role::ApiVersion | Role::Kind => {
                let value = s.decode().map_err(|e| format!("request.object: {e}"))?;
                let (slot, name) = if role == Role::Kind {
                    (&mut self.payload.kind, "kind")
                } else {
                    (&mut self.payload.api_version, "apiVersion")
                };
                // Which one a reader keeps differs (Go's keeps the last): refused.
                if slot.replace(value).is_some() {
                    return Err(format!("the object has two {name} fields"));
                }
            }
            Role::RefKind => {
                if let Some(open) = self.refs.last_mut() {
                    open.kind_repeated |= open.kind.is_some();
                    open.kind = s.decode().ok();
                }
            }
            Role::TagName => {
                if let Some(open) = self.tags.last_mut() {
                    open.name = s.decode().ok();
                }
            }
            Role::ContainerName => {
                if let Some((name, _)) = self.containers.last_mut() {
                    *name = s.decode().ok();
                }
            }
            Role::TriggerAnnotation => self.trigger_annotation = s.decode().ok(),
            Role::HookSidecars | Role::ArgoManifest => self.embedded(role, s)?,
            Role::TemplateObjects => self.objects = Some(Err("a string".into())),
            Role::TemplateObject => self.element(Err("a string".into())),
            _ if role.takes_any_value() => {}
            _ => {
                let shown = s.decode().map(|d| format!("the string {}", quoted(&d)));
                let problem = role.wrong_type(shown.as_deref().unwrap_or("a string"))?;
                self.malformed(role, problem);
            }
        }
        Ok(())
    }

    /// An object reference ends: its name is an image when its kind is
    /// `DockerImage`, a name inside the cluster for the image stream kinds,
    /// and a problem otherwise (fail closed: an unknown kind may be pulled).
    #[inline(never)]
    fn close_ref(&mut self) {
        let Some(open) = self.refs.pop() else { return };
        let Some(name) = open.name else { return };
        let kind = if open.kind_repeated { Some("two kind fields") } else { open.kind.as_deref() };
        match kind {
            Some("DockerImage") => {}
            Some("ImageStreamTag" | "ImageStreamImage" | "ImageStream") => {
                if name < self.payload.found.len() {
                    self.payload.found.remove(name);
                }
            }
            other => {
                let shown = other.map_or("none".to_string(), |k| format!("{:?}", crate::response::shorten(k)));
                let Some(found) = self.payload.found.get_mut(name) else { return };
                // `….from.name` → `….from.kind`: the kind is what is wrong.
                if let Some(base) = found.field.strip_suffix("name") {
                    found.field = format!("{base}kind");
                }
                found.image = Err(format!(
                    "expected DockerImage, ImageStreamTag or ImageStreamImage, found {shown}; \
                     registry-guard cannot tell what is pulled"
                ));
                found.span = 0..0;
            }
        }
    }

    /// A string that holds an object: KubeVirt's hook sidecars annotation
    /// (JSON) and an Argo resource manifest (JSON is read as an object of
    /// its own kind; YAML, which the policy has no reader for, is a warning
    /// when it mentions an image; the created object is admitted on its own).
    /// Findings inside are named by the string's field and their path in it;
    /// they cannot be rewritten (no span): a mirror or pin rule that would
    /// rewrite one refuses the request.
    #[inline(never)]
    fn embedded(&mut self, role: Role, s: RawStr<'de>) -> Result<(), String> {
        let field = self.field();
        let kinds = role.kinds();
        let text = match s.decode() {
            Ok(text) => text,
            Err(e) => {
                self.push(Found { kinds, ..Found::new(field, Err(e.to_string()), 0..0) });
                return Ok(());
            }
        };
        let hooks = role == Role::HookSidecars;
        let walked = if hooks {
            Walker::new(text.as_bytes()).run(Role::ContainerList(Kinds::ANY))
        } else {
            // JSON is YAML too: a manifest that is not JSON is read as YAML.
            match Walker::new(text.as_bytes()).run(Role::Object) {
                Ok(payload) if text.trim_start().starts_with('{') => Ok(payload),
                _ if text.contains("image") => {
                    let why = "an Argo resource manifest the policy does not read (YAML, or not an object)";
                    self.push(Found { kinds, unchecked: Some(why), ..Found::new(field, Ok(text), 0..0) });
                    return Ok(());
                }
                _ => return Ok(()),
            }
        };
        match walked {
            Ok(payload) => {
                for f in payload.found {
                    let inner = if f.field.starts_with('[') || f.field.is_empty() {
                        format!("{field}{}", f.field)
                    } else {
                        format!("{field}.{}", f.field)
                    };
                    let image = f.image.map(|i| Cow::Owned(i.into_owned()));
                    self.push(Found {
                        field: inner,
                        image,
                        span: 0..0,
                        scheme: f.scheme,
                        unchecked: f.unchecked,
                        kinds,
                    });
                }
            }
            Err(e) => {
                let problem = format!("expected a JSON list of hook sidecars ({{\"image\": …}}): {e}");
                self.push(Found { kinds, ..Found::new(field, Err(problem), 0..0) });
            }
        }
        Ok(())
    }

    /// A container ends: its blank image fields get its name.
    #[inline(never)]
    fn close_container(&mut self) {
        let Some((name, first)) = self.containers.pop() else { return };
        for blank in self.blanks.iter_mut().skip(first) {
            if blank.container.is_none() {
                blank.container.clone_from(&name);
            }
        }
    }

    /// The next element of the object's `objects` list: its place, or what
    /// it is when it is not a mapping.
    fn element(&mut self, element: Element) {
        if let Some(Ok(elements)) = &mut self.objects {
            elements.push(element);
        }
    }

    /// A scalar as the object's `objects`, or as one of them.
    #[inline(never)]
    fn not_an_object(&mut self, role: Role, event: &Event<'_>) {
        let found = match event {
            Event::Number(n) => format!("the number {}", crate::request::json::ascii(n)),
            Event::Bool(b) => format!("the boolean {b}"),
            _ => "null".to_string(),
        };
        match role {
            Role::TemplateObjects if found != "null" => self.objects = Some(Err(found)),
            Role::TemplateObject => self.element(Err(found)),
            _ => {}
        }
    }

    /// An ImageStream tag ends: its findings are renamed from `tags[i]` to
    /// `tags[name]`, as OpenShift names them.
    #[inline(never)]
    fn close_tag(&mut self) {
        let Some(open) = self.tags.pop() else { return };
        let Some(name) = open.name else { return };
        if open.first == self.payload.found.len() {
            return;
        }
        let old = self.field();
        let Some(cut) = old.rfind('[') else { return };
        let new = format!("{}[{name}]", &old[..cut]);
        for found in &mut self.payload.found[open.first..] {
            if let Some(rest) = found.field.strip_prefix(old.as_str()) {
                found.field = format!("{new}{rest}");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn walk(object: &serde_json::Value) -> Vec<(String, Result<String, String>)> {
        walk_text(&object.to_string())
    }

    fn walk_text(text: &str) -> Vec<(String, Result<String, String>)> {
        let found = read_object(text.as_bytes()).unwrap();
        found.into_iter().map(|f| (f.field, f.image.map(|i| i.into_owned()))).collect()
    }

    fn ok(field: &str, image: &str) -> (String, Result<String, String>) {
        (field.to_string(), Ok(image.to_string()))
    }

    #[test]
    fn finds_containers_init_and_ephemeral_at_any_depth() {
        // In document order (json! would sort the keys).
        let cronjob = r#"{"kind": "CronJob", "spec": {"jobTemplate": {"spec": {"template": {"spec": {
            "initContainers": [{"name": "i", "image": "init:1"}],
            "containers": [{"name": "a", "image": "app:1"}, {"name": "b", "image": "side:2"}],
            "ephemeralContainers": [{"name": "d", "image": "debug:3"}]
        }}}}}}"#;
        assert_eq!(
            walk_text(cronjob),
            [
                ok("spec.jobTemplate.spec.template.spec.initContainers[0].image", "init:1"),
                ok("spec.jobTemplate.spec.template.spec.containers[0].image", "app:1"),
                ok("spec.jobTemplate.spec.template.spec.containers[1].image", "side:2"),
                ok("spec.jobTemplate.spec.template.spec.ephemeralContainers[0].image", "debug:3"),
            ]
        );
    }

    #[test]
    fn finds_image_volumes() {
        let pod = json!({"spec": {"volumes": [
            {"name": "cfg", "configMap": {"name": "x"}},
            {"name": "model", "image": {"reference": "quay.io/models/llm:1", "pullPolicy": "IfNotPresent"}}
        ]}});
        assert_eq!(walk(&pod), [ok("spec.volumes[1].image.reference", "quay.io/models/llm:1")]);
    }

    #[test]
    fn missing_null_and_empty_images_are_skipped() {
        let pod =
            json!({"spec": {"containers": [{"name": "a"}, {"name": "b", "image": null}, {"name": "c", "image": ""}]}});
        assert_eq!(walk(&pod), []);
    }

    #[test]
    fn the_objects_own_metadata_is_skipped_but_nested_metadata_is_walked() {
        let object = json!({
            "metadata": {"containers": [{"image": "never-pulled:1"}], "annotations": {"x": "y"}},
            "spec": {"metadata": {"containers": [{"image": "deep:1"}]}}
        });
        assert_eq!(walk(&object), [ok("spec.metadata.containers[0].image", "deep:1")]);
    }

    #[test]
    fn objects_must_be_mappings_or_null() {
        assert!(read_object(b"null").is_ok());
        assert_eq!(read_object(b"[]").unwrap_err(), "request.object: expected a mapping or null, found a list");
    }

    #[test]
    fn images_in_other_places_are_not_images() {
        // status, annotations and last-applied-configuration are not pulled.
        let pod = json!({
            "metadata": {"annotations": {"image": "evil:1", "kubectl.kubernetes.io/last-applied-configuration": "{\"spec\":{\"containers\":[{\"image\":\"x\"}]}}"}},
            "status": {"containerStatuses": [{"image": "nginx:1", "imageID": "x"}]},
            "spec": {"image": "not-a-container-field"}
        });
        assert_eq!(walk(&pod), []);
    }

    #[test]
    fn wrong_types_where_images_belong_are_reported() {
        let pod = r#"{"spec": {
            "containers": [{"image": 5}, "nginx", {"image": ["a"]}, {"image": {"ref": "x"}}],
            "initContainers": {"image": "nginx"},
            "ephemeralContainers": "nginx",
            "volumes": [{"image": "nginx"}, {"image": {"reference": true}}]
        }}"#;
        let found = walk_text(pod);
        let problems: Vec<(&str, &str)> =
            found.iter().map(|(f, r)| (f.as_str(), r.as_ref().unwrap_err().as_str())).collect();
        assert_eq!(
            problems,
            [
                ("spec.containers[0].image", "expected an image reference (a string), found the number 5"),
                ("spec.containers[1]", "expected a container (a mapping), found the string \"nginx\""),
                ("spec.containers[2].image", "expected an image reference (a string), found a list"),
                ("spec.containers[3].image", "expected an image reference (a string), found a mapping"),
                ("spec.initContainers", "expected a list of containers, found a mapping"),
                ("spec.ephemeralContainers", "expected a list of containers, found the string \"nginx\""),
                (
                    "spec.volumes[0].image",
                    "expected an image volume source (a mapping with a reference), found the string \"nginx\""
                ),
                ("spec.volumes[1].image.reference", "expected an image reference (a string), found the boolean true"),
            ]
        );
    }

    #[test]
    fn images_below_a_malformed_value_are_still_found() {
        let object = json!({"containers": {"x": {"containers": [{"image": "deep:1"}]}}});
        let found = walk(&object);
        assert_eq!(found.len(), 2);
        assert_eq!(found[1], ok("containers.x.containers[0].image", "deep:1"));
    }

    #[test]
    fn escaped_strings_and_odd_keys() {
        let text =
            r#"{"spec": {"containers": [{"im\u0061ge": "ngin\u0078:1"}], "we.ird": {"containers": [{"image": "a"}]}}}"#;
        let found = read_object(text.as_bytes()).unwrap();
        let found: Vec<_> = found.iter().map(|f| (f.field.as_str(), f.image.as_deref().unwrap())).collect();
        assert_eq!(found, [("spec.containers[0].image", "nginx:1"), ("spec[\"we.ird\"].containers[0].image", "a")]);
    }

    #[test]
    fn nesting_beyond_the_limit_is_an_error_not_a_crash() {
        let text = format!("{{\"a\": {}{}}}", "[".repeat(10_000), "]".repeat(10_000));
        let err = read_object(text.as_bytes()).unwrap_err();
        assert_eq!(err, "invalid JSON at byte 1005: nested deeper than 1000 levels");
    }

    #[test]
    fn request_and_settings_in_either_order_with_other_fields() {
        let text = br#" { "extra": [1, {"a": "}"}], "settings": {"tags": {"reject": ["latest"]}} ,
            "request": {"uid": "x", "operation": "CREATE", "oldObject": {"spec": {"containers": [{"image": "old:1"}]}},
            "object": {"spec": {"containers": [{"image": "a:1"}]}}} } "#;
        {
            let payload = read(text).unwrap();
            let settings = Document::parse(br#"{"tags": {"reject": ["latest"]}}"#).unwrap();
            assert_eq!(payload.settings, Some(Ok(settings)));
            assert_eq!(payload.operation.as_deref(), Some("CREATE"));
            let found = &payload.found[..];
            assert_eq!(found.len(), 1);
            assert_eq!((found[0].field.as_str(), found[0].image.as_deref()), ("spec.containers[0].image", Ok("a:1")));
            // Where the token and the object stand, for rewriting in place.
            assert_eq!(&text[found[0].span.clone()], br#""a:1""#);
            assert_eq!(&text[payload.object.unwrap()], br#"{"spec": {"containers": [{"image": "a:1"}]}}"#);
        }
    }

    #[test]
    fn a_request_with_two_objects_is_refused() {
        let text = br#"{"request": {"object": {}, "object": {"spec": {"containers": [{"image": "a"}]}}}}"#;
        assert_eq!(read(text).unwrap_err(), "the request has two object fields");
        assert_eq!(read(br#"{"request": {"object": null}}"#).unwrap().object, None);
    }

    #[test]
    fn settings_are_read_whatever_their_shape() {
        assert_eq!(read(br#"{"settings": null}"#).unwrap().settings, Some(Ok(Document::Null)));
        assert_eq!(read(br#"{"settings": "a\"}"}"#).unwrap().settings, Some(Ok(Document::String("a\"}".into()))));
        assert_eq!(
            read(br#"{"settings": {"a": 1, "a": 2}, "request": {}}"#).unwrap().settings,
            Some(Err("the key \"a\" appears twice in one mapping".into()))
        );
    }

    #[test]
    fn malformed_envelopes_are_errors() {
        for (text, error) in [
            (&b"garbage"[..], "invalid JSON at byte 0: expected a value"),
            (b"[]", "the payload must be a mapping with request and settings, found a list"),
            (b"{\"request\": {}, \"request\": {}}", "the payload has two request fields"),
            (b"{\"settings\": {}, \"settings\": {}}", "the payload has two settings fields"),
            (b"{\"settings\": {}", "invalid JSON at byte 15: unexpected end of input"),
            (b"{\"settings\": }", "invalid JSON at byte 13: expected a value"),
            (b"{} x", "invalid JSON at byte 3: trailing characters after the value"),
            (b"{\"request\": [1]}", "request: expected an AdmissionRequest (a mapping), found a list"),
            (b"{\"request\": null}", "request: expected an AdmissionRequest (a mapping), found null"),
            (b"{\"request\": {\"operation\": 5}}", "request.operation: expected a string, found the number 5"),
            (b"{\"request\": {\"operation\": \"A\", \"operation\": \"B\"}}", "the request has two operation fields"),
            (
                b"{\"request\": {\"object\": \"x\"}}",
                "request.object: expected a mapping or null, found the string \"x\"",
            ),
        ] {
            assert_eq!(read(text).err().as_deref(), Some(error), "{}", String::from_utf8_lossy(text));
        }
    }

    #[test]
    fn escaped_envelope_keys_mean_what_they_spell() {
        let text = br#"{"req\u0075est": {"\u006fbject": {"spec": {"containers": [{"image": "a:1"}]}}}}"#;
        let payload = read(text).unwrap();
        assert!(payload.has_request);
        assert_eq!(payload.found.len(), 1);
    }
    /// Findings as (field, image or problem, unchecked) for an object.
    fn found(text: &str) -> Vec<(String, Result<String, String>)> {
        walk_text(text)
    }

    fn unchecked(text: &str) -> Vec<(String, Option<&'static str>)> {
        read_object(text.as_bytes()).unwrap().into_iter().map(|f| (f.field, f.unchecked)).collect()
    }

    #[test]
    fn tekton_steps_sidecars_templates_and_inline_specs() {
        // spec before apiVersion and kind: the kind is known only at the end.
        let pipeline_run = r#"{"spec": {"pipelineSpec": {"tasks": [{"name": "build", "taskSpec": {
                "stepTemplate": {"image": "gcr.io/base:1"},
                "steps": [{"name": "a", "image": "ghcr.io/a:1"}, {"name": "b", "ref": {"name": "git-clone"}}],
                "sidecars": [{"name": "s", "image": "mirror.gcr.io/docker:dind"}]}}],
            "finally": [{"name": "f", "taskSpec": {"steps": [{"image": "alpine"}]}}]}},
            "apiVersion": "tekton.dev/v1", "kind": "PipelineRun"}"#;
        assert_eq!(
            found(pipeline_run),
            [
                ok("spec.pipelineSpec.tasks[0].taskSpec.stepTemplate.image", "gcr.io/base:1"),
                ok("spec.pipelineSpec.tasks[0].taskSpec.steps[0].image", "ghcr.io/a:1"),
                ok("spec.pipelineSpec.tasks[0].taskSpec.sidecars[0].image", "mirror.gcr.io/docker:dind"),
                ok("spec.pipelineSpec.finally[0].taskSpec.steps[0].image", "alpine"),
            ]
        );
        let step_action = r#"{"apiVersion": "tekton.dev/v1beta1", "kind": "StepAction", "spec": {"image": "ubuntu"}}"#;
        assert_eq!(found(step_action), [ok("spec.image", "ubuntu")]);
    }

    #[test]
    fn the_same_fields_in_other_kinds_are_not_images() {
        let fields = r#""spec": {"image": "a", "package": "b", "module": "registry://c", "steps": [{"image": "d"}],
            "sidecars": [{"image": "e"}], "container": {"image": "f"}, "stepTemplate": 5,
            "volumes": [{"containerDisk": {"image": "g"}}], "source": {"registry": {"url": "docker://h"}},
            "from": {"kind": "DockerImage", "name": "i"}, "tags": [{"name": "x", "from": {"name": "j"}}],
            "policies": {"p": {"module": "k"}}}"#;
        for kind in [
            r#""apiVersion": "example.com/v1", "kind": "Task""#,
            r#""apiVersion": "apps/v1", "kind": "Deployment""#,
            r#""kind": "Pipeline""#,
            "",
        ] {
            let object = format!("{{{fields}{}{kind}}}", if kind.is_empty() { "" } else { ", " });
            assert_eq!(found(&object), [], "{kind}");
        }
        // Container lists are images in every kind.
        let object = r#"{"apiVersion": "example.com/v1", "kind": "Task", "spec": {"steps": [{"containers": [{"image": "x"}]}]}}"#;
        assert_eq!(found(object), [ok("spec.steps[0].containers[0].image", "x")]);
    }

    #[test]
    fn argo_templates() {
        let workflow = r#"{"apiVersion": "argoproj.io/v1alpha1", "kind": "CronWorkflow", "spec": {"workflowSpec": {
            "templates": [
                {"name": "main", "steps": [[{"name": "a", "template": "c"}]]},
                {"name": "c", "container": {"image": "docker/whalesay", "command": ["cowsay"]},
                 "initContainers": [{"name": "i", "image": "alpine:3"}], "sidecars": [{"name": "s", "image": "nginx"}]},
                {"name": "s", "script": {"image": "python:alpine3.6", "source": "print(1)"}},
                {"name": "set", "containerSet": {"containers": [{"name": "a", "image": "argoproj/argosay:v2"}]}},
                {"name": "p", "container": {"image": "{{inputs.parameters.image}}"}}
            ]}}}"#;
        assert_eq!(
            found(workflow),
            [
                ok("spec.workflowSpec.templates[1].container.image", "docker/whalesay"),
                ok("spec.workflowSpec.templates[1].initContainers[0].image", "alpine:3"),
                ok("spec.workflowSpec.templates[1].sidecars[0].image", "nginx"),
                ok("spec.workflowSpec.templates[2].script.image", "python:alpine3.6"),
                ok("spec.workflowSpec.templates[3].containerSet.containers[0].image", "argoproj/argosay:v2"),
                ok("spec.workflowSpec.templates[4].container.image", "{{inputs.parameters.image}}"),
            ]
        );
        let flags = unchecked(workflow);
        assert_eq!(flags[4].1, None);
        assert_eq!(flags[5].1, Some("an Argo Workflows template expression"));
    }

    #[test]
    fn parameters_are_unchecked_only_in_their_engines_kinds() {
        let task = r#"{"apiVersion": "tekton.dev/v1", "kind": "Task", "spec": {"steps": [
            {"image": "$(params.builder-image)"}, {"image": "{{x}}"}, {"image": "ghcr.io/$(params.name):1"}]}}"#;
        assert_eq!(unchecked(task).into_iter().map(|(_, u)| u.is_some()).collect::<Vec<_>>(), [true, false, true]);
        // A Pod's image is pulled as written: not a parameter, a bad reference.
        let pod = r#"{"apiVersion": "v1", "kind": "Pod", "spec": {"containers": [{"image": "$(params.image)"}]}}"#;
        assert_eq!(unchecked(pod)[0].1, None);
    }

    #[test]
    fn kubevirt_disks_kernels_and_cdi_urls() {
        let vm = r#"{"apiVersion": "kubevirt.io/v1", "kind": "VirtualMachine", "spec": {
            "dataVolumeTemplates": [{"spec": {"source": {"registry": {"url": "docker://quay.io/containerdisks/fedora:40"}}}}],
            "template": {"spec": {"domain": {"firmware": {"kernelBoot": {"container": {"image": "quay.io/kernel:1"}}}},
                "volumes": [{"name": "root", "containerDisk": {"image": "quay.io/kubevirt/cirros-container-disk-demo"}},
                            {"name": "ci", "cloudInitNoCloud": {"userData": "x"}}]}}}}"#;
        let findings = read_object(vm.as_bytes()).unwrap();
        let shown: Vec<_> =
            findings.iter().map(|f| (f.field.as_str(), f.image.as_deref().unwrap(), f.scheme)).collect();
        assert_eq!(
            shown,
            [
                (
                    "spec.dataVolumeTemplates[0].spec.source.registry.url",
                    "quay.io/containerdisks/fedora:40",
                    "docker://"
                ),
                ("spec.template.spec.domain.firmware.kernelBoot.container.image", "quay.io/kernel:1", ""),
                (
                    "spec.template.spec.volumes[0].containerDisk.image",
                    "quay.io/kubevirt/cirros-container-disk-demo",
                    ""
                ),
            ]
        );
        // The token spans the whole value, scheme included.
        assert_eq!(&vm.as_bytes()[findings[0].span.clone()], br#""docker://quay.io/containerdisks/fedora:40""#);
        let dv = r#"{"apiVersion": "cdi.kubevirt.io/v1beta1", "kind": "DataVolume", "spec": {"source": {"registry": {"url": "oci-archive:///x.tar"}}}}"#;
        assert_eq!(
            found(dv),
            [(
                "spec.source.registry.url".to_string(),
                Err("expected a docker:// URL (CDI imports registry images from docker:// URLs), found \"oci-archive:///x.tar\"".to_string())
            )]
        );
    }

    #[test]
    fn openshift_references_by_kind_and_tags_by_name() {
        let stream = r#"{"apiVersion": "image.openshift.io/v1", "kind": "ImageStream", "spec": {"tags": [
            {"name": "latest", "from": {"kind": "DockerImage", "name": "quay.io/app:latest"}},
            {"from": {"name": "registry.redhat.io/ubi9:9.4", "kind": "DockerImage"}, "name": "9.4"},
            {"name": "internal", "from": {"kind": "ImageStreamTag", "name": "app:latest"}},
            {"name": "odd", "from": {"name": "x"}},
            {"name": "twice", "from": {"kind": "DockerImage", "name": "evil.io/x:1", "kind": "ImageStreamTag"}}]}}"#;
        assert_eq!(
            found(stream),
            [
                ok("spec.tags[latest].from.name", "quay.io/app:latest"),
                ok("spec.tags[9.4].from.name", "registry.redhat.io/ubi9:9.4"),
                (
                    "spec.tags[odd].from.kind".to_string(),
                    Err("expected DockerImage, ImageStreamTag or ImageStreamImage, found none; registry-guard cannot tell what is pulled".to_string())
                ),
                (
                    "spec.tags[twice].from.kind".to_string(),
                    Err("expected DockerImage, ImageStreamTag or ImageStreamImage, found \"two kind fields\"; registry-guard cannot tell what is pulled".to_string())
                ),
            ]
        );
        let build = r#"{"apiVersion": "build.openshift.io/v1", "kind": "BuildConfig", "spec": {
            "source": {"images": [{"from": {"kind": "DockerImage", "name": "quay.io/tools:1"}}]},
            "strategy": {"sourceStrategy": {"from": {"kind": "ImageStreamTag", "name": "python:3.11", "namespace": "openshift"}},
                         "dockerStrategy": {"from": {"kind": "DockerImage", "name": "docker.io/golang:1.22"}}},
            "output": {"to": {"kind": "DockerImage", "name": "quay.io/pushed:1"}}}}"#;
        assert_eq!(
            found(build),
            [
                ok("spec.source.images[0].from.name", "quay.io/tools:1"),
                ok("spec.strategy.dockerStrategy.from.name", "docker.io/golang:1.22"),
            ]
        );
    }

    #[test]
    fn crossplane_packages_must_name_their_registry() {
        let provider = |package: &str| {
            format!(
                r#"{{"apiVersion": "pkg.crossplane.io/v1", "kind": "Provider", "spec": {{"package": "{package}"}}}}"#
            )
        };
        assert_eq!(
            found(&provider("xpkg.upbound.io/crossplane-contrib/provider-aws:v0.39.0")),
            [ok("spec.package", "xpkg.upbound.io/crossplane-contrib/provider-aws:v0.39.0")]
        );
        let problem = found(&provider("crossplane-contrib/provider-aws:v0.39.0"));
        assert!(
            problem[0]
                .1
                .as_ref()
                .unwrap_err()
                .contains("names no registry: Crossplane resolves it against its --registry flag"),
            "{problem:?}"
        );
    }

    #[test]
    fn kubewarden_modules_and_policy_servers() {
        let policy = |kind: &str, spec: &str| {
            format!(r#"{{"apiVersion": "policies.kubewarden.io/v1", "kind": "{kind}", "spec": {spec}}}"#)
        };
        let findings = read_object(
            policy(
                "ClusterAdmissionPolicy",
                r#"{"module": "registry://ghcr.io/kubewarden/policies/pod-privileged:v0.2.5"}"#,
            )
            .as_bytes(),
        )
        .unwrap()
        .into_iter()
        .map(|f| (f.field, f.image.unwrap().into_owned(), f.scheme))
        .collect::<Vec<_>>();
        assert_eq!(
            findings,
            [(
                "spec.module".to_string(),
                "ghcr.io/kubewarden/policies/pod-privileged:v0.2.5".to_string(),
                "registry://"
            )]
        );
        assert_eq!(found(&policy("AdmissionPolicy", r#"{"module": "https://example.com/p.wasm"}"#)), []);
        assert_eq!(found(&policy("AdmissionPolicy", r#"{"module": "file:///p.wasm"}"#)), []);
        assert_eq!(
            found(&policy("AdmissionPolicy", r#"{"module": "ghcr.io/p:v1"}"#)),
            [ok("spec.module", "ghcr.io/p:v1")]
        );
        assert!(found(&policy("AdmissionPolicy", r#"{"module": "s3://bucket/p.wasm"}"#))[0].1.is_err());
        let group = policy(
            "ClusterAdmissionPolicyGroup",
            r#"{"policies": {"signed": {"module": "registry://ghcr.io/kubewarden/policies/verify-image-signatures:v0.3.0"}, "containers": {"module": "registry://ghcr.io/x:1"}}}"#,
        );
        assert_eq!(
            found(&group),
            [
                ok("spec.policies.signed.module", "ghcr.io/kubewarden/policies/verify-image-signatures:v0.3.0"),
                ok("spec.policies.containers.module", "ghcr.io/x:1")
            ]
        );
        assert_eq!(
            found(&policy("PolicyServer", r#"{"image": "ghcr.io/kubewarden/policy-server:v1.31.0"}"#)),
            [ok("spec.image", "ghcr.io/kubewarden/policy-server:v1.31.0")]
        );
    }

    #[test]
    fn a_policy_group_member_that_is_not_a_mapping_is_rejected_naming_it() {
        // The fuzzer's find (issue 28): a member named `initContainers`
        // holding a container list; its image is checked as well.
        let group = |kind: &str, policies: &str| {
            format!(
                r#"{{"apiVersion": "policies.kubewarden.io/v1", "kind": "{kind}", "spec": {{"policies": {policies}}}}}"#
            )
        };
        let member = "expected a policy of the group (a mapping with a module), found";
        assert_eq!(
            found(&group(
                "AdmissionPolicyGroup",
                r#"{"a": {"module": "registry://ghcr.io/a:1"}, "initContainers": [{"image": "evil.io/x:1"}]}"#
            )),
            [
                ok("spec.policies.a.module", "ghcr.io/a:1"),
                ("spec.policies.initContainers".to_string(), Err(format!("{member} a list"))),
                ok("spec.policies.initContainers[0].image", "evil.io/x:1"),
            ]
        );
        assert_eq!(
            found(&group("ClusterAdmissionPolicyGroup", r#"{"a": "registry://evil.io/p:1", "b": 5, "c": null}"#)),
            [
                ("spec.policies.a".to_string(), Err(format!("{member} the string \"registry://evil.io/p:1\""))),
                ("spec.policies.b".to_string(), Err(format!("{member} the number 5"))),
            ]
        );
        assert_eq!(
            found(&group("AdmissionPolicyGroup", r#"[{"module": "registry://evil.io/p:1"}]"#)),
            [("spec.policies".to_string(), Err("expected policies by name (a mapping), found a list".to_string()))]
        );
        // In other kinds the names mean what they mean anywhere: a container
        // list is one, and a `containers` mapping is a malformed list.
        assert_eq!(
            found(&group(
                "Other",
                r#"{"initContainers": [{"image": "evil.io/x:1"}], "a": "b", "containers": {"module": "x"}}"#
            )),
            [
                ok("spec.policies.initContainers[0].image", "evil.io/x:1"),
                (
                    "spec.policies.containers".to_string(),
                    Err("expected a list of containers, found a mapping".to_string())
                ),
            ]
        );
    }

    #[test]
    fn image_stream_tags_of_the_wrong_shape_are_rejected_naming_them() {
        let stream = |tags: &str| {
            format!(r#"{{"apiVersion": "image.openshift.io/v1", "kind": "ImageStream", "spec": {{"tags": {tags}}}}}"#)
        };
        assert_eq!(
            found(&stream(r#"{"latest": {"from": {"kind": "DockerImage", "name": "quay.io/a:1"}}}"#)),
            [
                ("spec.tags".to_string(), Err("expected a list of tags, found a mapping".to_string())),
                ok("spec.tags.latest.from.name", "quay.io/a:1"),
            ]
        );
        assert_eq!(
            found(&stream(r#"["quay.io/a:1", [{"from": {"kind": "DockerImage", "name": "quay.io/b:1"}}]]"#)),
            [
                (
                    "spec.tags[0]".to_string(),
                    Err("expected a tag (a mapping with a name and from), found the string \"quay.io/a:1\"".to_string())
                ),
                (
                    "spec.tags[1]".to_string(),
                    Err("expected a tag (a mapping with a name and from), found a list".to_string())
                ),
                ok("spec.tags[1][0].from.name", "quay.io/b:1"),
            ]
        );
    }

    fn warned(text: &str) -> Vec<(String, Result<String, String>, Option<&'static str>)> {
        read_object(text.as_bytes())
            .unwrap()
            .into_iter()
            .map(|f| (f.field, f.image.map(|i| i.into_owned()), f.unchecked))
            .collect()
    }

    const TRIGGER: Option<&str> = Some(openshift::FILLED_BY_TRIGGER);

    #[test]
    fn blank_images_are_nothing_to_pull_unless_a_trigger_fills_them() {
        let pod = json!({"spec": {"containers": [{"name": "a", "image": " "}, {"name": "b", "image": "\t"}]}});
        assert_eq!(walk(&pod), []);
        // The annotation names the field by index or the container by name;
        // the third container's blank is filled by nothing.
        let deployment = r#"{"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "app", "annotations": {
            "image.openshift.io/triggers": "[{\"from\":{\"kind\":\"ImageStreamTag\",\"name\":\"app:latest\"},\"fieldPath\":\"spec.template.spec.containers[0].image\"},{\"from\":{\"kind\":\"ImageStreamTag\",\"name\":\"db:8\",\"namespace\":\"openshift\"},\"fieldPath\":\"spec.template.spec.containers[?(@.name==\\\"db\\\")].image\"}]"}},
            "spec": {"template": {"spec": {"containers": [{"name": "app", "image": " "}, {"image": "", "name": "db"},
                {"name": "other", "image": " "}, {"name": "side", "image": "quay.io/side:1"}]}}}}"#;
        assert_eq!(
            warned(deployment),
            [
                ("spec.template.spec.containers[3].image".into(), Ok("quay.io/side:1".into()), None),
                ("spec.template.spec.containers[0].image".into(), Ok("app:latest".into()), TRIGGER),
                ("spec.template.spec.containers[1].image".into(), Ok("openshift/db:8".into()), TRIGGER),
            ]
        );
        // Not read in kinds OpenShift does not honour it on.
        let pod = deployment
            .replace(r#""apiVersion": "apps/v1", "kind": "Deployment""#, r#""apiVersion": "v1", "kind": "Pod""#);
        assert_eq!(
            warned(&pod),
            [("spec.template.spec.containers[3].image".into(), Ok("quay.io/side:1".into()), None)]
        );
    }

    #[test]
    fn a_trigger_annotation_that_cannot_be_read_is_rejected_naming_it() {
        let job = r#"{"apiVersion": "batch/v1", "kind": "Job", "metadata": {"annotations": {"image.openshift.io/triggers": "[{"}},
            "spec": {"template": {"spec": {"containers": [{"name": "a", "image": " "}]}}}}"#;
        let found = walk_text(job);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].0, "metadata.annotations[\"image.openshift.io/triggers\"]");
        assert!(found[0].1.as_ref().unwrap_err().starts_with("expected a JSON list of image-change triggers"));
    }

    #[test]
    fn deployment_config_triggers_fill_their_containers() {
        let dc = r#"{"kind": "DeploymentConfig", "spec": {"template": {"spec": {"containers": [
                {"name": "jenkins", "image": " "}, {"name": "agent", "image": ""}, {"name": "amq", "image": "jboss-amq-63"}]}},
            "triggers": [{"type": "ConfigChange"}, {"type": "ImageChange", "imageChangeParams": {"automatic": true,
                "containerNames": ["jenkins", "amq"], "from": {"kind": "ImageStreamTag", "name": "jenkins:2", "namespace": "openshift"}}}]},
            "apiVersion": "apps.openshift.io/v1"}"#;
        // A concrete image in a trigger's container is checked: it is what
        // runs until (and unless) the trigger fires.
        assert_eq!(
            warned(dc),
            [
                ("spec.template.spec.containers[2].image".into(), Ok("jboss-amq-63".into()), None),
                ("spec.template.spec.containers[0].image".into(), Ok("openshift/jenkins:2".into()), TRIGGER),
            ]
        );
    }

    #[test]
    fn template_objects_are_walked_as_their_own_kinds_with_parameters_unchecked() {
        // `objects` before `kind`: the Template is known only at the end.
        let template = r#"{"objects": [
                {"apiVersion": "tekton.dev/v1", "kind": "Task", "spec": {"steps": [{"image": "$(params.builder)"}, {"image": "ghcr.io/a:1"}]}},
                {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"annotations": {"image.openshift.io/triggers":
                    "[{\"from\":{\"kind\":\"ImageStreamTag\",\"name\":\"${NAME}:latest\"},\"fieldPath\":\"spec.template.spec.containers[0].image\"}]"}},
                 "spec": {"template": {"spec": {"containers": [{"name": "${NAME}", "image": " "}, {"name": "b", "image": "${IMAGE}"}]}}}},
                {"apiVersion": "v1", "kind": "Pod", "spec": {"steps": [{"image": "not-a-step"}], "containers": [{"image": "quay.io/${{ORG}}/x:1"}]}},
                "garbage"],
            "parameters": [{"name": "IMAGE", "value": "evil.io/x:1"}],
            "apiVersion": "template.openshift.io/v1", "kind": "Template"}"#;
        assert_eq!(
            warned(template),
            [
                (
                    "objects[0].spec.steps[0].image".into(),
                    Ok("$(params.builder)".into()),
                    Some("a Tekton parameter or result reference")
                ),
                ("objects[0].spec.steps[1].image".into(), Ok("ghcr.io/a:1".into()), None),
                (
                    "objects[1].spec.template.spec.containers[1].image".into(),
                    Ok("${IMAGE}".into()),
                    Some("an OpenShift template parameter")
                ),
                ("objects[1].spec.template.spec.containers[0].image".into(), Ok("${NAME}:latest".into()), TRIGGER),
                (
                    "objects[2].spec.containers[0].image".into(),
                    Ok("quay.io/${{ORG}}/x:1".into()),
                    Some("an OpenShift template parameter")
                ),
                ("objects[3]".into(), Err("expected an object (a mapping), found a string".into()), None),
            ]
        );
        // The legacy `apiVersion: v1` Template too; `objects` not a list is
        // rejected, what it holds still walked.
        let legacy =
            r#"{"apiVersion": "v1", "kind": "Template", "objects": {"a": {"containers": [{"image": "x:1"}]}}}"#;
        assert_eq!(
            warned(legacy),
            [
                ("objects.a.containers[0].image".into(), Ok("x:1".into()), None),
                ("objects".into(), Err("expected a list of objects, found a mapping".into()), None),
            ]
        );
        // In any other kind `objects` is any value, and `${` is pulled as written.
        let other = r#"{"apiVersion": "example.com/v1", "kind": "Thing", "objects": [{"kind": "Task", "apiVersion": "tekton.dev/v1",
            "steps": [{"image": "a"}], "containers": [{"image": "${X}"}]}]}"#;
        assert_eq!(warned(other), [("objects[0].containers[0].image".into(), Ok("${X}".into()), None)]);
    }

    #[test]
    fn templates_in_templates_are_read_to_a_limit() {
        let mut object = r#"{"kind": "DeploymentConfig", "apiVersion": "v1", "spec": {"template": {"spec": {"containers": [{"name": "a", "image": " "}]}},
            "triggers": [{"imageChangeParams": {"containerNames": ["a"], "from": {"kind": "ImageStreamTag", "name": "a:1"}}}]}}"#
            .to_string();
        for _ in 0..TEMPLATES_NESTED {
            object = format!(r#"{{"kind": "Template", "apiVersion": "v1", "objects": [{object}]}}"#);
        }
        let inner = format!("{}spec.template.spec.containers[0].image", "objects[0].".repeat(TEMPLATES_NESTED));
        assert_eq!(warned(&object), [(inner, Ok("a:1".into()), TRIGGER)]);
        let deeper = format!(r#"{{"kind": "Template", "apiVersion": "v1", "objects": [{object}]}}"#);
        let found = warned(&deeper);
        assert!(found.iter().any(|(_, r, _)| r.as_ref().is_err_and(|e| e.contains("is not read as one"))), "{found:?}");
    }

    #[test]
    fn an_argo_azure_artifacts_container_is_a_blob_container_not_a_kubernetes_one() {
        // argo-workflows examples/input-artifact-azure.yaml, output-artifact-azure.yaml, archive-location.
        let workflow = r#"{"apiVersion": "argoproj.io/v1alpha1", "kind": "Workflow", "spec": {
            "artifactRepositoryRef": {"configMap": "my-repo", "key": "azure"},
            "templates": [{"name": "a",
                "inputs": {"artifacts": [{"name": "in", "path": "/in", "azure": {"endpoint": "https://x.blob.core.windows.net",
                    "container": "my-container", "blob": "path/in/container", "accountKeySecret": {"name": "s", "key": "k"}}}]},
                "outputs": {"artifacts": [{"name": "out", "path": "/tmp", "from": "{{steps.a.outputs.artifacts.x}}",
                    "azure": {"container": "my-container", "blob": "b"}}]},
                "archiveLocation": {"azure": {"container": "archive"}},
                "container": {"image": "debian:latest"}}]}}"#;
        assert_eq!(found(workflow), [ok("spec.templates[0].container.image", "debian:latest")]);
        // What stands below a blob container is still walked.
        let odd = r#"{"apiVersion": "argoproj.io/v1alpha1", "kind": "Workflow", "spec": {"templates": [
            {"outputs": {"artifacts": [{"azure": {"container": {"containers": [{"image": "evil.io/x:1"}]}}}]}}]}}"#;
        assert_eq!(
            found(odd),
            [ok("spec.templates[0].outputs.artifacts[0].azure.container.containers[0].image", "evil.io/x:1")]
        );
        // Elsewhere in Argo a string `container` is still refused.
        let wrong = r#"{"apiVersion": "argoproj.io/v1alpha1", "kind": "Workflow", "spec": {"templates": [{"container": "debian"}]}}"#;
        assert_eq!(
            found(wrong),
            [(
                "spec.templates[0].container".to_string(),
                Err("expected a container (a mapping), found the string \"debian\"".to_string())
            )]
        );
    }

    #[test]
    fn kubevirt_hook_sidecars_in_annotations_are_images() {
        // kubevirt examples/vmi-with-sidecar-hook.yaml; a VM's template too.
        let vmi = r#"{"apiVersion": "kubevirt.io/v1", "kind": "VirtualMachineInstance", "metadata": {"annotations": {
            "hooks.kubevirt.io/hookSidecars": "[{\"args\": [\"--version\", \"v1alpha2\"], \"image\": \"registry:5000/kubevirt/example-hook-sidecar:devel\"}]",
            "smbios.vm.kubevirt.io/baseBoardManufacturer": "Radical Edward"}},
            "spec": {"domain": {"devices": {}}}}"#;
        assert_eq!(
            found(vmi),
            [ok(
                "metadata.annotations[\"hooks.kubevirt.io/hookSidecars\"][0].image",
                "registry:5000/kubevirt/example-hook-sidecar:devel"
            )]
        );
        let vm = r#"{"apiVersion": "kubevirt.io/v1", "kind": "VirtualMachine", "spec": {"template": {"metadata": {"annotations": {
            "hooks.kubevirt.io/hookSidecars": "[{\"image\": \"quay.io/hook:1\"}, {\"image\": 5}]"}}}}}"#;
        assert_eq!(
            found(vm),
            [
                ok("spec.template.metadata.annotations[\"hooks.kubevirt.io/hookSidecars\"][0].image", "quay.io/hook:1"),
                (
                    "spec.template.metadata.annotations[\"hooks.kubevirt.io/hookSidecars\"][1].image".to_string(),
                    Err("expected an image reference (a string), found the number 5".to_string())
                ),
            ]
        );
        // Malformed JSON is refused, naming the annotation; in other kinds
        // the annotation is nobody's.
        let bad = vmi.replace(r#"[{\"args\""#, r#"[{args"#);
        let problem = found(&bad);
        assert_eq!(problem[0].0, "metadata.annotations[\"hooks.kubevirt.io/hookSidecars\"]");
        assert!(problem[0].1.as_ref().unwrap_err().starts_with("expected a JSON list of hook sidecars"), "{problem:?}");
        assert_eq!(found(&vmi.replace("kubevirt.io/v1", "example.com/v1")), []);
    }

    #[test]
    fn argo_resource_manifests_in_json_are_read_and_in_yaml_are_a_warning() {
        let workflow = |manifest: &str| {
            format!(
                r#"{{"apiVersion": "argoproj.io/v1alpha1", "kind": "Workflow", "spec": {{"templates": [{{"name": "r",
                    "resource": {{"action": "create", "manifest": {}}}}}]}}}}"#,
                serde_json::to_string(manifest).unwrap()
            )
        };
        let json = r#"{"apiVersion": "batch/v1", "kind": "Job", "spec": {"template": {"spec": {"containers": [
            {"name": "a", "image": "python:alpine3.23"}, {"name": "b", "image": "{{inputs.parameters.image}}"}]}}}}"#;
        assert_eq!(
            warned(&workflow(json)),
            [
                (
                    "spec.templates[0].resource.manifest.spec.template.spec.containers[0].image".into(),
                    Ok("python:alpine3.23".into()),
                    None
                ),
                (
                    "spec.templates[0].resource.manifest.spec.template.spec.containers[1].image".into(),
                    Ok("{{inputs.parameters.image}}".into()),
                    Some("an Argo Workflows template expression")
                ),
            ]
        );
        // argo-workflows examples/k8s-jobs.yaml: YAML.
        let yaml = "apiVersion: batch/v1\nkind: Job\nspec:\n  template:\n    spec:\n      containers:\n      - name: rand\n        image: python:alpine3.23\n";
        assert_eq!(
            warned(&workflow(yaml)),
            [(
                "spec.templates[0].resource.manifest".into(),
                Ok(yaml.into()),
                Some("an Argo resource manifest the policy does not read (YAML, or not an object)")
            )]
        );
        // A manifest that names no image (a patch of an annotation) is nothing.
        assert_eq!(warned(&workflow("- op: add\n  path: /metadata/annotations/foo\n  value: bar\n")), []);
        // Not a string: refused.
        let object = r#"{"apiVersion": "argoproj.io/v1alpha1", "kind": "Workflow", "spec": {"templates": [{"resource": {"manifest": {"kind": "Job"}}}]}}"#;
        assert_eq!(
            found(object),
            [(
                "spec.templates[0].resource.manifest".to_string(),
                Err("expected a manifest (a string of YAML or JSON), found a mapping".to_string())
            )]
        );
    }

    #[test]
    fn argo_pod_spec_patches_that_set_images_are_unchecked() {
        let workflow = r#"{"apiVersion": "argoproj.io/v1alpha1", "kind": "Workflow", "spec": {
            "podSpecPatch": "{\"containers\":[{\"name\":\"main\",\"image\":\"evil:1\"}]}",
            "templates": [{"name": "a", "podSpecPatch": "{\"containers\":[{\"name\":\"main\",\"resources\":{}}]}"}]}}"#;
        assert_eq!(
            unchecked(workflow),
            [("spec.podSpecPatch".to_string(), Some("an Argo podSpecPatch that sets an image"))]
        );
    }

    #[test]
    fn an_object_names_one_kind() {
        assert_eq!(read_object(br#"{"kind": "Pod", "kind": "Task"}"#).unwrap_err(), "the object has two kind fields");
        assert_eq!(
            read_object(br#"{"kind": 5}"#).unwrap_err(),
            "request.object.kind: expected a string, found the number 5"
        );
    }
}
