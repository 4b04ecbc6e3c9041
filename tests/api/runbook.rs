//! The README's command lines, run as written: the "Trying the whole flow
//! without an Okta org" block and every `passbridge …` line of the migration
//! runbook, through the real binary against the stand-in Okta.
//!
//! Each block is taken from the README at test time and run by `bash -e`
//! with the binary first on `PATH`. The only rewrites are mechanical, and
//! listed in [`localise`]: free ports instead of 8080/8089, the local hook
//! URL instead of the example host, and values for the `<placeholders>` the
//! README asks the reader to fill in. So a README command that stops
//! working fails this test. The detailed runbook
//! (`docs/migration-runbook.md`) is held to the same: its import lines run
//! as dry runs against its own query, every other command line parses.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The README's text.
fn readme() -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap()
}

/// The text of the section that starts with `heading` (up to the next
/// heading of the same or a higher level).
fn section<'a>(readme: &'a str, heading: &str) -> &'a str {
    let start = readme
        .find(&format!("\n{heading}\n"))
        .unwrap_or_else(|| panic!("README has no section {heading:?}"));
    let level = heading.split(' ').next().unwrap_or("##");
    let rest = &readme[start + 1 + heading.len()..];
    let end = rest
        .match_indices("\n#")
        .find(|(i, _)| {
            let line = &rest[i + 1..];
            let hashes = line.bytes().take_while(|b| *b == b'#').count();
            hashes <= level.len() && line[hashes..].starts_with(' ')
        })
        .map_or(rest.len(), |(i, _)| i);
    &rest[..end]
}

/// The ```sh blocks of `text`, in order, with their lines de-indented.
fn sh_blocks(text: &str) -> Vec<Vec<String>> {
    let mut blocks = Vec::new();
    let mut current: Option<(usize, Vec<String>)> = None;
    for line in text.lines() {
        let trimmed = line.trim_start();
        let indent = line.len() - trimmed.len();
        match (&mut current, trimmed) {
            (None, "```sh") => current = Some((indent, Vec::new())),
            (Some(_), "```") => {
                if let Some((_, lines)) = current.take() {
                    blocks.push(lines);
                }
            }
            (Some((indent, lines)), _) => {
                lines.push(line.get(*indent..).unwrap_or(trimmed).to_owned());
            }
            _ => {}
        }
    }
    blocks
}

/// A port nobody listens on right now.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The mechanical rewrites from the README's example values to this test's.
struct Local {
    okta_port: u16,
    hook_port: u16,
}

impl Local {
    fn new() -> Self {
        Self {
            okta_port: free_port(),
            hook_port: free_port(),
        }
    }

    /// One README line as this test runs it.
    fn localise(&self, line: &str) -> String {
        let okta = format!("127.0.0.1:{}", self.okta_port);
        let hook = format!("127.0.0.1:{}", self.hook_port);
        let mut line = line
            .replace("127.0.0.1:8089", &okta)
            .replace("0.0.0.0:8080", &hook)
            .replace("127.0.0.1:8080", &hook)
            .replace(
                "https://passbridge.example.com/hooks/password-import",
                &format!("http://{hook}/hooks/password-import"),
            )
            // What the reader copies from serve's banner.
            .replace(
                "<printed secret>",
                "\"$(awk '/Generated hook secret/{getline; print $1}' serve.log)\"",
            )
            .replace(
                "<id>",
                "\"$(passbridge hook list --json | jq -r '.[0].id')\"",
            )
            // The users were imported seconds ago: every hook user who has
            // not signed in is a straggler here.
            .replace("--older-than 60d", "--older-than 0d");
        // The stand-in's and the demo's default ports are the README's; give
        // them this test's free ones.
        if line.starts_with("passbridge dev okta") {
            line = line.replacen(
                "passbridge dev okta",
                &format!("passbridge dev okta --listen {okta}"),
                1,
            );
        }
        // `hook test` asks for a test user's login and password: type them.
        if line.starts_with("passbridge hook test ") {
            line = format!("printf 'alice@example.com\\npassword123\\n' | {line}");
        }
        if line.starts_with("passbridge serve --demo") {
            line = line.replacen(
                "passbridge serve --demo",
                &format!("passbridge serve --demo --listen {hook}"),
                1,
            );
        }
        // Tests run side by side: no fixed admin port (the README's default).
        if line.starts_with("passbridge serve") {
            line = line.replacen(
                "passbridge serve",
                "passbridge serve --admin-listen 127.0.0.1:0",
                1,
            );
        }
        line
    }
}

