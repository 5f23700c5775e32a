//! [`ConsoleConfig`]: what the console serves and to whom, and the errors
//! that keep it from starting ([`ConsoleError`]).

use std::net::SocketAddr;

/// How a console is started (`disco console` fills it from its flags).
#[derive(Clone, Debug)]
pub struct ConsoleConfig {
    /// The event store's URL (opened existing-only: nothing is created).
    pub store_url: String,
    /// The read-model database's URL; default: the one beside the store
    /// ([`disco::read_models_beside`]).
    pub read_models_url: Option<String>,
    /// The address to listen on; default 127.0.0.1:7180.
    pub listen: SocketAddr,
    /// The token every page and endpoint then needs (a `disco_console`
    /// cookie set by opening any page with `?token=...`, or an
    /// `Authorization: Bearer` header). Required to listen anywhere but on
    /// a loopback address.
    pub token: Option<String>,
    /// Whether retry, skip, rebuild and drop-retired exist (as POSTs with
    /// the console's CSRF token, each logged).
    pub allow_actions: bool,
}

impl ConsoleConfig {
    /// A read-only console of `store_url` on 127.0.0.1:7180, without token.
    pub fn new(store_url: impl Into<String>) -> Self {
        ConsoleConfig {
            store_url: store_url.into(),
            read_models_url: None,
            listen: SocketAddr::from(([127, 0, 0, 1], 7180)),
            token: None,
            allow_actions: false,
        }
    }

    /// Refuses what must not start: a non-loopback address without a
    /// token, an empty token.
    pub(crate) fn check(&self) -> Result<(), ConsoleError> {
        if let Some(token) = &self.token {
            if token.trim().len() < 16 {
                return Err(ConsoleError::WeakToken);
            }
        }
        // Only a loopback console may go without a token.
        if self.token.is_none() && !self.listen.ip().is_loopback() {
            return Err(ConsoleError::TokenRequired(self.listen));
        }
        Ok(())
    }
}

/// Why a console did not start or stopped.
#[derive(Debug, thiserror::Error)]
pub enum ConsoleError {
    /// Listening beyond this machine needs a token.
    #[error("listening on {0} (not a loopback address) needs --token or --token-file: anyone who can reach it could read the store")]
    TokenRequired(SocketAddr),
    /// A token too short to keep anyone out.
    #[error("the token must have at least 16 characters")]
    WeakToken,
    /// The address could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// Serving failed.
    #[error("the console's server failed: {0}")]
    Serve(std::io::Error),
}

/// `url` as it may be shown: the password of its user and any query
/// parameter that carries a secret removed.
///
/// ```
/// use disco_console::redact;
/// assert_eq!(
///     redact("postgres://app:s3cret@db:5432/shop?schema=orders&password=x"),
///     "postgres://app@db:5432/shop?schema=orders"
/// );
/// assert_eq!(redact("sqlite:bank.db"), "sqlite:bank.db");
/// ```
pub fn redact(url: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let mut out = match base.split_once("://") {
        Some((scheme, rest)) => {
            let (authority, path) = match rest.find('/') {
                Some(i) => rest.split_at(i),
                None => (rest, ""),
            };
            let authority = match authority.rsplit_once('@') {
                Some((user, host)) => {
                    let user = user.split(':').next().unwrap_or("");
                    format!("{user}@{host}")
                }
                None => authority.to_owned(),
            };
            format!("{scheme}://{authority}{path}")
        }
        None => base.to_owned(),
    };
    if let Some(query) = query {
        let secret = ["pass", "token", "secret", "cred", "key", "nkey", "jwt"];
        let kept: Vec<&str> = query
            .split('&')
            .filter(|pair| {
                let name = pair.split('=').next().unwrap_or("").to_ascii_lowercase();
                !secret.iter().any(|s| name.contains(s))
            })
            .collect();
        if !kept.is_empty() {
            out.push('?');
            out.push_str(&kept.join("&"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_loopback_goes_without_a_token() {
        let mut config = ConsoleConfig::new("memory:");
        assert!(config.check().is_ok());
        config.listen = "0.0.0.0:7180".parse().unwrap();
        assert!(matches!(
            config.check(),
            Err(ConsoleError::TokenRequired(_))
        ));
        config.token = Some("short".into());
        assert!(matches!(config.check(), Err(ConsoleError::WeakToken)));
        config.token = Some("a-token-long-enough-to-use".into());
        assert!(config.check().is_ok());
        config.listen = "[::1]:7180".parse().unwrap();
        config.token = None;
        assert!(config.check().is_ok());
    }

    #[test]
    fn secrets_never_show() {
        assert_eq!(
            redact("nats://u:p@127.0.0.1:4301?store=bank&creds=/x.creds"),
            "nats://u@127.0.0.1:4301?store=bank"
        );
        assert_eq!(redact("postgres://h/db"), "postgres://h/db");
        assert_eq!(redact("redb:/a/b?c"), "redb:/a/b?c");
    }
}
