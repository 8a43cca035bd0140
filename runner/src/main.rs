//! `registry-guard`: check Kubernetes manifests against registry-guard's
//! policy.wasm offline. See `registry-guard help`.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use registry_guard_runner::bench::{self, BenchConfig};
use registry_guard_runner::capabilities::{self, Host};
use registry_guard_runner::check::{self, check};
use registry_guard_runner::host::{PolicyInstance, PolicyModule};
use registry_guard_runner::{default_policy_path, import, manifests, report};
use serde_json::Value;

const USAGE: &str = "\
registry-guard: check Kubernetes manifests against the registry-guard policy, offline

Usage:
  registry-guard check [--policy PATH] [--settings FILE] [--digests FILE] [--sigstore FILE] [--image-configs FILE]
                       [--reports FILE]... [--now TIME] [--format text|json|github|junit] [--quiet]
                       [--show-mutation] [--show-host-calls] [--record-host-calls FILE] INPUT...
  registry-guard settings [--policy PATH] FILE
  registry-guard import [--partial] [--as-policy NAME] FILE...
  registry-guard bench [--policy PATH] [--baseline PATH] [--accept-all PATH] [--fixtures DIR] [--iterations N] [--evaluations N]
  registry-guard bench --compile-profile MODULE
  registry-guard help (or COMMAND --help, COMMAND -h)

INPUT is a manifest file (YAML or JSON, several documents allowed, List kinds
unpacked), a folder of them, or - for standard input. An AdmissionReview or
AdmissionRequest (what `kwctl run --request-path` takes) is evaluated as it
is and answered with the AdmissionResponse, as kwctl prints it.

