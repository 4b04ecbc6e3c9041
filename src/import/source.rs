//! Where legacy users come from: the admin's SQL query, streamed row by row
//! from the legacy database, or a CSV export (header row = column names).
//! Columns are named after Okta profile attributes (`login`, `email`,
//! `firstName`, `lastName`, any other attribute), plus `password_hash` and
//! optionally `salt` and `scheme`. Nothing is loaded whole.

use std::fmt;
use std::path::{Path, PathBuf};

use secrecy::SecretString;
use serde_json::Value;
use sqlx::any::AnyRow;
use sqlx::{Column, Row};
use tokio::sync::mpsc;

use crate::okta::Profile;

/// Okta's base profile attributes, matched case-insensitively so that
/// PostgreSQL's lower-cased unquoted aliases (`AS firstName` → `firstname`)
/// still land on the right attribute. Other attributes keep their spelling.
const BASE_ATTRIBUTES: &[&str] = &[
    "login",
    "email",
    "secondEmail",
    "firstName",
    "lastName",
    "middleName",
    "honorificPrefix",
    "honorificSuffix",
    "title",
    "displayName",
    "nickName",
    "profileUrl",
    "primaryPhone",
    "mobilePhone",
    "streetAddress",
    "city",
    "state",
    "zipCode",
    "countryCode",
    "postalAddress",
    "preferredLanguage",
    "locale",
    "timezone",
    "userType",
    "employeeNumber",
    "costCenter",
    "organization",
    "division",
    "department",
    "managerId",
    "manager",
];

/// Column holding the stored hash.
pub const HASH_COLUMN: &str = "password_hash";
/// Optional column with a separate salt.
pub const SALT_COLUMN: &str = "salt";
/// Optional column naming the scheme.
pub const SCHEME_COLUMN: &str = "scheme";

/// Errors reading the source.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// The query failed.
    #[error("legacy query failed: {0}")]
    Query(#[source] sqlx::Error),
    /// The CSV file could not be read.
    #[error("reading {path}: {message}")]
    Csv {
        /// File.
        path: PathBuf,
        /// What went wrong (never a field value).
        message: String,
    },
    /// A row lacks the `password_hash` column (a query problem, so fatal).
    #[error("the import query returns no `password_hash` column; alias the hash column: SELECT pw AS password_hash …")]
    MissingHashColumn,
    /// A row lacks the `login` column.
    #[error("the import query returns no `login` column; alias the login column: SELECT email AS login …")]
    MissingLoginColumn,
}

/// One legacy user, as read.
pub struct LegacyRow {
    /// 1-based position in the source (the row id used in audits).
    pub row: u64,
    /// Profile attributes (`login` may be empty when the source has none).
    pub profile: Profile,
    /// The stored hash (a secret: never logged).
    pub password_hash: Option<SecretString>,
    /// Separate salt column.
    pub salt: Option<String>,
    /// Explicit scheme column.
    pub scheme: Option<String>,
}

impl fmt::Debug for LegacyRow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LegacyRow")
            .field("row", &self.row)
            .field("login", &self.profile.login)
            .field("scheme", &self.scheme)
            .finish_non_exhaustive()
    }
}

/// Builds a row from `(column, value)` pairs.
fn build_row(row: u64, columns: impl IntoIterator<Item = (String, Option<Value>)>) -> LegacyRow {
    let mut profile = Profile::default();
    let mut out = LegacyRow {
        row,
        profile: Profile::default(),
        password_hash: None,
        salt: None,
        scheme: None,
    };
    let text = |v: Value| match v {
        Value::String(s) => s,
        other => other.to_string(),
    };
    for (name, value) in columns {
        let Some(value) = value.filter(|v| !v.is_null() && v.as_str() != Some("")) else {
            continue;
        };
        let lower = name.to_ascii_lowercase();
        match lower.as_str() {
            HASH_COLUMN => out.password_hash = Some(SecretString::from(text(value))),
            SALT_COLUMN => out.salt = Some(text(value)),
            SCHEME_COLUMN => out.scheme = Some(text(value).trim().to_owned()),
            "login" => profile.login = text(value).trim().to_owned(),
            "email" => profile.email = Some(text(value).trim().to_owned()),
            "firstname" => profile.first_name = Some(text(value)),
            "lastname" => profile.last_name = Some(text(value)),
            _ => {
                let attr = BASE_ATTRIBUTES
                    .iter()
                    .find(|a| a.eq_ignore_ascii_case(&name))
                    .map_or(name, |a| (*a).to_owned());
                profile.extra.insert(attr, value);
            }
        }
    }
    // Okta requires an email; legacy systems often log in by email.
    if profile.email.is_none() && profile.login.contains('@') {
        profile.email = Some(profile.login.clone());
    }
    out.profile = profile;
    out
}

