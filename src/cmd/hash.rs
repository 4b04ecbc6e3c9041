//! `passbridge hash …`: admin tools over the verifier library. `identify`
//! explains a stored value, `verify` checks one password (or a JSON Lines
//! batch of known credentials, on every core), `schemes` lists what is
//! supported. Nothing here prints a password, salt or digest.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::{self, IsTerminal, Read, Write};
use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use anyhow::{bail, Context};
use secrecy::SecretString;
use serde_json::{json, Map, Value};

use crate::hash::{
    detect, HashError, Hints, Limits, OktaHash, SaltOrder, Scheme, SchemeName, StoredHash, Verdict,
};

const IDENTIFY_AFTER: &str = "\
Examples:
  passbridge hash identify \\
    '$2b$12$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW'
  passbridge hash identify - < hashes.txt
  passbridge hash identify --scheme postgres_md5 --username alice md5…

Exit status: 0 when every value was recognised and well-formed, 1 otherwise.";

const VERIFY_AFTER: &str = "\
The password is read from standard input (one trailing newline removed) or,
on a terminal, from a prompt that does not echo.

Batch mode reads JSON Lines with the hash corpus fields: `hash`, `password`
and optional `id`, `scheme`, `salt`, `params` (other fields are ignored), and
writes one line per input line, in order:
  {\"id\":…,\"line\":N,\"verified\":true|false,\"scheme\":\"…\",\"error\":null|\"…\"}
--scheme, --salt, --username and --param act as defaults for records that
lack them. A summary goes to standard error.

Exit status: 0 match (every record matched), 1 mismatch, 2 error (malformed,
unsupported, cost over the limit, unreadable line).

Examples:
  printf %s \"$PW\" | passbridge hash verify --hash '$6$rounds=5000$…'
  passbridge hash verify --scheme hex_md5 \\
    --hash 5f4dcc3b5aa765d61d8327deb882cf99
  passbridge hash verify --hash 9c3e… --scheme salted_sha256 --salt c2FsdA== \\
      --param salt_encoding=base64 --param salt_position=suffix
  passbridge hash verify --batch known-credentials.jsonl > results.jsonl";

const AUDIT_AFTER: &str = "\
Exit status: 0 when every row holds a hash passbridge can verify, 1 when some
rows are malformed, unsupported or over a cost limit (listed under problems),
2 on errors (no database or query, the table cannot be read).

Examples:
  passbridge hash audit --legacy-url sqlite://users.db \\
    --query 'SELECT id, password_hash, salt FROM users'
  export PASSBRIDGE_IMPORT_QUERY=\\
    'SELECT email AS login, password_hash FROM users'
  passbridge hash audit --json";

/// `passbridge hash` subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum HashCommand {
    /// Identify a stored hash: scheme, parameters, whether it describes
    /// itself and whether Okta can import it natively.
    #[command(after_help = IDENTIFY_AFTER)]
    Identify {
        /// The stored value, or `-` to read one value per line from standard input.
        #[arg(value_name = "HASH|-", allow_hyphen_values = true)]
        hash: String,
        /// Scheme, salt and parameters for values that do not describe themselves.
        #[command(flatten)]
        hints: HintArgs,
        /// One JSON object per value instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Verify a password against a stored hash, or a JSON Lines batch.
    #[command(after_help = VERIFY_AFTER)]
    Verify {
        /// The stored value.
        #[arg(
            long,
            value_name = "HASH",
            allow_hyphen_values = true,
            required_unless_present = "batch",
            conflicts_with = "batch"
        )]
        hash: Option<String>,
        /// JSON Lines file of records to verify (`-` for standard input).
        #[arg(long, value_name = "FILE|-", allow_hyphen_values = true)]
        batch: Option<String>,
        /// Scheme, salt and parameters for values that do not describe themselves.
        #[command(flatten)]
        hints: HintArgs,
    },
    /// List every supported scheme.
    Schemes {
        /// A JSON array instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Read the whole legacy table (streamed) and report the schemes found, their
    /// parameters, how many users Okta could import natively, and the ids of rows
    /// that are malformed or unsupported. Reads only; needs no password.
    #[command(after_help = AUDIT_AFTER)]
    Audit(super::audit::AuditArgs),
}