Options:
  --policy PATH     the policy module (default: $REGISTRY_GUARD_POLICY, else ./policy.wasm)
  --settings FILE   policy settings, YAML or JSON (default: {}, which allows everything)
  --format FORMAT   text (one line per object, the default), json, github (GitHub Actions
                    annotations on the line of each offending field) or junit (JUnit XML,
                    one test case per object); --output is the same option
  --quiet           text: only denials, mutations and warnings
                    A closing summary (12 objects: 9 ok, 2 denied, 1 mutated, 3 warnings)
                    goes to stderr for every format but json.
  --digests FILE    answer the policy's manifest digest lookups (digests.pin) from
                    this YAML file of `image: digest` or `image: {error: message}`;
                    images not in it are answered: manifest unknown
  --sigstore FILE   answer the policy's signature verifications (signatures) from this
                    YAML file of `image: {digest, signatures: [{pubKey|keyless|certificate,
                    annotations}]}` or `image: {error: message}`; images not in it
                    are answered: no signatures found
  --image-configs FILE
                    answer the policy's image config lookups (imageConfig) from this
                    YAML file of `image: {digest, created|age, user, labels}` or
                    `image: {error: message}`; `age: 30d` means built 30 days before
                    now (the runner's clock, or --now); images not in it are
                    answered: manifest unknown
  --reports FILE    answer the policy's cluster lookups (vulnerabilities) from this
                    YAML file, such as `kubectl get vulnerabilityreports -A -o yaml`
                    writes (trivy-operator's or sbomscanner's reports; sbomscanner's
                    ScanJobs too, for scan times); repeat it for several files
  --now TIME        the policy's clock (an RFC 3339 time, such as 2026-12-01T00:00:00Z)
                    for every time rule (imageConfig.maxAge, vulnerabilities.maxAge
                    and exceptions' expires), so that checks are deterministic
  --show-mutation   print the JSON patch of every object the policy mutated
  --show-host-calls print every host capability call and its answer
  --record-host-calls FILE
                    write the host calls as a kwctl session file, for
                    `kwctl run --replay-host-capabilities-interactions FILE`
  --baseline PATH   bench: the baseline policy (default: what `make bench` builds)
  --accept-all PATH bench: the accept-all policy (default: what `make bench` builds)
  --fixtures DIR    bench: the fixtures (default: benches/fixtures)
  --iterations N    bench: timed validate calls per fixture (default 5000)
  --evaluations N   bench: evaluations in the memory check (default 100000)
  --compile-profile MODULE
                    bench: instead, what Cranelift spends on each function of MODULE
                    (named when MODULE keeps its name section: make compile-profile)

import reads Kyverno ClusterPolicy/Policy (validate.pattern image globs,
verifyImages), Gatekeeper constraints (K8sAllowedRepos, K8sDisallowedRepos,
K8sDisallowedTags, K8sImageDigests, exemptImages), OpenShift image configs
(allowedRegistriesForImport, registrySources), Kubewarden trusted-repos or
verify-image-signatures settings and the ClusterAdmissionPolicy,
AdmissionPolicy and policy group resources that run them (a List too),
and Sigstore policy-controller ClusterImagePolicies, and prints
registry-guard settings, each rule commented with its source. It never
widens what the source allows: what cannot be translated exactly is
written more strictly (a NOTE says so) or listed on stderr.
  --partial         import: exit 0 even when something could not be translated
  --as-policy NAME  import: print a whole ClusterAdmissionPolicy NAME, in the mode the
                    sources' rules had (mode: monitor for Audit, dryrun or warn rules),
                    not only its settings

Exit status:
  check:    0 all allowed, 1 something denied, 2 usage, settings or input error
  settings: 0 valid, 1 invalid, 2 usage or input error
  import:   0 all translated (or --partial), 1 something not translated, 2 usage or input error
  bench:    0 every target met, 1 a target missed, 2 usage or input error";

/// A failure that ends the command with exit status 2.
struct Fatal(String);

impl<E: std::fmt::Display> From<E> for Fatal {
    fn from(e: E) -> Self {
        Fatal(e.to_string())
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(code) => ExitCode::from(code),
        Err(Fatal(message)) => {
            eprintln!("registry-guard: {message}");
            ExitCode::from(2)
        }
    }
}

#[derive(Default)]
struct Options {
    policy: Option<PathBuf>,
    settings: Option<String>,
    digests: Option<String>,
    sigstore: Option<String>,
    image_configs: Option<String>,
    reports: Vec<String>,
    now: Option<String>,
    help: bool,
    show_mutation: bool,
    show_host_calls: bool,
    record_host_calls: Option<PathBuf>,
    format: Format,
    quiet: bool,
    partial: bool,
    as_policy: Option<String>,
    baseline: Option<PathBuf>,
    accept_all: Option<PathBuf>,
    fixtures: Option<PathBuf>,
    iterations: Option<usize>,
    evaluations: Option<usize>,
    compile_profile: Option<PathBuf>,
    inputs: Vec<String>,
}

fn parse_options(args: &[String]) -> Result<Options, Fatal> {
    let mut options = Options::default();
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        let mut value =
            |name: &str| args.next().cloned().ok_or_else(|| Fatal(format!("{name} needs a value\n\n{USAGE}")));
        match arg.as_str() {
            "--policy" => options.policy = Some(PathBuf::from(value("--policy")?)),
            "--settings" => options.settings = Some(value("--settings")?),
            "--digests" => options.digests = Some(value("--digests")?),
            "--sigstore" => options.sigstore = Some(value("--sigstore")?),
            "--image-configs" => options.image_configs = Some(value("--image-configs")?),
            "--reports" => options.reports.push(value("--reports")?),
            "--now" => options.now = Some(value("--now")?),
            "--help" | "-h" => options.help = true,
            "--record-host-calls" => options.record_host_calls = Some(PathBuf::from(value("--record-host-calls")?)),
            "--show-mutation" => options.show_mutation = true,
            "--show-host-calls" => options.show_host_calls = true,
            "--baseline" => options.baseline = Some(PathBuf::from(value("--baseline")?)),
            "--accept-all" => options.accept_all = Some(PathBuf::from(value("--accept-all")?)),
            "--fixtures" => options.fixtures = Some(PathBuf::from(value("--fixtures")?)),
            "--iterations" => options.iterations = Some(number("--iterations", &value("--iterations")?)?),
            "--evaluations" => options.evaluations = Some(number("--evaluations", &value("--evaluations")?)?),
            "--compile-profile" => options.compile_profile = Some(PathBuf::from(value("--compile-profile")?)),
            "--quiet" => options.quiet = true,
            "--partial" => options.partial = true,
            "--as-policy" => options.as_policy = Some(value("--as-policy")?),
            flag @ ("--output" | "--format") => match value(flag)?.as_str() {
                "text" => options.format = Format::Text,
                "json" => options.format = Format::Json,
                "github" => options.format = Format::Github,
                "junit" => options.format = Format::Junit,
                other => return Err(Fatal(format!("{flag} must be text, json, github or junit, not {other:?}"))),
            },
            "-" => options.inputs.push(arg.clone()),
            flag if flag.starts_with('-') => return Err(Fatal(format!("unknown option {flag}\n\n{USAGE}"))),
            _ => options.inputs.push(arg.clone()),
        }
    }
    Ok(options)
}

fn number(flag: &str, text: &str) -> Result<usize, Fatal> {
    text.parse().ok().filter(|n| *n > 0).ok_or_else(|| Fatal(format!("{flag} needs a positive number, not {text:?}")))
}

fn run(args: &[String]) -> Result<u8, Fatal> {
    let (command, rest) = args.split_first().ok_or_else(|| Fatal(format!("no command\n\n{USAGE}")))?;
    match command.as_str() {
        "help" | "--help" | "-h" => {
            println!("{USAGE}");
            Ok(0)
        }
        "check" | "settings" | "import" | "bench" if parse_options(rest)?.help => {
            println!("{USAGE}");
            Ok(0)
        }
        "check" => run_check(parse_options(rest)?),
        "settings" => run_settings(parse_options(rest)?),
        "import" => run_import(parse_options(rest)?),
        "bench" => run_bench(parse_options(rest)?),
        other => Err(Fatal(format!("unknown command {other:?}\n\n{USAGE}"))),
    }
}

fn instance(options: &Options) -> Result<PolicyInstance, Fatal> {
    // Before the fake registry's files are read: their `age`s count from it.
    let now = match &options.now {
        None => None,
        Some(now) => {
            let seconds = registry_guard::rules::image_config::unix_seconds(now)
                .ok_or_else(|| Fatal(format!("--now {now:?} is not an RFC 3339 time (2026-12-01T00:00:00Z)")))?;
            registry_guard_runner::clock::set(seconds);
            Some(seconds)
        }
    };
    let read = |file: &str| std::fs::read_to_string(file).map_err(|e| Fatal(format!("{file}: cannot read: {e}")));
    let mut host = match &options.digests {
        Some(file) => Host::with_digests(file, &read(file)?)?,
        None => Host::default(),
    };
    if let Some(file) = &options.image_configs {
        host = host.with_image_configs(file, &read(file)?)?;
    }
    if let Some(file) = &options.sigstore {
        host = host.with_sigstore(file, &read(file)?)?;
    }
    for file in &options.reports {
        host = host.with_reports(file, &read(file)?)?;
    }
    let path = options.policy.clone().unwrap_or_else(default_policy_path);
    if !path.exists() {
        return Err(Fatal(format!(
            "{} not found: build it with `make policy.wasm`, or pass --policy PATH",
            path.display()
        )));
    }
    let module = match now {
        None => PolicyModule::load(&path)?,
        Some(seconds) => PolicyModule::load_at(&path, seconds)?,
    };
    Ok(module.instantiate_with(Arc::new(host))?)
}

/// `import`: other engines' image policies as registry-guard settings.
fn run_import(options: Options) -> Result<u8, Fatal> {
    if options.inputs.is_empty() {
        return Err(Fatal(format!("import needs at least one FILE (or - for stdin)\n\n{USAGE}")));
    }
    let documents = manifests::read_inputs(&options.inputs)?;
    let imported = import::Imported::read_with(&documents, &import::Options { as_policy: options.as_policy.clone() });
    // Every entry was checked by the policy's own settings validation: what
    // it refuses is listed below, never printed.
    match &options.as_policy {
        Some(name) => print!("{}", imported.policy_yaml(name)),
        None => print!("{}", imported.yaml()),
    }
    if imported.untranslatable.is_empty() {
        return Ok(0);
    }
    eprintln!("registry-guard import: not translated:");
    for item in &imported.untranslatable {
        eprintln!("  - {item}");
    }
    Ok(if options.partial { 0 } else { 1 })
}

fn run_settings(options: Options) -> Result<u8, Fatal> {
    let [file] = options.inputs.as_slice() else {
        return Err(Fatal(format!("settings takes one settings file\n\n{USAGE}")));
    };
    let settings = manifests::read_settings(file)?;
    let verdict = instance(&options)?.validate_settings(&settings);
    if verdict.valid {
        println!("{file}: valid");
        Ok(0)
    } else {
        println!("{file}: invalid: {}", verdict.message.unwrap_or_default());
        Ok(1)
    }
}

fn run_check(options: Options) -> Result<u8, Fatal> {
    if options.inputs.is_empty() {
        return Err(Fatal(format!("check needs at least one INPUT (a file, a folder, or - for stdin)\n\n{USAGE}")));
    }
    let settings = match &options.settings {
        Some(file) => manifests::read_settings(file)?,
        None => Value::Object(Default::default()),
    };
    let documents = manifests::read_inputs(&options.inputs)?;
    let instance = instance(&options)?;
    let verdict = instance.validate_settings(&settings);
    if !verdict.valid {
        let file = options.settings.as_deref().unwrap_or("{}");
        return Err(Fatal(format!("{file}: invalid settings: {}", verdict.message.unwrap_or_default())));
    }
    let verdicts = check(&instance, &settings, documents)?;
    if let Some(file) = &options.record_host_calls {
        let calls: Vec<_> = verdicts.iter().flat_map(|v| v.host_calls.iter().cloned()).collect();
        let session = capabilities::kwctl_session(&calls)?;
        std::fs::write(file, session).map_err(|e| Fatal(format!("{}: cannot write: {e}", file.display())))?;
    }
    match options.format {
        Format::Json => println!("{}", serde_json::to_string_pretty(&verdicts)?),
        Format::Github => {
            for line in report::github(&verdicts) {
                println!("{line}");
            }
        }
        Format::Junit => println!("{}", report::junit(&verdicts)),
        Format::Text => print_text(&options, &verdicts)?,
    }
    if options.format != Format::Json {
        // On stderr: stdout stays what the format says (one AdmissionResponse
        // for a request, annotations, XML).
        eprintln!("{}", report::summary(&verdicts));
    }
    Ok(if verdicts.iter().all(|v| v.allowed) { 0 } else { 1 })
}

/// The text format: one line per object, then its warnings, host calls and
/// patch as asked; with `--quiet`, only denials, mutations and warnings.
fn print_text(options: &Options, verdicts: &[check::Verdict]) -> Result<(), Fatal> {
    {
        for verdict in verdicts {
            if options.quiet && verdict.allowed && verdict.patch.is_none() && verdict.warnings.is_empty() {
                continue;
            }
            match &verdict.admission_response {
                Some(response) => println!("{}", serde_json::to_string_pretty(response)?),
                None => println!("{}", verdict.line()),
            }
            // An AdmissionResponse carries its warnings already.
            if verdict.admission_response.is_none() {
                for warning in &verdict.warnings {
                    println!("     warning: {warning}");
                }
            }
            if options.show_host_calls {
                for call in &verdict.host_calls {
                    println!("     host: {}", capabilities::describe(call));
                }
            }
            if options.show_mutation
                && let Some(patch) = &verdict.patch
            {
                for op in patch {
                    println!("     patch: {}", serde_json::to_string(op)?);
                }
            }
        }
    }
    Ok(())
}

/// `--format`.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
enum Format {
    #[default]
    Text,
    Json,
    Github,
    Junit,
}

fn run_bench(options: Options) -> Result<u8, Fatal> {
    if !options.inputs.is_empty() {
        return Err(Fatal(format!("bench takes no inputs\n\n{USAGE}")));
    }
    if let Some(module) = &options.compile_profile {
        let bytes = std::fs::read(module).map_err(|e| Fatal(format!("{}: {e}", module.display())))?;
        registry_guard_runner::compile_profile::run(&bytes, 25, &mut std::io::stdout()).map_err(Fatal)?;
        return Ok(0);
    }
    let target_dir = std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| PathBuf::from("target"), PathBuf::from);
    let config = BenchConfig {
        policy: options.policy.unwrap_or_else(default_policy_path),
        baseline: options.baseline.unwrap_or_else(|| target_dir.join("baseline-policy.wasm")),
        accept_all: options.accept_all.unwrap_or_else(|| target_dir.join("accept-all-policy.wasm")),
        fixtures: options.fixtures.unwrap_or_else(|| PathBuf::from("benches/fixtures")),
        iterations: options.iterations.unwrap_or(5_000),
        evaluations: options.evaluations.unwrap_or(100_000),
        json_speed: target_dir.join("json-speed.wasm"),
    };
    let all_met = bench::run(&config, &mut std::io::stdout())?;
    Ok(if all_met { 0 } else { 1 })
}
