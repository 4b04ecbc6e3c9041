//! `passbridge hash …` through the binary: batch verification end to end
//! (order, per-line errors, summary, exit status, no password echoed),
//! single verification exit codes, identify and schemes.

use assert_cmd::Command;
use predicates::prelude::*;
use serde_json::Value;

fn passbridge() -> Command {
    let mut cmd = Command::cargo_bin("passbridge").unwrap();
    cmd.env_remove("PASSBRIDGE_CONFIG");
    cmd
}

// Inputs: MD5 of "password" (RFC 1321 function), Spring Security's
// PasswordEncoderFactoriesTests {ldap}{SSHA} value for "password", the
// PostgreSQL regression suite's md5 role password, and a corpus bcrypt.
const BATCH: &str = r#"{"id":"md5-ok","hash":"5f4dcc3b5aa765d61d8327deb882cf99","password":"password","scheme":"hex_md5"}
{"id":2,"hash":"{SSHA}igvD9lOiTXm16dmOw0YWRb9OjK2ThZvdQku2EQ==","password":"Sup3rSecretCandidate","source":"ignored"}
{"id":"broken", "hash": 
{"id":"pg","hash":"md5783277baca28003b33453252be4dbb34","password":"role_pwd1","scheme":"postgres_md5","params":{"username":"regress_passwd1"}}

{"id":"no-such-scheme","hash":"abc","password":"Sup3rSecretCandidate","scheme":"rot13"}
{"id":"typed","hash":"5f4dcc3b5aa765d61d8327deb882cf99","password":987654321}
{"hash":"$2b$04$D1ZFU7vAiyphfDfoSlll6ueamh0RPwcZsRguHYGnUquOOPQPVMb0G","password":"pässwörd✓"}
"#;

fn lines(stdout: &[u8]) -> Vec<Value> {
    String::from_utf8(stdout.to_vec())
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn batch_reports_every_line_in_order_and_survives_bad_lines() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("batch.jsonl");
    std::fs::write(&file, BATCH).unwrap();
    let out = passbridge()
        .current_dir(dir.path())
        .args(["hash", "verify", "--batch"])
        .arg(&file)
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "7 records: 3 match, 1 mismatch, 3 errors (1 unreadable lines)",
        ))
        .get_output()
        .clone();
    let text = String::from_utf8(out.stdout.clone()).unwrap();
    assert!(!text.contains("Sup3rSecretCandidate"), "{text}");
    assert!(!text.contains("987654321"), "{text}");
    let rows = lines(&out.stdout);
    let ids: Vec<Value> = rows.iter().map(|r| r["id"].clone()).collect();
    assert_eq!(
        ids,
        vec![
            Value::from("md5-ok"),
            Value::from(2),
            Value::Null,
            Value::from("pg"),
            Value::from("no-such-scheme"),
            Value::from("typed"),
            Value::Null
        ]
    );
    let line_numbers: Vec<u64> = rows.iter().map(|r| r["line"].as_u64().unwrap()).collect();
    assert_eq!(line_numbers, vec![1, 2, 3, 4, 6, 7, 8]);

    assert_eq!(rows[0]["verified"], true);
    assert_eq!(rows[0]["scheme"], "hex_md5");
    assert_eq!(rows[0]["error"], Value::Null);

    assert_eq!(rows[1]["verified"], false);
    assert_eq!(rows[1]["scheme"], "ldap_salted_sha1");
    assert_eq!(rows[1]["error"], Value::Null);

    assert_eq!(rows[2]["verified"], false);
    assert!(rows[2]["error"]
        .as_str()
        .unwrap()
        .starts_with("invalid JSON"));

    assert_eq!(rows[3]["verified"], true);
    assert_eq!(rows[3]["scheme"], "postgres_md5");

    assert!(rows[4]["error"].as_str().unwrap().contains("rot13"));
    assert!(rows[5]["error"].as_str().unwrap().contains("password"));

    assert_eq!(rows[6]["verified"], true);
    assert_eq!(rows[6]["scheme"], "bcrypt_2b");
}

#[test]
fn batch_from_stdin_all_matching_exits_zero() {
    let input = concat!(
        r#"{"id":"a","hash":"5f4dcc3b5aa765d61d8327deb882cf99","password":"password","scheme":"hex_md5","valid":true}"#,
        "\n",
        r#"{"id":"b","hash":"{SSHA}igvD9lOiTXm16dmOw0YWRb9OjK2ThZvdQku2EQ==","password":"password","valid":true}"#,
        "\n"
    );
    let out = passbridge()
        .args(["hash", "verify", "--batch", "-"])
        .write_stdin(input)
        .assert()
        .success()
        .stderr(predicate::str::contains(
            "2/2 agree with their `valid` flag",
        ))
        .get_output()
        .clone();
    let rows = lines(&out.stdout);
    assert_eq!(rows.len(), 2);
    assert!(rows.iter().all(|r| r["verified"] == true));
}

