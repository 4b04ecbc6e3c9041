//! Build-time facts: which test database servers this build was configured for.

fn main() {
    // The PostgreSQL and MariaDB variants of the integration tests are marked
    // ignored (with the variable to set) when their server is not configured,
    // so the test summary counts them as skipped instead of reporting `ok`.
    for (var, cfg) in [
        ("PASSBRIDGE_TEST_PG_URL", "passbridge_test_pg"),
        ("PASSBRIDGE_TEST_MYSQL_URL", "passbridge_test_mysql"),
    ] {
        println!("cargo::rerun-if-env-changed={var}");
        println!("cargo::rustc-check-cfg=cfg({cfg})");
        if std::env::var_os(var).is_some_and(|v| !v.is_empty()) {
            println!("cargo::rustc-cfg={cfg}");
        }
    }
    println!("cargo::rerun-if-changed=build.rs");
}