/// A bash script that runs `blocks` line by line: background lines (`… &`)
/// have their output kept in `okta.log` / `serve.log` and are waited for on their port;
/// every other line must succeed.
fn script(local: &Local, blocks: &[Vec<String>]) -> String {
    let mut s = String::from(
        "set -euo pipefail\n\
         trap 'kill $(jobs -p) 2>/dev/null || true' EXIT\n\
         wait_port() { for _ in $(seq 1 600); do (echo > /dev/tcp/127.0.0.1/$1) 2>/dev/null && return 0; sleep 0.1; done; echo \"port $1 never opened\" >&2; exit 1; }\n",
    );
    for block in blocks {
        let mut joined = String::new();
        for raw in block {
            // Shell continuation lines belong to the previous command.
            joined.push_str(raw);
            if raw.ends_with('\\') {
                joined.push('\n');
                continue;
            }
            let line = local.localise(&std::mem::take(&mut joined));
            let command = line.split(" #").next().unwrap_or(&line).trim_end();
            if command.is_empty() || command.starts_with('#') {
                continue;
            }
            s.push_str(&format!(
                "echo '+ {}' >&2\n",
                command.replace('\'', "'\\''")
            ));
            if let Some(fg) = command.strip_suffix('&') {
                let (log, port) = if command.contains("dev okta") {
                    ("okta.log", local.okta_port)
                } else {
                    ("serve.log", local.hook_port)
                };
                s.push_str(&format!("{} > {log} 2>&1 &\n", fg.trim_end()));
                s.push_str(&format!("wait_port {port}\n"));
            } else {
                s.push_str(command);
                s.push('\n');
            }
        }
    }
    s
}

