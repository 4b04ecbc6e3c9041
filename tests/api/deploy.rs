//! `deploy/k8s/` against the Kubernetes schemas (an external validator, the
//! command in `PASSBRIDGE_TEST_K8S_VALIDATE`) and against what no schema
//! knows: every variable the manifests set is one passbridge reads, the
//! probes hit routes of the admin listener, the ports are the config
//! defaults, the pods run as the Dockerfile's user with only the spool
//! writable, and no secret value is written down.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use passbridge::config::{self, Settings, Sources};
use passbridge::db::DbKind;
use serde_json::Value;
use yaml_rust2::{Yaml, YamlLoader};

use crate::helpers::spawn_app;

const KUSTOMIZATION: &str = "kustomization.yaml";
/// The one Secret every secret value comes from (docs/operations.md § Secrets).
const SECRET_NAME: &str = "passbridge-secrets";

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Every file under `deploy/k8s/`, sorted.
fn files() -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut todo = vec![root().join("deploy/k8s")];
    while let Some(dir) = todo.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                todo.push(path);
            } else {
                out.push(path);
            }
        }
    }
    out.sort();
    assert!(out.len() > 1, "deploy/k8s/ holds manifests");
    out
}

/// The manifests: every file but the kustomization.
fn manifest_files() -> Vec<PathBuf> {
    files()
        .into_iter()
        .filter(|p| !p.ends_with(KUSTOMIZATION))
        .collect()
}

fn name_of(path: &Path) -> String {
    path.file_name().unwrap().to_string_lossy().into_owned()
}

/// YAML as JSON (manifests are JSON-shaped: string keys, no aliases).
fn to_json(yaml: &Yaml) -> Value {
    match yaml {
        Yaml::Null => Value::Null,
        Yaml::Boolean(b) => Value::Bool(*b),
        Yaml::Integer(i) => Value::from(*i),
        Yaml::Real(r) => Value::from(r.parse::<f64>().unwrap()),
        Yaml::String(s) => Value::String(s.clone()),
        Yaml::Array(items) => Value::Array(items.iter().map(to_json).collect()),
        Yaml::Hash(map) => Value::Object(
            map.iter()
                .map(|(k, v)| {
                    let key = k.as_str().unwrap_or_else(|| panic!("non-string key {k:?}"));
                    (key.to_owned(), to_json(v))
                })
                .collect(),
        ),
        other => panic!("unsupported YAML node {other:?}"),
    }
}

fn parse(path: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(path).unwrap();
    YamlLoader::load_from_str(&text)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .iter()
        .map(to_json)
        .collect()
}

/// Every object of every manifest, with the file it is in.
fn objects() -> Vec<(String, Value)> {
    manifest_files()
        .iter()
        .flat_map(|p| parse(p).into_iter().map(|v| (name_of(p), v)))
        .collect()
}

fn kind(object: &Value) -> &str {
    object["kind"].as_str().unwrap_or_default()
}

fn the_one<'a>(objects: &'a [(String, Value)], wanted: &str, name: &str) -> &'a Value {
    let found: Vec<&Value> = objects
        .iter()
        .map(|(_, o)| o)
        .filter(|o| kind(o) == wanted && o["metadata"]["name"] == name)
        .collect();
    assert_eq!(found.len(), 1, "one {wanted} named {name}");
    found[0]
}

/// The pod templates (Deployment, Job, …): `(object name, pod spec)`.
fn pod_specs(objects: &[(String, Value)]) -> Vec<(String, &Value)> {
    let specs: Vec<(String, &Value)> = objects
        .iter()
        .filter(|(_, o)| o["spec"]["template"]["spec"].is_object())
        .map(|(_, o)| {
            let name = format!("{}/{}", kind(o), o["metadata"]["name"].as_str().unwrap());
            (name, &o["spec"]["template"]["spec"])
        })
        .collect();
    assert!(specs.len() >= 2, "the serve Deployment and the import Job");
    specs
}