/// What a value that does not describe itself needs.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct HintArgs {
    /// Scheme name or alias (see `passbridge hash schemes`).
    #[arg(long, value_name = "SCHEME")]
    pub scheme: Option<String>,
    /// Salt column value (its encoding goes in --param salt_encoding=utf8|hex|base64).
    #[arg(long, value_name = "SALT", allow_hyphen_values = true)]
    pub salt: Option<String>,
    /// Login, for schemes salted with it (PostgreSQL md5, Cisco PIX/ASA).
    #[arg(long, value_name = "LOGIN")]
    pub username: Option<String>,
    /// Extra parameter KEY=VALUE, repeatable: salt_position, salt_encoding,
    /// encoding, iterations, pepper, ... A value `env:NAME` is read from the
    /// environment variable NAME (use it for peppers and secrets).
    #[arg(long = "param", value_name = "KEY=VALUE", value_parser = parse_param)]
    pub params: Vec<(String, String)>,
}

fn parse_param(s: &str) -> Result<(String, String), String> {
    let (k, v) = s
        .split_once('=')
        .ok_or_else(|| "expected KEY=VALUE".to_owned())?;
    let k = k.trim();
    if k.is_empty() {
        return Err("empty KEY in KEY=VALUE".to_owned());
    }
    Ok((k.to_owned(), v.to_owned()))
}

impl HintArgs {
    /// The hints these flags describe (`env:NAME` values resolved).
    fn to_hints(&self) -> anyhow::Result<Hints> {
        let mut hints = Hints {
            salt: self.salt.clone(),
            username: self.username.clone(),
            params: BTreeMap::new(),
        };
        for (k, v) in &self.params {
            let value = match v.strip_prefix("env:") {
                Some(var) => std::env::var(var).with_context(|| {
                    format!("--param {k}: environment variable {var} is not set")
                })?,
                None => v.clone(),
            };
            if k == "username" && hints.username.is_none() {
                hints.username = Some(value.clone());
            }
            hints.params.insert(k.clone(), value);
        }
        Ok(hints)
    }
}

/// Runs a `hash` subcommand.
///
/// # Errors
/// I/O failures (unreadable batch file, closed standard output). Bad hashes
/// and mismatches are reported on the terminal and through the exit status.
pub fn run(cmd: HashCommand, limits: &Limits) -> anyhow::Result<ExitCode> {
    match cmd {
        HashCommand::Identify { hash, hints, json } => identify(&hash, &hints, json, limits),
        HashCommand::Verify {
            hash: Some(hash),
            hints,
            ..
        } => verify_one(&hash, &hints, limits),
        HashCommand::Verify {
            batch: Some(path),
            hints,
            ..
        } => verify_batch(&path, &hints, limits),
        HashCommand::Verify { .. } => bail!("give --hash HASH or --batch FILE"),
        HashCommand::Schemes { json } => schemes(json),
        // Audit needs the database and the runtime: `cmd::run` dispatches it.
        HashCommand::Audit(_) => bail!("hash audit is dispatched by cmd::run"),
    }
}

// ---------------------------------------------------------------- schemes

/// Whether Okta's user import can take a hash of `scheme` as it is:
/// `"yes"`, a condition, or `"no"` (the import hook verifies it instead).
pub fn okta_native_possible(scheme: Scheme) -> &'static str {
    use Scheme as S;
    match scheme {
        S::Bcrypt2a | S::Bcrypt2b | S::Bcrypt2y | S::DjangoBcrypt | S::SpringBcrypt => "yes",
        S::HexMd5 | S::HexSha1 | S::HexSha256 | S::HexSha512 => "yes",
        S::SaltedMd5 | S::SaltedSha1 | S::SaltedSha256 | S::SaltedSha512 => "yes",
        S::LdapMd5
        | S::LdapSaltedMd5
        | S::LdapSha1
        | S::LdapSaltedSha1
        | S::LdapSha256
        | S::LdapSaltedSha256
        | S::LdapSha512
        | S::LdapSaltedSha512 => "yes",
        S::DjangoSaltedMd5 | S::DjangoSaltedSha1 | S::DjangoUnsaltedMd5 | S::DjangoUnsaltedSha1 => {
            "yes"
        }
        S::PostgresMd5 => "yes",
        S::LdapCrypt => "if the inner hash is bcrypt",
        S::SpringMessageDigest => "if MD5/SHA-1/SHA-256 with one round",
        S::SpringPbkdf2 => "if HMAC-SHA256/512, no secret, >= 4096 iterations",
        S::PasslibPbkdf2Sha256
        | S::PasslibPbkdf2Sha512
        | S::DjangoPbkdf2Sha256
        | S::GrubPbkdf2Sha512
        | S::LdapPbkdf2Sha256
        | S::LdapPbkdf2Sha512 => "if >= 4096 iterations",
        S::Pbkdf2Raw | S::WerkzeugPbkdf2 => "if HMAC-SHA256/512, >= 4096 iterations",
        _ => "no",
    }
}

