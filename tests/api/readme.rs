//! The README's "Supported formats" section against the code: the scheme
//! and family counts it states, one table row per family, every scheme
//! named in the table under its canonical name and family, and every alias
//! it lists resolving.

use std::collections::BTreeSet;

use passbridge::hash::{Scheme, SchemeName};

fn section() -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md");
    let readme = std::fs::read_to_string(path).unwrap();
    let start = readme
        .find("## Supported formats")
        .expect("README has a Supported formats section");
    let rest = &readme[start + 2..];
    let end = rest.find("\n## ").unwrap_or(rest.len());
    rest[..end].to_owned()
}

/// Words in backticks that look like names (letters, digits and `_`, with
/// a lower-case letter: `phpass_P` is one, `BCRYPT` and `$2y$` are not).
fn names(text: &str) -> Vec<&str> {
    text.split('`')
        .skip(1)
        .step_by(2)
        .filter(|w| {
            w.bytes().any(|b| b.is_ascii_lowercase())
                && w.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
        })
        .collect()
}

#[test]
fn readme_lists_every_scheme_in_its_family() {
    let section = section();
    let count = Scheme::ALL.len();
    assert!(
        section.contains(&format!("**{count} schemes**")),
        "the README should say **{count} schemes**"
    );
    let families: BTreeSet<&str> = Scheme::ALL.iter().map(|s| s.family()).collect();
    assert!(
        section.contains(&format!("in {} families", families.len())),
        "the README should say in {} families",
        families.len()
    );
    let rows: Vec<Vec<&str>> = section
        .lines()
        .skip_while(|l| !l.starts_with("| family | schemes"))
        .skip(2)
        .take_while(|l| l.starts_with('|'))
        .map(|l| l.split(" | ").collect())
        .collect();
    let mut listed = BTreeSet::new();
    let mut row_families = BTreeSet::new();
    for row in &rows {
        let family = row[0].trim_start_matches("| ");
        assert!(families.contains(family), "unknown family {family}");
        assert!(row_families.insert(family), "family {family} listed twice");
        for name in names(row[1]) {
            let scheme: Scheme = name.parse().unwrap_or_else(|_| panic!("{name}"));
            assert_eq!(scheme.as_str(), name, "not a canonical name");
            assert_eq!(scheme.family(), family, "{name} is not in family {family}");
            assert!(listed.insert(scheme), "{name} listed twice");
        }
    }
    let missing: Vec<&str> = Scheme::ALL
        .iter()
        .filter(|s| !listed.contains(*s))
        .map(|s| s.as_str())
        .collect();
    assert!(
        missing.is_empty(),
        "schemes missing from the table: {missing:?}"
    );
    assert_eq!(row_families.len(), families.len());
}

#[test]
fn readme_aliases_resolve() {
    let section = section();
    let start = section.find("**Aliases**").expect("an Aliases paragraph");
    let para = &section[start..];
    let para = &para[..para.find("\n\n").unwrap_or(para.len())];
    let aliases = names(para);
    assert!(aliases.len() > 40, "{aliases:?}");
    for alias in aliases {
        assert!(SchemeName::parse(alias).is_ok(), "{alias} does not resolve");
    }
}

/// Every file of the repository, for the checks on what the docs name.
fn repository_files() -> Vec<std::path::PathBuf> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut out = Vec::new();
    let mut todo = vec![root.to_path_buf()];
    while let Some(dir) = todo.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap_or_default().to_string_lossy();
            if name.starts_with('.') && name != ".ci" || name == "target" {
                continue;
            }
            if path.is_dir() {
                todo.push(path);
            } else {
                out.push(path);
            }
        }
    }
    out
}

#[test]
fn no_file_names_a_path_outside_the_repository() {
    // Arrange: the sibling folder the project was written next to, and the
    // workplace's root; spelled in pieces so this file does not name them.
    let outside = [
        format!("..{}shared", '/'),
        format!("{}shared/", ' '),
        format!("`{}/", "shared"),
        format!("{}work/", '/'),
    ];
    let mut found = Vec::new();
    // Act
    for path in repository_files() {
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue; // binary
        };
        for (n, line) in text.lines().enumerate() {
            if outside.iter().any(|p| line.contains(p.as_str())) {
                found.push(format!("{}:{}: {line}", path.display(), n + 1));
            }
        }
    }
    // Assert
    assert!(
        found.is_empty(),
        "paths outside the repository:\n{}",
        found.join("\n")
    );
}

#[test]
fn the_readme_states_the_minimum_rust_version_cargo_checks() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let manifest = std::fs::read_to_string(root.join("Cargo.toml")).unwrap();
    let msrv = manifest
        .lines()
        .find_map(|l| l.strip_prefix("rust-version = "))
        .expect("Cargo.toml sets rust-version")
        .trim_matches('"');
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    assert!(
        readme.contains(&format!("Rust toolchain ({msrv}+)")),
        "README must state the minimum Rust version {msrv}"
    );
}