/// Runs `script` in `dir` with the binary first on `PATH` and `env` set, on
/// a blocking thread (the script may talk to servers this test's runtime runs).
async fn run(
    dir: &Path,
    script: String,
    env: Vec<(&'static str, String)>,
) -> (bool, String, String) {
    let dir = dir.to_owned();
    tokio::task::spawn_blocking(move || run_blocking(&dir, &script, &env))
        .await
        .unwrap()
}

fn run_blocking(dir: &Path, script: &str, env: &[(&str, String)]) -> (bool, String, String) {
    let bin = PathBuf::from(env!("CARGO_BIN_EXE_passbridge"));
    let path = format!(
        "{}:{}",
        bin.parent().unwrap().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut command = Command::new("bash");
    command
        .arg("-c")
        .arg(script)
        .current_dir(dir)
        .env_clear()
        .env("PATH", path)
        .env("HOME", dir)
        .env("PASSBRIDGE_LOG", "warn")
        .stdin(Stdio::null());
    for (k, v) in env {
        command.env(k, v);
    }
    let out = command.output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test]
async fn readme_local_flow_runs_as_written() {
    // Arrange: the README block, as a script.
    let readme = readme();
    let blocks = sh_blocks(section(
        &readme,
        "### Trying the whole flow without an Okta org",
    ));
    assert_eq!(blocks.len(), 1, "one sh block in the local flow");
    let local = Local::new();
    let dir = tempfile::tempdir().unwrap();
    let script = script(&local, &blocks);
    // Act
    let (ok, stdout, stderr) = run(dir.path(), script, Vec::new()).await;
    // Assert: every line succeeded and the last one, the sign-in through the
    // stand-in, reached the hook and was let in.
    assert!(ok, "stdout:\n{stdout}\nstderr:\n{stderr}");
    // The audit reads the demo's settings (salt position and all) from the
    // file serve --demo wrote, so it finds every demo user well-formed.
    assert!(stdout.contains("rows: 7"), "{stdout}");
    assert!(!stdout.contains("problems"), "{stdout}");
    let last_line = stdout.lines().last().unwrap_or_default();
    let signin: serde_json::Value = serde_json::from_str(last_line)
        .unwrap_or_else(|e| panic!("sign-in answer {last_line:?}: {e}\n{stdout}\n{stderr}"));
    assert_eq!(signin["status"], "SUCCESS", "{signin}");
    assert!(
        dir.path().join("demo.jsonl").exists(),
        "the import wrote its report"
    );
    let ledger = std::fs::read(dir.path().join("passbridge-demo/passbridge-ledger.db")).unwrap();
    assert!(!ledger.is_empty());
}

/// The legacy table the runbook's queries read: the README's own columns.
async fn runbook_legacy_db(dir: &Path) -> String {
    let url = format!("sqlite://{}?mode=rwc", dir.join("legacy.db").display());
    let db_url: passbridge::db::DatabaseUrl = url.parse().unwrap();
    let pool = passbridge::db::connect(&db_url, passbridge::db::PoolSettings::default())
        .await
        .unwrap();
    sqlx::query(
        "CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT NOT NULL, first_name TEXT, \
         last_name TEXT, password_hash TEXT NOT NULL, salt TEXT, active BOOLEAN NOT NULL)",
    )
    .execute(&pool)
    .await
    .unwrap();
    let rows = [
        // Hook users (phpass, md5-crypt, sha512-crypt: Okta takes none of them)
        // and one inactive row the import query leaves out.
        (
            "alice@example.com",
            "$P$69hgsDGKpcrMnG0HhOszZ6GQQ6UjMv.",
            None::<&str>,
            true,
        ),
        (
            "bob@it.example.com",
            "$1$.Z9ppi93$ZrHAoLsYYImZVt0up895p1",
            None,
            true,
        ),
        (
            "carol@example.com",
            "$6$NBWvSvRrKnjjcXmu$y6Hut.UoTFStisAiKTt0mpwanMiktL3R..iMLI6WdY453DZte29bIzl/eQWtEv.Ors2ZlJx6m3rQ0pOTNs9ol1",
            None,
            true,
        ),
        ("old@example.com", "$P$69hgsDGKpcrMnG0HhOszZ6GQQ6UjMv.", None, false),
    ];
    for (email, hash, salt, active) in rows {
        sqlx::query(
            "INSERT INTO users (email, first_name, last_name, password_hash, salt, active) \
             VALUES (?, 'First', 'Last', ?, ?, ?)",
        )
        .bind(email)
        .bind(hash)
        .bind(salt)
        .bind(active)
        .execute(&pool)
        .await
        .unwrap();
    }
    pool.close().await;
    url.replace("?mode=rwc", "")
}

#[tokio::test]
async fn readme_migration_runbook_runs_as_written() {
    // Arrange: the runbook's sh blocks; its first block sets the connection,
    // which this test replaces with local values for the same variables.
    let readme = readme();
    let runbook = section(&readme, "## Migration runbook");
    // Its subsection (the local flow) has its own test.
    let steps = runbook.split("\n### ").next().unwrap_or(runbook);
    let mut blocks = sh_blocks(steps);
    let settings = blocks.remove(0);
    let exported: Vec<&str> = settings
        .iter()
        .filter_map(|l| l.strip_prefix("export "))
        .filter_map(|l| l.split('=').next())
        .collect();
    assert_eq!(
        exported,
        [
            "PASSBRIDGE_LEGACY_URL",
            "PASSBRIDGE_IMPORT_QUERY",
            "PASSBRIDGE_LEGACY_QUERY",
            "PASSBRIDGE_LEDGER_URL",
            "OKTA_ORG_URL",
            "OKTA_API_TOKEN"
        ],
        "the runbook's settings block changed: update this test's values"
    );
    let value_of = |name: &str| -> String {
        let line = settings
            .iter()
            .find(|l| l.starts_with(&format!("export {name}=")))
            .unwrap();
        let raw = line
            .trim_start_matches(&format!("export {name}="))
            .split("  #")
            .next()
            .unwrap()
            .trim();
        // The README quotes for the shell; this test passes values directly.
        let out = Command::new("bash")
            .arg("-c")
            .arg(format!("printf %s {raw}"))
            .output()
            .unwrap();
        String::from_utf8(out.stdout).unwrap()
    };
    let dir = tempfile::tempdir().unwrap();
    let legacy_url = runbook_legacy_db(dir.path()).await;
    let local = Local::new();
    // `hash verify --batch known.jsonl` gets a file of known credentials.
    std::fs::write(
        dir.path().join("known.jsonl"),
        "{\"hash\":\"$1$.Z9ppi93$ZrHAoLsYYImZVt0up895p1\",\"password\":\"password123\"}\n",
    )
    .unwrap();
    // The stand-in plays the org, as in the README's local flow.
    let mut all = vec![vec!["passbridge dev okta --token dev-token &".to_owned()]];
    all.extend(blocks.iter().map(|b| {
        b.iter()
            .map(|l| l.replace("'<hash>'", "'$1$.Z9ppi93$ZrHAoLsYYImZVt0up895p1'"))
            .collect()
    }));
    let script = script(&local, &all);
    let env = [
        ("PASSBRIDGE_LEGACY_URL", legacy_url),
        (
            "PASSBRIDGE_IMPORT_QUERY",
            value_of("PASSBRIDGE_IMPORT_QUERY"),
        ),
        (
            "PASSBRIDGE_LEGACY_QUERY",
            value_of("PASSBRIDGE_LEGACY_QUERY"),
        ),
        (
            "PASSBRIDGE_LEDGER_URL",
            format!("sqlite://{}", dir.path().join("ledger.db").display()),
        ),
        (
            "OKTA_ORG_URL",
            format!("http://127.0.0.1:{}", local.okta_port),
        ),
        ("OKTA_API_TOKEN", "dev-token".to_owned()),
    ];
    // Act
    let (ok, stdout, stderr) = run(dir.path(), script, env.to_vec()).await;
    // Assert: every command succeeded, the cohort and the full import wrote
    // their reports, and the hook answered the test call.
    assert!(ok, "stdout:\n{stdout}\nstderr:\n{stderr}");
    for report in ["cohort.jsonl", "it.jsonl", "import.jsonl"] {
        assert!(
            dir.path().join(report).exists(),
            "{report} missing\n{stdout}\n{stderr}"
        );
    }
    // alice's legacy password, typed into `hook test`, went Okta → hook → VERIFIED.
    assert!(
        stdout.contains("Verdict for alice@example.com: VERIFIED"),
        "hook test printed the hook's answer\n{stdout}"
    );
    // The end: the three hook users (a `hook test` sign-in does not count)
    // were listed, emailed once each, and the hook retired.
    let listed: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("stragglers.json")).unwrap())
            .unwrap();
    assert_eq!(listed["count"], 3, "{listed}");
    assert!(
        stdout.contains("would send Okta's reset-password email to 3 users"),
        "{stdout}"
    );
    assert!(stdout.contains("3 emails sent"), "{stdout}");
    assert!(
        stdout.contains("Deleted the password-import hook"),
        "{stdout}"
    );
}

