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
    /// Where `request.oldObject` stands, when it is a mapping: skipped in
    /// this pass, walked only when an UPDATE's lookups need it
    /// (`lookupsOnUpdate`).
    pub old_object: Option<Range<usize>>,
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

/// Walks one object alone (an UPDATE's `oldObject`, a slice of the
/// payload that `read` has checked): its images, by field.
pub fn read_object(bytes: &[u8]) -> Result<Vec<Found<'_>>, String> {
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
                self.payload.settings = Some(Document::read_settings(&mut self.parser).map_err(|e| e.to_string())?);
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
            Role::Request if key.is("oldObject") => {
                if self.payload.old_object.is_some() {
                    return Err("the request has two oldObject fields".into());
                }
                let start = self.parser.value_start();
                let object = self.bytes.get(start) == Some(&b'{');
                self.skip()?;
                if object {
                    self.payload.old_object = Some(start..self.parser.position());
                }
                Ok((Role::Any, false))
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
#[path = "discovery_tests.rs"]
mod tests;