fn containers(pod: &Value) -> Vec<&Value> {
    ["initContainers", "containers"]
        .iter()
        .filter_map(|k| pod[*k].as_array())
        .flatten()
        .collect()
}

/// One container's environment: literal values (its own `value`s and the
/// data of the ConfigMaps it takes with `envFrom`) and secret references
/// (variable → `(secret, key)`).
#[derive(Default)]
struct Env {
    literal: BTreeMap<String, String>,
    from_secret: BTreeMap<String, (String, String)>,
    other: Vec<String>,
}

fn env_of(objects: &[(String, Value)], container: &Value) -> Env {
    let mut env = Env::default();
    for source in container["envFrom"].as_array().into_iter().flatten() {
        let map = source["configMapRef"]["name"]
            .as_str()
            .unwrap_or_else(|| panic!("envFrom only from ConfigMaps: {source}"));
        let data = the_one(objects, "ConfigMap", map)["data"]
            .as_object()
            .unwrap();
        for (k, v) in data {
            env.literal
                .insert(k.clone(), v.as_str().unwrap().to_owned());
        }
    }
    for var in container["env"].as_array().into_iter().flatten() {
        let name = var["name"].as_str().unwrap().to_owned();
        if let Some(value) = var.get("value") {
            env.literal.insert(name, value.as_str().unwrap().to_owned());
        } else if let Some(r) = var["valueFrom"].get("secretKeyRef") {
            let secret = r["name"].as_str().unwrap().to_owned();
            env.from_secret
                .insert(name, (secret, r["key"].as_str().unwrap().to_owned()));
        } else {
            env.other.push(name);
        }
    }
    env
}

/// The serve Deployment's one container.
fn serve_container(objects: &[(String, Value)]) -> &Value {
    let deployment = the_one(objects, "Deployment", "passbridge");
    let list = deployment["spec"]["template"]["spec"]["containers"]
        .as_array()
        .unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["args"][0], "serve");
    &list[0]
}

/// The settings `serve` would run with: defaults plus the manifests' literal
/// variables (secrets stay unset).
fn serve_settings(objects: &[(String, Value)]) -> Settings {
    let env = env_of(objects, serve_container(objects));
    let pairs: Vec<(String, String)> = env.literal.into_iter().collect();
    let mut settings = Settings::default();
    let mut sources = Sources::default();
    config::apply_env(&mut settings, &pairs, &mut sources).unwrap();
    settings
}

/// A container port's number, by name.
fn port(container: &Value, name: &str) -> i64 {
    container["ports"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == name)
        .unwrap_or_else(|| panic!("no container port named {name}"))["containerPort"]
        .as_i64()
        .unwrap()
}

fn dockerfile() -> String {
    std::fs::read_to_string(root().join("Dockerfile")).unwrap()
}

/// The number after `flag` on the Dockerfile line that has it.
fn dockerfile_number(flag: &str) -> i64 {
    let text = dockerfile();
    let rest = &text[text.find(flag).unwrap_or_else(|| panic!("{flag}")) + flag.len()..];
    let digits: String = rest
        .trim_start()
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().unwrap()
}