fn schemes(json: bool) -> anyhow::Result<ExitCode> {
    let mut out = io::stdout().lock();
    if json {
        let rows: Vec<Value> = Scheme::ALL
            .iter()
            .map(|s| {
                json!({
                    "scheme": s.as_str(),
                    "family": s.family(),
                    "self_describing": s.is_self_describing(),
                    "okta_native": okta_native_possible(*s),
                })
            })
            .collect();
        writeln!(out, "{}", Value::Array(rows))?;
    } else {
        writeln!(
            out,
            "{:<24} {:<18} {:<16} OKTA-NATIVE",
            "SCHEME", "FAMILY", "SELF-DESCRIBING"
        )?;
        for s in Scheme::ALL {
            writeln!(
                out,
                "{:<24} {:<18} {:<16} {}",
                s.as_str(),
                s.family(),
                if s.is_self_describing() { "yes" } else { "no" },
                okta_native_possible(*s)
            )?;
        }
        writeln!(out, "{} schemes", Scheme::ALL.len())?;
    }
    Ok(ExitCode::SUCCESS)
}

// ---------------------------------------------------------------- identify

/// What `identify` found for one value.
struct Identified {
    line: Option<usize>,
    outcome: Result<Found, NotFound>,
}

struct Found {
    scheme: Scheme,
    params: Vec<(&'static str, String)>,
    okta: Option<String>,
    /// What `passbridge import` does differently from "okta native".
    import_note: Option<&'static str>,
}

/// `import` keeps SHA-256 users on the hook by default (see
/// `--trust-okta-sha256`), although Okta accepts the algorithm.
const SHA256_IMPORT_NOTE: &str =
    "`passbridge import` sends SHA-256 users to the hook unless --trust-okta-sha256";

enum NotFound {
    /// Named its scheme (or was given one) but does not parse.
    Invalid {
        scheme: Option<Scheme>,
        error: String,
    },
    /// Names no scheme: what could fit, what needs data, why the rest do not.
    Unrecognised {
        prefix: String,
        fits: Vec<Scheme>,
        needs: Vec<(Scheme, String)>,
        rejected: Vec<(String, Vec<Scheme>)>,
    },
}

/// A description of Okta's native import object, without salt or value.
fn describe_okta(h: &OktaHash) -> String {
    match h {
        OktaHash::Bcrypt { work_factor, .. } => format!("BCRYPT, work factor {work_factor}"),
        OktaHash::Digest {
            algorithm,
            salt,
            salt_order,
            ..
        } => match salt {
            None => format!("{}, unsalted", algorithm.algorithm()),
            Some(s) => format!(
                "{}, {}-byte salt {}",
                algorithm.algorithm(),
                s.len(),
                if *salt_order == SaltOrder::Prefix {
                    "PREFIX"
                } else {
                    "POSTFIX"
                }
            ),
        },
        OktaHash::Pbkdf2 {
            digest, iterations, ..
        } => format!(
            "PBKDF2 {}, {iterations} iterations",
            match digest {
                crate::hash::OktaPbkdf2Digest::Sha256 => "SHA256_HMAC",
                crate::hash::OktaPbkdf2Digest::Sha512 => "SHA512_HMAC",
            }
        ),
    }
}

fn found(h: &StoredHash) -> Found {
    let native = h.okta_native();
    Found {
        scheme: h.scheme(),
        params: h.params(),
        okta: native.as_ref().map(describe_okta),
        import_note: matches!(
            native,
            Some(OktaHash::Digest {
                algorithm: crate::hash::OktaDigest::Sha256,
                ..
            })
        )
        .then_some(SHA256_IMPORT_NOTE),
    }
}

fn identify_one(
    value: &str,
    hints: &Hints,
    scheme: Option<&str>,
    limits: &Limits,
) -> Result<Found, NotFound> {
    if scheme.is_some() || detect(value).is_some() {
        return StoredHash::parse_with(scheme, value, hints, limits)
            .map(|h| found(&h))
            .map_err(|e| NotFound::Invalid {
                scheme: scheme
                    .and_then(|n| match SchemeName::parse(n) {
                        Ok(SchemeName::Exact(s)) => Some(s),
                        _ => None,
                    })
                    .or_else(|| detect(value)),
                error: e.to_string(),
            });
    }
    // Nothing names the scheme: try every scheme that does not describe itself.
    let mut fits = Vec::new();
    let mut needs = Vec::new();
    // Some parsers ask for their hints before looking at the value; only
    // offer "needs more data" for values that are at least hex or Base64.
    let encoded = !value.is_empty()
        && value.bytes().all(|b| {
            b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'=' | b'-' | b'_' | b'.')
        });
    let mut rejected: BTreeMap<String, Vec<Scheme>> = BTreeMap::new();
    for &s in Scheme::ALL.iter().filter(|s| !s.is_self_describing()) {
        match StoredHash::parse_as(s, value, hints, limits) {
            Ok(_) => fits.push(s),
            Err(HashError::MissingHint { what, .. }) if encoded => needs.push((s, what.to_owned())),
            Err(HashError::MissingHint { what, .. }) => rejected
                .entry(format!(
                    "needs {what}, and the value is neither hex nor Base64"
                ))
                .or_default()
                .push(s),
            Err(HashError::Malformed { reason, .. }) => rejected.entry(reason).or_default().push(s),
            Err(e) => rejected.entry(e.to_string()).or_default().push(s),
        }
    }
    Err(NotFound::Unrecognised {
        prefix: crate::hash::safe_prefix(value),
        fits,
        needs,
        rejected: rejected.into_iter().collect(),
    })
}