#[test]
fn batch_defaults_come_from_flags() {
    // No scheme in the record: --scheme supplies it.
    passbridge()
        .args(["hash", "verify", "--batch", "-", "--scheme", "hex_md5"])
        .write_stdin(
            r#"{"id":"x","hash":"5f4dcc3b5aa765d61d8327deb882cf99","password":"password"}"#,
        )
        .assert()
        .success()
        .stdout(predicate::str::contains(r#""scheme":"hex_md5""#));
}

#[test]
fn single_verify_exit_codes() {
    let ssha = "{SSHA}igvD9lOiTXm16dmOw0YWRb9OjK2ThZvdQku2EQ==";
    passbridge()
        .args(["hash", "verify", "--hash", ssha])
        .write_stdin("password\n")
        .assert()
        .code(0)
        .stdout(predicate::str::contains("match (scheme ldap_salted_sha1)"));
    passbridge()
        .args(["hash", "verify", "--hash", ssha])
        .write_stdin("password \n")
        .assert()
        .code(1)
        .stdout(predicate::str::contains("mismatch"));
    passbridge()
        .args([
            "hash",
            "verify",
            "--hash",
            "5f4dcc3b5aa765d61d8327deb882cf99",
        ])
        .write_stdin("password")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--scheme"));
    passbridge()
        .args([
            "hash",
            "verify",
            "--hash",
            "5f4dcc3b5aa765d61d8327deb882cf99",
            "--scheme",
            "hex_md5",
        ])
        .write_stdin("password")
        .assert()
        .code(0);
    // Cost over the configured ceiling ([hash.limits]) is an error, not a mismatch.
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("passbridge.toml");
    std::fs::write(&config, "[hash.limits]\nbcrypt_cost = 3\n").unwrap();
    let bcrypt4 = "$2b$04$D1ZFU7vAiyphfDfoSlll6ueamh0RPwcZsRguHYGnUquOOPQPVMb0G";
    passbridge()
        .arg("--config")
        .arg(&config)
        .args(["hash", "verify", "--hash", bcrypt4])
        .write_stdin("pässwörd✓")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("bcrypt_cost"));
    passbridge()
        .args(["hash", "verify", "--hash", bcrypt4])
        .write_stdin("pässwörd✓")
        .assert()
        .code(0);
}

#[test]
fn identify_and_schemes() {
    passbridge()
        .args([
            "hash",
            "identify",
            "$2b$04$D1ZFU7vAiyphfDfoSlll6ueamh0RPwcZsRguHYGnUquOOPQPVMb0G",
        ])
        .assert()
        .success()
        .stdout(
            predicate::str::contains("bcrypt_2b")
                .and(predicate::str::contains("BCRYPT, work factor 4"))
                .and(predicate::str::contains("D1ZFU7").not()),
        );
    passbridge()
        .args(["hash", "identify", "5f4dcc3b5aa765d61d8327deb882cf99"])
        .assert()
        .code(1)
        .stdout(predicate::str::contains("hex_md5").and(predicate::str::contains("nthash")));
    let out = passbridge()
        .args(["hash", "schemes", "--json"])
        .assert()
        .success()
        .get_output()
        .clone();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let rows = v.as_array().unwrap();
    assert!(rows.len() > 90, "{} schemes", rows.len());
    assert!(rows
        .iter()
        .any(|r| r["scheme"] == "mysql_caching_sha2" && r["self_describing"] == true));
}

#[test]
fn identify_says_import_sends_sha256_users_to_the_hook() {
    // SHA-256 of "password" (FIPS 180-4 function), and SHA-1 of it for contrast.
    let sha256 = "5e884898da28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d8";
    let sha1 = "5baa61e4c9b93f3f0682250b6cf8331b7ee68fd8";
    let note = "`passbridge import` sends SHA-256 users to the hook unless --trust-okta-sha256";
    passbridge()
        .args(["hash", "identify", "--scheme", "hex_sha256", sha256])
        .assert()
        .success()
        .stdout(
            predicate::str::contains("okta native:     yes (SHA-256")
                .and(predicate::str::contains(note)),
        );
    passbridge()
        .args(["hash", "identify", "--scheme", "hex_sha1", sha1])
        .assert()
        .success()
        .stdout(
            predicate::str::contains("okta native:     yes (SHA-1")
                .and(predicate::str::contains(note).not()),
        );
}