#[test]
#[cfg_attr(
    not(passbridge_test_k8s_validate),
    ignore = "skipped: set PASSBRIDGE_TEST_K8S_VALIDATE to a Kubernetes schema validator, e.g. \"python3 -m kubernetes_validate --strict --quiet\" (pip install kubernetes-validate)"
)]
fn manifests_pass_the_kubernetes_schemas() {
    // Arrange: the validator takes file names, exits non-zero on an invalid
    // one and prints nothing for valid ones (a warning, such as a kind it
    // has no schema for, means a file went unchecked: it fails too).
    let command = std::env::var("PASSBRIDGE_TEST_K8S_VALIDATE")
        .expect("PASSBRIDGE_TEST_K8S_VALIDATE (the build saw it; run with it set)");
    let words = shlex::split(&command).expect("PASSBRIDGE_TEST_K8S_VALIDATE: a shell command");
    let run = |files: &[PathBuf]| {
        std::process::Command::new(&words[0])
            .args(&words[1..])
            .args(files)
            .output()
            .unwrap_or_else(|e| panic!("cannot run {command}: {e}"))
    };
    let dir = tempfile::tempdir().unwrap();
    let broken = dir.path().join("service.yaml");
    let service = std::fs::read_to_string(root().join("deploy/k8s/service.yaml")).unwrap();
    std::fs::write(&broken, service.replace("port: 8080", "port: eighty")).unwrap();

    // Act
    let out = run(&manifest_files());
    let refused = run(&[broken]);

    // Assert
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{command} failed:\n{said}");
    assert!(said.trim().is_empty(), "{command} warned:\n{said}");
    assert!(
        !refused.status.success(),
        "{command} accepted a Service whose port is a word: it validates nothing"
    );
}