fn names(schemes: &[Scheme]) -> String {
    schemes
        .iter()
        .map(|s| s.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

fn identified_text(id: &Identified) -> String {
    let mut t = String::new();
    if let Some(line) = id.line {
        let _ = writeln!(t, "line {line}:");
    }
    match &id.outcome {
        Ok(f) => {
            let _ = writeln!(t, "  scheme:          {}", f.scheme);
            let _ = writeln!(t, "  family:          {}", f.scheme.family());
            let _ = writeln!(
                t,
                "  self-describing: {}",
                if f.scheme.is_self_describing() {
                    "yes"
                } else {
                    "no (keep the scheme in config or the scheme column)"
                }
            );
            let _ = writeln!(
                t,
                "  okta native:     {}",
                f.okta.as_deref().map_or_else(
                    || "no (verified by the import hook)".to_owned(),
                    |o| format!("yes ({o})")
                )
            );
            if let Some(note) = f.import_note {
                let _ = writeln!(t, "  import:          {note}");
            }
            let params: Vec<String> = f.params.iter().map(|(k, v)| format!("{k}={v}")).collect();
            let _ = writeln!(
                t,
                "  parameters:      {}",
                if params.is_empty() {
                    "-".to_owned()
                } else {
                    params.join(", ")
                }
            );
        }
        Err(NotFound::Invalid { scheme, error }) => {
            let _ = writeln!(
                t,
                "  scheme:          {}",
                scheme.map_or("unknown", |s| s.as_str())
            );
            let _ = writeln!(t, "  error:           {error}");
        }
        Err(NotFound::Unrecognised {
            prefix,
            fits,
            needs,
            rejected,
        }) => {
            let _ = writeln!(t, "  scheme:          unrecognised (starts with {prefix:?}); it does not describe itself");
            if !fits.is_empty() {
                let _ = writeln!(t, "  layout fits:     {} (pass --scheme)", names(fits));
            }
            for (s, what) in needs {
                let _ = writeln!(t, "  could be:        {s} with {what}");
            }
            if fits.is_empty() && needs.is_empty() {
                let _ = writeln!(
                    t,
                    "  no scheme fits; closest candidates and why they failed:"
                );
                for (reason, schemes) in rejected {
                    let _ = writeln!(t, "    {reason}: {}", names(schemes));
                }
            }
        }
    }
    t
}

fn identified_json(id: &Identified) -> Value {
    let mut m = Map::new();
    m.insert("line".into(), id.line.map_or(Value::Null, Value::from));
    match &id.outcome {
        Ok(f) => {
            m.insert("scheme".into(), f.scheme.as_str().into());
            m.insert("family".into(), f.scheme.family().into());
            m.insert(
                "self_describing".into(),
                f.scheme.is_self_describing().into(),
            );
            m.insert(
                "okta_native".into(),
                f.okta.clone().map_or(Value::Null, Value::from),
            );
            let params: Map<String, Value> = f
                .params
                .iter()
                .map(|(k, v)| ((*k).to_owned(), Value::from(v.clone())))
                .collect();
            m.insert("params".into(), Value::Object(params));
            m.insert("error".into(), Value::Null);
        }
        Err(NotFound::Invalid { scheme, error }) => {
            m.insert(
                "scheme".into(),
                scheme.map_or(Value::Null, |s| s.as_str().into()),
            );
            m.insert("error".into(), error.clone().into());
        }
        Err(NotFound::Unrecognised {
            fits,
            needs,
            rejected,
            ..
        }) => {
            m.insert("scheme".into(), Value::Null);
            m.insert(
                "error".into(),
                "unrecognised: the value does not describe its scheme".into(),
            );
            m.insert(
                "candidates".into(),
                fits.iter().map(|s| s.as_str()).collect::<Vec<_>>().into(),
            );
            m.insert(
                "needs".into(),
                Value::Array(
                    needs
                        .iter()
                        .map(|(s, what)| json!({"scheme": s.as_str(), "needs": what}))
                        .collect(),
                ),
            );
            m.insert(
                "rejected".into(),
                Value::Array(
                    rejected
                        .iter()
                        .map(|(reason, s)| {
                            json!({"reason": reason, "schemes": s.iter().map(|x| x.as_str()).collect::<Vec<_>>()})
                        })
                        .collect(),
                ),
            );
        }
    }
    Value::Object(m)
}

fn identify(value: &str, args: &HintArgs, json: bool, limits: &Limits) -> anyhow::Result<ExitCode> {
    let hints = args.to_hints()?;
    let scheme = args.scheme.as_deref();
    let results: Vec<Identified> = if value == "-" {
        let mut input = String::new();
        io::stdin()
            .read_to_string(&mut input)
            .context("reading hashes from standard input")?;
        input
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty())
            .map(|(i, l)| Identified {
                line: Some(i + 1),
                outcome: identify_one(l.trim(), &hints, scheme, limits),
            })
            .collect()
    } else {
        vec![Identified {
            line: None,
            outcome: identify_one(value.trim(), &hints, scheme, limits),
        }]
    };
    let mut out = io::stdout().lock();
    for r in &results {
        if json {
            writeln!(out, "{}", identified_json(r))?;
        } else {
            write!(out, "{}", identified_text(r))?;
        }
    }
    Ok(if results.iter().all(|r| r.outcome.is_ok()) {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

// ---------------------------------------------------------------- verify

/// Reads the password: a no-echo prompt on a terminal, else standard input
/// with one trailing newline removed.
fn read_password() -> anyhow::Result<SecretString> {
    if io::stdin().is_terminal() {
        let pw = rpassword::prompt_password("Password: ").context("reading the password")?;
        return Ok(SecretString::from(pw));
    }
    let mut buf = String::new();
    io::stdin()
        .read_to_string(&mut buf)
        .context("reading the password from standard input (must be UTF-8)")?;
    if buf.ends_with('\n') {
        buf.pop();
        if buf.ends_with('\r') {
            buf.pop();
        }
    }
    Ok(SecretString::from(buf))
}

fn verify_one(value: &str, args: &HintArgs, limits: &Limits) -> anyhow::Result<ExitCode> {
    let hints = args.to_hints()?;
    let stored = match StoredHash::parse_with(args.scheme.as_deref(), value, &hints, limits) {
        Ok(h) => h,
        Err(e) => {
            eprintln!("error: {e}");
            return Ok(ExitCode::from(2));
        }
    };
    let password = read_password()?;
    match stored.verify(&password, limits) {
        Ok(Verdict::Match) => {
            writeln!(io::stdout(), "match (scheme {})", stored.scheme())?;
            Ok(ExitCode::SUCCESS)
        }
        Ok(Verdict::Mismatch) => {
            writeln!(io::stdout(), "mismatch (scheme {})", stored.scheme())?;
            Ok(ExitCode::from(1))
        }
        Err(e) => {
            eprintln!("error: {e} (scheme {})", stored.scheme());
            Ok(ExitCode::from(2))
        }
    }
}

/// How one batch line ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Match,
    Mismatch,
    Error,
    Unreadable,
}

/// One batch result: its output line and tallies.
struct BatchResult {
    json: String,
    outcome: Outcome,
    /// `Some(agreed)` when the record carried a `valid` flag.
    expected: Option<bool>,
}

fn batch_line(
    id: &Value,
    line: usize,
    verified: bool,
    scheme: Option<&str>,
    error: Option<&str>,
) -> String {
    format!(
        "{{\"id\":{},\"line\":{line},\"verified\":{verified},\"scheme\":{},\"error\":{}}}",
        id,
        scheme.map_or(Value::Null, Value::from),
        error.map_or(Value::Null, Value::from),
    )
}

/// A `params` value as the string `Hints` carries; `null` means absent.
fn param_string(v: &Value) -> Option<String> {
    match v {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        other => Some(other.to_string()),
    }
}

/// Verifies one JSON Lines record. Error texts never include the password.
fn batch_record(
    raw: &[u8],
    line: usize,
    defaults: &Hints,
    default_scheme: Option<&str>,
    limits: &Limits,
) -> BatchResult {
    let unreadable = |why: &str| BatchResult {
        json: batch_line(&Value::Null, line, false, None, Some(why)),
        outcome: Outcome::Unreadable,
        expected: None,
    };
    let Ok(text) = std::str::from_utf8(raw) else {
        return unreadable("line is not valid UTF-8");
    };
    // serde_json's syntax errors carry positions, not content.
    let record: Value = match serde_json::from_str(text) {
        Ok(v) => v,
        Err(e) => return unreadable(&format!("invalid JSON: {e}")),
    };
    let Some(obj) = record.as_object() else {
        return unreadable("a line must be a JSON object");
    };
    let id = obj.get("id").cloned().unwrap_or(Value::Null);
    let fail = |why: String, scheme: Option<&str>| BatchResult {
        json: batch_line(&id, line, false, scheme, Some(&why)),
        outcome: Outcome::Error,
        expected: None,
    };
    let Some(hash) = obj.get("hash").and_then(Value::as_str) else {
        return fail("field `hash` must be a string".to_owned(), None);
    };
    let Some(password) = obj.get("password").and_then(Value::as_str) else {
        return fail("field `password` must be a string".to_owned(), None);
    };
    let scheme = match obj.get("scheme") {
        None | Some(Value::Null) => default_scheme,
        Some(Value::String(s)) => Some(s.as_str()),
        Some(_) => return fail("field `scheme` must be a string".to_owned(), None),
    };
    let mut hints = defaults.clone();
    match obj.get("salt") {
        None | Some(Value::Null) => {}
        Some(Value::String(s)) => hints.salt = Some(s.clone()),
        Some(_) => return fail("field `salt` must be a string".to_owned(), scheme),
    }
    match obj.get("params") {
        None | Some(Value::Null) => {}
        Some(Value::Object(params)) => {
            for (k, v) in params {
                if let Some(s) = param_string(v) {
                    if k == "username" {
                        hints.username = Some(s.clone());
                    }
                    hints.params.insert(k.clone(), s);
                }
            }
        }
        Some(_) => return fail("field `params` must be an object".to_owned(), scheme),
    }
    let valid = obj.get("valid").and_then(Value::as_bool);
    let stored = match StoredHash::parse_with(scheme, hash, &hints, limits) {
        Ok(h) => h,
        Err(e) => {
            let named = scheme
                .map(str::to_owned)
                .or_else(|| detect(hash).map(|s| s.as_str().to_owned()));
            return BatchResult {
                expected: None,
                ..fail(e.to_string(), named.as_deref())
            };
        }
    };
    let used = stored.scheme().as_str();
    let password = SecretString::from(password.to_owned());
    match stored.verify(&password, limits) {
        Ok(v) => {
            let ok = v == Verdict::Match;
            BatchResult {
                json: batch_line(&id, line, ok, Some(used), None),
                outcome: if ok {
                    Outcome::Match
                } else {
                    Outcome::Mismatch
                },
                expected: valid.map(|want| want == ok),
            }
        }
        Err(e) => fail(e.to_string(), Some(used)),
    }
}

fn verify_batch(path: &str, args: &HintArgs, limits: &Limits) -> anyhow::Result<ExitCode> {
    let started = Instant::now();
    let defaults = args.to_hints()?;
    let data = if path == "-" {
        let mut buf = Vec::new();
        io::stdin()
            .read_to_end(&mut buf)
            .context("reading the batch from standard input")?;
        buf
    } else {
        std::fs::read(path).with_context(|| format!("reading the batch file {path}"))?
    };
    let lines: Vec<(usize, &[u8])> = data
        .split(|&b| b == b'\n')
        .enumerate()
        .map(|(i, l)| (i + 1, l.strip_suffix(b"\r").unwrap_or(l)))
        .filter(|(_, l)| !l.iter().all(u8::is_ascii_whitespace))
        .collect();

    // Workers take the next line index; results go back in input order.
    let next = AtomicUsize::new(0);
    let workers = std::thread::available_parallelism()
        .map_or(1, std::num::NonZeroUsize::get)
        .min(lines.len().max(1));
    let mut results: Vec<(usize, BatchResult)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..workers)
            .map(|_| {
                s.spawn(|| {
                    let mut done = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some((line, raw)) = lines.get(i) else {
                            break;
                        };
                        done.push((
                            i,
                            batch_record(raw, *line, &defaults, args.scheme.as_deref(), limits),
                        ));
                    }
                    done
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap_or_default())
            .collect()
    });
    if results.len() != lines.len() {
        bail!("a batch worker stopped early; results are incomplete");
    }
    results.sort_by_key(|(i, _)| *i);

    let mut out = io::BufWriter::new(io::stdout().lock());
    let mut tally = [0usize; 4];
    let (mut agreed, mut flagged) = (0usize, 0usize);
    for (_, r) in &results {
        writeln!(out, "{}", r.json)?;
        tally[r.outcome as usize] += 1;
        if let Some(a) = r.expected {
            flagged += 1;
            agreed += usize::from(a);
        }
    }
    out.flush()?;
    let [matched, mismatched, errors, unreadable] = tally;
    let mut summary = format!(
        "hash verify --batch: {} records: {matched} match, {mismatched} mismatch, {} errors ({unreadable} unreadable lines) in {:.1}s on {workers} threads",
        results.len(),
        errors + unreadable,
        started.elapsed().as_secs_f64()
    );
    if flagged > 0 {
        let _ = write!(
            summary,
            "; {agreed}/{flagged} agree with their `valid` flag"
        );
    }
    eprintln!("{summary}");
    Ok(if errors + unreadable > 0 {
        ExitCode::from(2)
    } else if mismatched > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    fn record(line: &str) -> BatchResult {
        batch_record(
            line.as_bytes(),
            7,
            &Hints::default(),
            None,
            &Limits::default(),
        )
    }

    fn json(r: &BatchResult) -> Value {
        serde_json::from_str(&r.json).unwrap()
    }

    #[test]
    fn batch_record_match_mismatch_and_errors() {
        // MD5 of "password" (RFC 1321 function) as a bare hex digest.
        let ok = record(
            r#"{"id":"a","hash":"5f4dcc3b5aa765d61d8327deb882cf99","password":"password","scheme":"hex_md5","valid":true}"#,
        );
        assert_eq!(ok.outcome, Outcome::Match);
        assert_eq!(ok.expected, Some(true));
        let v = json(&ok);
        assert_eq!(v["id"], "a");
        assert_eq!(v["line"], 7);
        assert_eq!(v["verified"], true);
        assert_eq!(v["scheme"], "hex_md5");
        assert_eq!(v["error"], Value::Null);

        let no = record(
            r#"{"id":2,"hash":"5f4dcc3b5aa765d61d8327deb882cf99","password":"Password","scheme":"hex_md5","valid":true}"#,
        );
        assert_eq!(no.outcome, Outcome::Mismatch);
        assert_eq!(no.expected, Some(false));
        assert_eq!(json(&no)["id"], 2);

        let bad = record(r#"{"id":"c","hash":"5f4dcc3b","password":"hunter2","scheme":"hex_md5"}"#);
        assert_eq!(bad.outcome, Outcome::Error);
        let v = json(&bad);
        assert_eq!(v["verified"], false);
        assert!(v["error"].as_str().unwrap().contains("hex_md5"));
        assert!(!bad.json.contains("hunter2"));

        let typed = record(r#"{"id":"d","hash":"x","password":12345678}"#);
        assert_eq!(typed.outcome, Outcome::Error);
        assert!(!typed.json.contains("12345678"));

        let garbage = record(r#"{"id":"e","hash": "#);
        assert_eq!(garbage.outcome, Outcome::Unreadable);
        assert!(json(&garbage)["error"]
            .as_str()
            .unwrap()
            .starts_with("invalid JSON"));
    }

    #[test]
    fn identify_lists_candidates_for_bare_digests() {
        let l = Limits::default();
        match identify_one(
            "5f4dcc3b5aa765d61d8327deb882cf99",
            &Hints::default(),
            None,
            &l,
        ) {
            Err(NotFound::Unrecognised { fits, needs, .. }) => {
                assert!(fits.contains(&Scheme::HexMd5));
                assert!(fits.contains(&Scheme::Nthash));
                assert!(needs.iter().any(|(s, _)| *s == Scheme::SaltedMd5));
            }
            _ => panic!("expected unrecognised"),
        }
        let found = identify_one(
            "{SSHA}igvD9lOiTXm16dmOw0YWRb9OjK2ThZvdQku2EQ==",
            &Hints::default(),
            None,
            &l,
        )
        .ok()
        .unwrap();
        assert_eq!(found.scheme, Scheme::LdapSaltedSha1);
        assert_eq!(found.okta.as_deref(), Some("SHA-1, 8-byte salt POSTFIX"));
        let text = identified_text(&Identified {
            line: None,
            outcome: Ok(found),
        });
        assert!(!text.contains("igvD9l"), "{text}");
    }

    #[test]
    fn okta_native_table_matches_parsed_hashes() {
        // Spot checks against what the parsers report.
        let l = Limits::default();
        for (stored, scheme) in [
            (
                "$2b$04$D1ZFU7vAiyphfDfoSlll6ueamh0RPwcZsRguHYGnUquOOPQPVMb0G",
                Scheme::Bcrypt2b,
            ),
            (
                "{SSHA}igvD9lOiTXm16dmOw0YWRb9OjK2ThZvdQku2EQ==",
                Scheme::LdapSaltedSha1,
            ),
        ] {
            let h = StoredHash::parse_as(scheme, stored, &Hints::default(), &l).unwrap();
            assert!(h.okta_native().is_some());
            assert_eq!(okta_native_possible(scheme), "yes");
        }
        assert_eq!(okta_native_possible(Scheme::Argon2id), "no");
    }

    #[test]
    fn params_parse_and_env_values() {
        assert_eq!(
            parse_param("a=b=c").unwrap(),
            ("a".to_owned(), "b=c".to_owned())
        );
        assert!(parse_param("novalue").is_err());
        assert!(parse_param("=x").is_err());
        let args = HintArgs {
            params: vec![(
                "pepper".into(),
                "env:PASSBRIDGE_TEST_SURELY_UNSET_VAR".into(),
            )],
            ..HintArgs::default()
        };
        assert!(args.to_hints().is_err());
    }
}