/// Reads one column of any type as JSON (text, integer, float, bool, UTF-8 bytes).
fn any_value(row: &AnyRow, index: usize) -> Option<Value> {
    if let Ok(v) = row.try_get::<Option<String>, _>(index) {
        return v.map(Value::String);
    }
    if let Ok(v) = row.try_get::<Option<i64>, _>(index) {
        return v.map(Value::from);
    }
    if let Ok(v) = row.try_get::<Option<f64>, _>(index) {
        return v.map(Value::from);
    }
    if let Ok(v) = row.try_get::<Option<bool>, _>(index) {
        return v.map(Value::from);
    }
    if let Ok(v) = row.try_get::<Option<Vec<u8>>, _>(index) {
        return v.map(|b| Value::String(String::from_utf8_lossy(&b).into_owned()));
    }
    None
}

/// Converts a result row, checking the required columns once per row.
///
/// # Errors
/// The query has no `password_hash` or `login` column.
pub fn from_sql_row(row: &AnyRow, number: u64) -> Result<LegacyRow, SourceError> {
    let names: Vec<String> = row.columns().iter().map(|c| c.name().to_owned()).collect();
    if !names.iter().any(|n| n.eq_ignore_ascii_case(HASH_COLUMN)) {
        return Err(SourceError::MissingHashColumn);
    }
    if !names.iter().any(|n| n.eq_ignore_ascii_case("login")) {
        return Err(SourceError::MissingLoginColumn);
    }
    let values = names
        .into_iter()
        .enumerate()
        .map(|(i, name)| (name, any_value(row, i)));
    Ok(build_row(number, values))
}

/// Wraps the admin's query for `--where`: `SELECT * FROM (<query>) AS q WHERE <expr>`.
pub fn with_filter(query: &str, filter: Option<&str>) -> String {
    let query = query.trim().trim_end_matches(';');
    match filter.map(str::trim).filter(|f| !f.is_empty()) {
        Some(expr) => format!("SELECT * FROM ({query}) AS passbridge_import WHERE {expr}"),
        None => query.to_owned(),
    }
}

/// `SELECT COUNT(*)` over the (filtered) query, for the progress total.
pub fn count_query(query: &str) -> String {
    format!("SELECT COUNT(*) AS n FROM ({query}) AS passbridge_count")
}

/// Streams a CSV file from a blocking thread through a bounded channel; the
/// thread stops when the receiver is dropped.
pub fn read_csv(path: &Path) -> mpsc::Receiver<Result<LegacyRow, SourceError>> {
    let (tx, rx) = mpsc::channel(256);
    let path = path.to_path_buf();
    std::thread::spawn(move || {
        let file = match std::fs::File::open(&path) {
            Ok(f) => f,
            Err(e) => {
                let _ = tx.blocking_send(Err(SourceError::Csv {
                    path: path.clone(),
                    message: e.to_string(),
                }));
                return;
            }
        };
        let rows = match CsvRows::new(std::io::BufReader::new(file), &path) {
            Ok(rows) => rows,
            Err(e) => {
                let _ = tx.blocking_send(Err(e));
                return;
            }
        };
        for row in rows {
            if tx.blocking_send(row).is_err() {
                return;
            }
        }
    });
    rx
}

/// The rows of a CSV source after its header line; stops after the first
/// error (a broken line leaves the rest unframed).
pub struct CsvRows<R: std::io::Read> {
    reader: csv::Reader<R>,
    headers: Vec<String>,
    record: csv::StringRecord,
    number: u64,
    path: PathBuf,
    failed: bool,
}

impl<R: std::io::Read> CsvRows<R> {
    /// Reads the header line of `input` and checks the required columns;
    /// `path` only names the source in errors.
    ///
    /// # Errors
    /// Unreadable header, or no `password_hash` / `login` column.
    pub fn new(input: R, path: &Path) -> Result<Self, SourceError> {
        let mut reader = csv::ReaderBuilder::new().flexible(false).from_reader(input);
        let headers: Vec<String> = reader
            .headers()
            .map_err(|e| SourceError::Csv {
                path: path.to_path_buf(),
                message: e.to_string(),
            })?
            .iter()
            .map(|s| s.trim().to_owned())
            .collect();
        if !headers.iter().any(|h| h.eq_ignore_ascii_case(HASH_COLUMN)) {
            return Err(SourceError::MissingHashColumn);
        }
        if !headers.iter().any(|h| h.eq_ignore_ascii_case("login")) {
            return Err(SourceError::MissingLoginColumn);
        }
        Ok(Self {
            reader,
            headers,
            record: csv::StringRecord::new(),
            number: 0,
            path: path.to_path_buf(),
            failed: false,
        })
    }
}

