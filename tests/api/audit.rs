//! `passbridge hash audit` over a real legacy table on every database.

use passbridge::db::DbKind;

use crate::helpers::TestDb;
use crate::on_every_db;

async fn audit_reports_schemes_natives_and_problem_rows(kind: DbKind) {
    let Some(db) = TestDb::create(kind).await else {
        return;
    };
    db.create_users_table().await;
    let bcrypt = bcrypt::hash("pw", 4).unwrap();
    db.insert_user("a@example.com", &bcrypt, None, None).await;
    db.insert_user(
        "b@example.com",
        &bcrypt::hash("pw2", 5).unwrap(),
        None,
        None,
    )
    .await;
    db.insert_user(
        "c@example.com",
        "{SSHA}ACAy9kzPMzpL1lcpSGW/czRFCq4gxDin",
        None,
        None,
    )
    .await;
    db.insert_user(
        "d@example.com",
        "$P$69hgsDGKpcrMnG0HhOszZ6GQQ6UjMv.",
        None,
        None,
    )
    .await;
    db.insert_user(
        "e@example.com",
        "cbfdac6008f9cab4083784cbd1874f76618d2a97",
        None,
        Some("hex_sha1"),
    )
    .await;
    db.insert_user("broken@example.com", "$2b$10$tooshort", None, None)
        .await;
    db.insert_user("mystery@example.com", "no-idea-what-this-is", None, None)
        .await;
    db.insert_user(
        "absurd@example.com",
        "$2b$31$abcdefghijklmnopqrstuu5s2v8.iXieOjg/.AySBTTZIIVFJeBui",
        None,
        None,
    )
    .await;
    let query = "SELECT email AS id, password_hash, salt, scheme FROM users ORDER BY email";

    let out = assert_cmd::Command::cargo_bin("passbridge")
        .unwrap()
        .args([
            "hash",
            "audit",
            "--json",
            "--legacy-url",
            db.url.expose(),
            "--query",
            query,
        ])
        .output()
        .unwrap();

    assert_eq!(
        out.status.code(),
        Some(1),
        "problem rows make the exit code 1"
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    let report: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(report["rows"], 8);
    assert_eq!(report["schemes"]["bcrypt_2b"], 2);
    assert_eq!(report["schemes"]["ldap_salted_sha1"], 1);
    assert_eq!(report["schemes"]["phpass_P"], 1);
    assert_eq!(report["schemes"]["hex_sha1"], 1);
    assert_eq!(report["parameters"]["bcrypt_2b cost=4"], 1);
    assert_eq!(report["parameters"]["bcrypt_2b cost=5"], 1);
    assert_eq!(report["okta_native"], 4, "2 bcrypt + {{SSHA}} + hex sha1");
    assert_eq!(report["hook"], 1, "phpass");
    assert_eq!(
        report["problems"]["malformed_hash"],
        serde_json::json!(["broken@example.com"])
    );
    assert_eq!(
        report["problems"]["unsupported_hash"],
        serde_json::json!(["mystery@example.com"])
    );
    assert_eq!(
        report["problems"]["cost_too_high"],
        serde_json::json!(["absurd@example.com"])
    );
    assert!(!stdout.contains(&bcrypt), "never prints a hash");
}

on_every_db! {
    audit => audit_reports_schemes_natives_and_problem_rows;
}