/// The detailed runbook's text.
fn detailed_runbook() -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/migration-runbook.md"))
        .unwrap()
}

#[tokio::test]
async fn detailed_runbook_imports_run_as_dry_runs_against_its_own_query() {
    // Arrange: a legacy table with the columns the detailed runbook's import
    // query reads, and its sh blocks: the `export` lines as written (the
    // legacy URL then pointed at that table), every `passbridge import` line
    // as a dry run (nothing reaches Okta).
    let text = detailed_runbook();
    let dir = tempfile::tempdir().unwrap();
    let url = format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("legacy.db").display()
    );
    let pool = passbridge::db::connect(
        &url.parse::<passbridge::db::DatabaseUrl>().unwrap(),
        passbridge::db::PoolSettings::default(),
    )
    .await
    .unwrap();
    sqlx::query(
        "CREATE TABLE users (email TEXT NOT NULL, first_name TEXT, last_name TEXT, \
         pw TEXT NOT NULL, pw_salt TEXT, active BOOLEAN NOT NULL)",
    )
    .execute(&pool)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO users VALUES ('alice@example.com', 'Alice', 'Doe', \
         '$P$69hgsDGKpcrMnG0HhOszZ6GQQ6UjMv.', NULL, 1)",
    )
    .execute(&pool)
    .await
    .unwrap();
    pool.close().await;
    let mut script = String::from("set -euo pipefail\n");
    let mut imports = 0;
    for block in sh_blocks(&text) {
        let mut joined = String::new();
        for raw in block {
            joined.push_str(&raw);
            let quotes = joined.matches('"').count();
            if raw.ends_with('\\') || quotes % 2 == 1 {
                joined.push('\n');
                continue;
            }
            let line = std::mem::take(&mut joined);
            let command = line.split(" #").next().unwrap_or(&line).trim_end();
            if command.starts_with("export PASSBRIDGE_IMPORT_QUERY=") {
                script.push_str(command);
                script.push('\n');
            } else if command.starts_with("passbridge import") {
                imports += 1;
                let dry = if command.contains("--dry-run") {
                    command.to_owned()
                } else {
                    format!("{command} --dry-run")
                };
                script.push_str(&format!(
                    "echo '+ {}' >&2\n{dry}\n",
                    dry.replace('\'', "'\\''")
                ));
            }
        }
    }
    assert!(
        imports >= 4,
        "the runbook's import lines were found:\n{script}"
    );
    let env = [
        ("PASSBRIDGE_LEGACY_URL", url.replace("?mode=rwc", "")),
        (
            "PASSBRIDGE_LEDGER_URL",
            format!("sqlite://{}", dir.path().join("ledger.db").display()),
        ),
    ];
    // Act
    let (ok, stdout, stderr) = run(dir.path(), script, env.to_vec()).await;
    // Assert: every import line is valid against the runbook's own query
    // (a `--where` naming a column the query lacks fails here).
    assert!(ok, "stdout:\n{stdout}\nstderr:\n{stderr}");
    assert_eq!(
        stdout.matches("Dry run: nothing was sent to Okta").count(),
        imports,
        "each import line ran its dry run\n{stdout}"
    );
}

#[test]
fn detailed_runbook_commands_parse_with_the_cli() {
    // Arrange: every other `passbridge …` command line of the detailed
    // runbook, placeholders filled in.
    use clap::Parser;
    let text = detailed_runbook();
    let mut checked = 0;
    for block in sh_blocks(&text) {
        let mut joined = String::new();
        for raw in block {
            // Continuation lines belong to the previous command.
            if let Some(head) = raw.strip_suffix('\\') {
                joined.push_str(head);
                continue;
            }
            joined.push_str(&raw);
            let line = std::mem::take(&mut joined);
            let command = line.split(" #").next().unwrap_or(&line);
            let Some(at) = command.find("passbridge ") else {
                continue;
            };
            let command = command[at..]
                .replace('…', "x")
                .replace("<hook id>", "cal0000000000000000");
            // Act
            let words =
                shlex::split(&command).unwrap_or_else(|| panic!("not shell words: {command}"));
            let parsed = passbridge::cli::Cli::try_parse_from(&words);
            // Assert
            assert!(
                parsed.is_ok(),
                "{command}: {}",
                parsed.err().map(|e| e.to_string()).unwrap_or_default()
            );
            checked += 1;
        }
    }
    assert!(checked >= 6, "found {checked} command lines");
}