#[test]
fn the_kustomization_lists_every_manifest_and_the_dockerfile_image() {
    // Arrange
    let kustomization = parse(&root().join("deploy/k8s").join(KUSTOMIZATION)).remove(0);
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let built = readme
        .split("docker build -t ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .expect("the README shows `docker build -t NAME .`");

    // Act
    let listed: BTreeSet<String> = kustomization["resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_str().unwrap().to_owned())
        .collect();
    let present: BTreeSet<String> = manifest_files().iter().map(|p| name_of(p)).collect();
    let objects = objects();
    let images: BTreeSet<&str> = pod_specs(&objects)
        .iter()
        .flat_map(|(_, pod)| containers(pod))
        .map(|c| c["image"].as_str().unwrap())
        .collect();

    // Assert
    assert_eq!(listed, present, "kustomization.yaml resources vs files");
    assert_eq!(images, BTreeSet::from([built]), "every pod runs the image");
    assert_eq!(kustomization["images"][0]["name"], built);
    assert_eq!(
        kustomization["images"][0]["newTag"],
        env!("CARGO_PKG_VERSION"),
        "the image tag is the release's version"
    );
    assert!(dockerfile().contains("ENTRYPOINT [\"passbridge\"]"));
}

#[test]
fn every_variable_the_manifests_set_is_one_passbridge_reads() {
    // Arrange
    let known: BTreeSet<&str> = config::known_env_vars().collect();
    let objects = objects();
    let mut set = BTreeSet::new();
    let mut literals = Vec::new();

    // Act: the containers' variables and every ConfigMap's keys.
    for (_, pod) in pod_specs(&objects) {
        for container in containers(pod) {
            let env = env_of(&objects, container);
            assert!(env.other.is_empty(), "unexpected sources: {:?}", env.other);
            set.extend(env.from_secret.into_keys());
            set.extend(env.literal.keys().cloned());
            literals.extend(env.literal);
        }
    }
    for (_, map) in objects.iter().filter(|(_, o)| kind(o) == "ConfigMap") {
        set.extend(map["data"].as_object().unwrap().keys().cloned());
    }
    let mut settings = Settings::default();
    let mut sources = Sources::default();
    let applied = config::apply_env(&mut settings, &literals, &mut sources);

    // Assert
    let unread: Vec<&String> = set.iter().filter(|v| !known.contains(v.as_str())).collect();
    assert!(unread.is_empty(), "passbridge reads none of {unread:?}");
    applied.unwrap_or_else(|e| panic!("a manifest value passbridge refuses: {e}"));
    assert!(sources.unknown_env.is_empty(), "{:?}", sources.unknown_env);
    assert!(set.contains("PASSBRIDGE_HOOK_SECRET") && set.contains("OKTA_API_TOKEN"));
}

#[tokio::test]
async fn the_probes_hit_routes_of_the_admin_listener() {
    // Arrange
    let objects = objects();
    let container = serve_container(&objects);
    let admin = port(container, "admin");
    let app = spawn_app(DbKind::Sqlite).await.unwrap();
    let probes: Vec<(&str, &Value)> = ["startupProbe", "livenessProbe", "readinessProbe"]
        .iter()
        .map(|p| (*p, &container[*p]["httpGet"]))
        .collect();

    for (probe, get) in &probes {
        let path = get["path"]
            .as_str()
            .unwrap_or_else(|| panic!("{probe}: httpGet"));
        // Act
        let on_admin = app
            .client
            .get(format!("{}{path}", app.admin_address))
            .send()
            .await
            .unwrap();
        // Assert: the probe's port is the admin listener's, and it answers.
        let port = match &get["port"] {
            Value::String(name) => port(container, name),
            other => other.as_i64().unwrap(),
        };
        assert_eq!(port, admin, "{probe} probes the admin port");
        assert_eq!(
            on_admin.status(),
            200,
            "{probe}: GET {path} on the admin listener"
        );
    }
    let path_of = |probe: &str| probes.iter().find(|(p, _)| *p == probe).unwrap().1["path"].clone();
    assert_eq!(path_of("readinessProbe"), "/readyz");
    assert_eq!(path_of("livenessProbe"), "/healthz");
    let on_hook = app
        .client
        .get(format!("{}/readyz", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(
        on_hook.status(),
        404,
        "readiness is the admin listener's only"
    );
    app.shutdown().await.unwrap();
}

#[test]
fn ports_are_the_config_defaults_and_only_the_hook_port_is_a_service() {
    // Arrange
    let objects = objects();
    let container = serve_container(&objects);
    let defaults = Settings::default();
    let settings = serve_settings(&objects);

    // Act
    let hook = port(container, "hook");
    let admin = port(container, "admin");
    let service_ports: Vec<&Value> = objects
        .iter()
        .filter(|(_, o)| kind(o) == "Service")
        .flat_map(|(_, o)| o["spec"]["ports"].as_array().unwrap())
        .collect();
    let policy = the_one(&objects, "NetworkPolicy", "passbridge");
    let admin_rules: Vec<&Value> = policy["spec"]["ingress"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| {
            r["ports"]
                .as_array()
                .unwrap()
                .iter()
                .any(|p| p["port"] == "admin" || p["port"] == admin)
        })
        .collect();

    // Assert
    assert_eq!(hook, i64::from(defaults.listen.port()));
    assert_eq!(admin, i64::from(defaults.admin_listen.port()));
    assert_eq!(i64::from(settings.listen.port()), hook);
    assert_eq!(i64::from(settings.admin_listen.port()), admin);
    assert!(settings.listen.ip().is_unspecified() && settings.admin_listen.ip().is_unspecified());
    assert_eq!(dockerfile_number("EXPOSE"), hook);
    assert_eq!(service_ports.len(), 1, "one Service port: the hook's");
    assert_eq!(service_ports[0]["targetPort"], "hook");
    assert_eq!(service_ports[0]["port"], hook);
    assert_eq!(admin_rules.len(), 1);
    assert_eq!(
        admin_rules[0]["from"],
        serde_json::json!([{ "namespaceSelector": { "matchLabels": { "kubernetes.io/metadata.name": "monitoring" } } }]),
        "the admin port is open to the monitoring namespace only"
    );
}

#[test]
fn pods_run_as_the_dockerfile_user_with_only_the_spool_writable() {
    // Arrange
    let objects = objects();
    let uid = dockerfile_number("--uid");
    let spool = serve_settings(&objects).spool_dir();

    for (name, pod) in pod_specs(&objects) {
        let security = &pod["securityContext"];
        // Assert: the pod.
        assert_eq!(security["runAsUser"], uid, "{name}: the image's user");
        assert_eq!(security["runAsNonRoot"], true, "{name}");
        assert_eq!(
            security["seccompProfile"]["type"], "RuntimeDefault",
            "{name}"
        );
        assert_eq!(pod["automountServiceAccountToken"], false, "{name}");
        for container in containers(pod) {
            let c = &container["securityContext"];
            assert_eq!(c["allowPrivilegeEscalation"], false, "{name}");
            assert_eq!(c["readOnlyRootFilesystem"], true, "{name}");
            assert_eq!(
                c["capabilities"]["drop"],
                serde_json::json!(["ALL"]),
                "{name}"
            );
            assert!(c["capabilities"].get("add").is_none(), "{name}");
            for resource in ["cpu", "memory"] {
                assert!(
                    container["resources"]["requests"][resource].is_string(),
                    "{name}: requests.{resource}"
                );
                assert!(
                    container["resources"]["limits"][resource].is_string(),
                    "{name}: limits.{resource}"
                );
            }
        }
    }
    // Assert: serve's spool is on an emptyDir, the only mount it writes.
    let deployment = the_one(&objects, "Deployment", "passbridge");
    let volumes = deployment["spec"]["template"]["spec"]["volumes"]
        .as_array()
        .unwrap();
    let mounts = serve_container(&objects)["volumeMounts"]
        .as_array()
        .unwrap();
    let holding: Vec<&Value> = mounts
        .iter()
        .filter(|m| spool.starts_with(m["mountPath"].as_str().unwrap()))
        .collect();
    assert_eq!(holding.len(), 1, "{} is on one mount", spool.display());
    let volume = volumes
        .iter()
        .find(|v| v["name"] == holding[0]["name"])
        .unwrap();
    assert!(volume["emptyDir"].is_object(), "the spool is an emptyDir");
    assert!(
        spool.is_absolute(),
        "ledger.spool_dir does not depend on the working directory"
    );
}

/// Whether a variable's value is a credential: by its name, or a URL that
/// carries a password (a database URL).
fn holds_a_secret(name: &str, value: &str) -> bool {
    ["SECRET", "TOKEN", "PASSWORD"]
        .iter()
        .any(|w| name.contains(w))
        || url::Url::parse(value).is_ok_and(|u| u.password().is_some())
}

#[test]
fn no_secret_value_is_written_in_a_manifest() {
    // Arrange
    let objects = objects();
    let operations = std::fs::read_to_string(root().join("docs/operations.md")).unwrap();
    let mut literals = Vec::new();
    let mut references = BTreeMap::new();

    // Act
    for (_, pod) in pod_specs(&objects) {
        for container in containers(pod) {
            let env = env_of(&objects, container);
            literals.extend(env.literal);
            references.extend(env.from_secret);
        }
    }

    // Assert: no Secret object (values are created out of band), no literal
    // credential, and every credential variable from the one Secret.
    let secrets: Vec<&String> = objects
        .iter()
        .filter(|(_, o)| kind(o) == "Secret")
        .map(|(file, _)| file)
        .collect();
    assert!(secrets.is_empty(), "Secret objects in {secrets:?}");
    let written: Vec<&String> = literals
        .iter()
        .filter(|(k, v)| holds_a_secret(k, v))
        .map(|(k, _)| k)
        .collect();
    assert!(
        written.is_empty(),
        "secret values written in a manifest: {written:?}"
    );
    for var in [
        "PASSBRIDGE_HOOK_SECRET",
        "OKTA_API_TOKEN",
        "PASSBRIDGE_LEGACY_URL",
        "PASSBRIDGE_LEDGER_URL",
    ] {
        let (secret, key) = references
            .get(var)
            .unwrap_or_else(|| panic!("{var} comes from a secretKeyRef"));
        assert_eq!(secret, SECRET_NAME, "{var}");
        assert!(
            operations.contains(&format!("--from-file={key}=")),
            "docs/operations.md shows how to create the {key} key"
        );
    }
}