impl<R: std::io::Read> Iterator for CsvRows<R> {
    type Item = Result<LegacyRow, SourceError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        match self.reader.read_record(&mut self.record) {
            Ok(false) => None,
            Ok(true) => {
                self.number += 1;
                let values = self.headers.iter().cloned().zip(
                    self.record
                        .iter()
                        .map(|v| Some(Value::String(v.to_owned()))),
                );
                Some(Ok(build_row(self.number, values)))
            }
            Err(e) => {
                self.failed = true;
                // csv's message names the line and field, not the value.
                Some(Err(SourceError::Csv {
                    path: self.path.clone(),
                    message: format!("line {}: {e}", self.number + 2),
                }))
            }
        }
    }
}

/// Counts CSV records (for the progress total).
///
/// # Errors
/// The file cannot be read.
pub fn count_csv(path: &Path) -> Result<u64, SourceError> {
    let mut reader = csv::Reader::from_path(path).map_err(|e| SourceError::Csv {
        path: path.to_path_buf(),
        message: e.to_string(),
    })?;
    let mut record = csv::ByteRecord::new();
    let mut n = 0;
    while reader
        .read_byte_record(&mut record)
        .map_err(|e| SourceError::Csv {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?
    {
        n += 1;
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use secrecy::ExposeSecret;
    use serde_json::json;

    #[test]
    fn columns_map_onto_profile_attributes() {
        let row = build_row(
            3,
            [
                ("login".to_owned(), Some(json!("Ann@Example.com "))),
                ("firstname".to_owned(), Some(json!("Ann"))),
                ("LASTNAME".to_owned(), Some(json!("Lee"))),
                ("mobilephone".to_owned(), Some(json!("555"))),
                ("employee_no".to_owned(), Some(json!(42))),
                ("password_hash".to_owned(), Some(json!("$2b$04$x"))),
                ("salt".to_owned(), Some(json!(""))),
                ("scheme".to_owned(), None),
            ],
        );
        assert_eq!(row.row, 3);
        assert_eq!(row.profile.login, "Ann@Example.com");
        assert_eq!(row.profile.email.as_deref(), Some("Ann@Example.com"));
        assert_eq!(row.profile.first_name.as_deref(), Some("Ann"));
        assert_eq!(row.profile.last_name.as_deref(), Some("Lee"));
        assert_eq!(row.profile.extra["mobilePhone"], json!("555"));
        assert_eq!(row.profile.extra["employee_no"], json!(42));
        assert_eq!(row.password_hash.unwrap().expose_secret(), "$2b$04$x");
        assert!(row.salt.is_none() && row.scheme.is_none());
    }

    #[test]
    fn filters_wrap_the_query() {
        assert_eq!(with_filter("SELECT a FROM t;", None), "SELECT a FROM t");
        assert_eq!(
            with_filter("SELECT a FROM t", Some("a > 1")),
            "SELECT * FROM (SELECT a FROM t) AS passbridge_import WHERE a > 1"
        );
    }

    #[tokio::test]
    async fn csv_rows_stream_and_bad_headers_are_reported() {
        let dir = tempfile::tempdir().unwrap();
        let good = dir.path().join("users.csv");
        std::fs::write(
            &good,
            "login,email,firstName,lastName,password_hash\na@x.io,a@x.io,A,B,{SSHA}abc\nb@x.io,,B,C,\n",
        )
        .unwrap();
        let mut rx = read_csv(&good);
        let first = rx.recv().await.unwrap().unwrap();
        let second = rx.recv().await.unwrap().unwrap();
        assert!(rx.recv().await.is_none());
        assert_eq!((first.row, first.profile.login.as_str()), (1, "a@x.io"));
        assert!(second.password_hash.is_none());
        assert_eq!(count_csv(&good).unwrap(), 2);
        let bad = dir.path().join("bad.csv");
        std::fs::write(&bad, "login,pw\na,b\n").unwrap();
        let err = read_csv(&bad).recv().await.unwrap().unwrap_err();
        assert!(matches!(err, SourceError::MissingHashColumn));
    }
}
