//! Checks before an import sends its first user: the token and the org
//! answer one cheap call, and (in a dry run) every row carries the profile
//! attributes Okta's default user schema requires.

use std::time::Duration;

use url::Url;

use crate::okta::{OktaClient, OktaError, Profile};

/// Okta's default user profile requires these (protocol §11, OAS `UserProfile`).
pub const REQUIRED_FIELDS: [&str; 4] = ["login", "email", "firstName", "lastName"];

/// How long the org check may take, retries included.
const ORG_CHECK_TIMEOUT: Duration = Duration::from_secs(10);

/// The first required profile attribute `profile` lacks (empty counts as missing).
pub fn missing_profile_field(profile: &Profile) -> Option<&'static str> {
    let blank = |v: Option<&str>| v.is_none_or(|s| s.trim().is_empty());
    let [login, email, first, last] = REQUIRED_FIELDS;
    if profile.login.trim().is_empty() {
        Some(login)
    } else if blank(profile.email.as_deref()) {
        Some(email)
    } else if blank(profile.first_name.as_deref()) {
        Some(first)
    } else if blank(profile.last_name.as_deref()) {
        Some(last)
    } else {
        None
    }
}

/// The failure reason for a missing attribute, as reports and the summary show it.
pub fn missing_field_reason(field: &str) -> String {
    format!("missing_profile_field:{field}")
}

/// Why the org check failed. Each message names the variable to fix.
#[derive(Debug, thiserror::Error)]
pub enum OrgProblem {
    /// 401: the token is wrong, expired or of another org.
    #[error("OKTA_API_TOKEN is not valid for {org} (Okta answered 401); create a token in the Admin Console under Security > API > Tokens")]
    InvalidToken {
        /// The org.
        org: Url,
    },
    /// 403: the token's admin may not read users.
    #[error("OKTA_API_TOKEN may not read users in {org} (Okta answered 403); use a token of an admin who can manage users")]
    Forbidden {
        /// The org.
        org: Url,
    },
    /// No answer: wrong host, proxy, DNS, TLS.
    #[error("cannot reach the Okta org at OKTA_ORG_URL={org}: {reason}")]
    Unreachable {
        /// The org.
        org: Url,
        /// What failed.
        reason: String,
    },
    /// Any other refusal.
    #[error("the Okta org at OKTA_ORG_URL={org} refused the token check: {source}")]
    Other {
        /// The org.
        org: Url,
        /// Okta's error.
        #[source]
        source: OktaError,
    },
}

/// One `GET /api/v1/users/me`: 200 (the token's admin) or 404 (a token
/// without a user behind it) proves the org answers and accepts the token.
///
/// # Errors
/// The token is refused or the org does not answer within 10 s.
pub async fn check_org(okta: &OktaClient) -> Result<(), OrgProblem> {
    let org = okta.org_url().clone();
    match tokio::time::timeout(ORG_CHECK_TIMEOUT, okta.find_user("me")).await {
        Err(_) => Err(OrgProblem::Unreachable {
            org,
            reason: format!("no answer within {ORG_CHECK_TIMEOUT:?}"),
        }),
        Ok(Ok(_)) => Ok(()),
        Ok(Err(e)) => Err(match e.status() {
            Some(401) => OrgProblem::InvalidToken { org },
            Some(403) => OrgProblem::Forbidden { org },
            _ if matches!(e, OktaError::Network(_)) => OrgProblem::Unreachable {
                org,
                reason: e.to_string(),
            },
            _ => OrgProblem::Other { org, source: e },
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_missing_field_is_named() {
        let mut p = Profile {
            login: "a@example.com".into(),
            email: Some("a@example.com".into()),
            first_name: Some("A".into()),
            last_name: Some("B".into()),
            ..Profile::default()
        };
        assert_eq!(missing_profile_field(&p), None);
        p.last_name = Some("  ".into());
        assert_eq!(missing_profile_field(&p), Some("lastName"));
        p.email = None;
        assert_eq!(missing_profile_field(&p), Some("email"));
        assert_eq!(missing_field_reason("email"), "missing_profile_field:email");
    }
}
