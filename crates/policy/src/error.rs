//! The one error type of this crate: a bad piece of policy configuration,
//! named by its field path.

/// A problem in the policy configuration, found at load time.
///
/// `field` is the path of the offending value as written in the
/// configuration, such as `policies.UPSTREAM-EXPORT.terms[1].match.community[0]`;
/// `message` says what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct PolicyError {
    /// Path of the offending value.
    pub field: String,
    /// What is wrong with it.
    pub message: String,
}

impl PolicyError {
    /// An error about `field`.
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        PolicyError {
            field: field.into(),
            message: message.into(),
        }
    }
}
