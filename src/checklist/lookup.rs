//! Small lookups on a validated checklist, so that other modules do not search by hand.

use super::model::{CertificateSpec, Checklist, KeySpec, StepAction, StepSpec, TokenSpec};

impl Checklist {
    /// The key with this name (the first one, should a broken file hold two).
    pub fn key(&self, name: &str) -> Option<&KeySpec> {
        self.keys.iter().find(|k| k.name == name)
    }

    /// The token with this role name.
    pub fn token(&self, name: &str) -> Option<&TokenSpec> {
        self.tokens.get(name)
    }

    /// The certificate with this name.
    pub fn certificate(&self, name: &str) -> Option<&CertificateSpec> {
        self.certificates.get(name)
    }

    /// The step with this id.
    pub fn step(&self, id: &str) -> Option<&StepSpec> {
        self.steps.iter().find(|s| s.id == id)
    }

    /// The name of the self-signed certificate (the one without an issuer). After
    /// validation there is exactly one.
    /// The root this ceremony's clients trust: the self-signed certificate it makes, or
    /// the carried-over one when it makes none (an intermediate rotation).
    pub fn root_certificate_name(&self) -> Option<&str> {
        let roots = || self.certificates.iter().filter(|(_, c)| c.issuer.is_none());
        roots()
            .find(|(_, c)| c.existing.is_none())
            .or_else(|| roots().next())
            .map(|(n, _)| n.as_str())
    }

    /// The token role whose key signs `certificate` (its issuer's key, or its own for a
    /// root).
    pub fn signing_token(&self, certificate: &str) -> Option<String> {
        let cert = self.certificates.get(certificate)?;
        let signer = match &cert.issuer {
            Some(issuer) => self.certificates.get(issuer)?,
            None => cert,
        };
        self.key(&signer.key).map(|k| k.token.clone())
    }

    /// The token roles a step uses through a logged-in session.
    pub fn tokens_used(&self, action: &StepAction) -> Vec<String> {
        match action {
            StepAction::InitToken { token } => vec![token.clone()],
            StepAction::GenerateKey { key } => {
                self.key(key).map(|k| k.token.clone()).into_iter().collect()
            }
            StepAction::SelfSign { certificate } | StepAction::SignCertificate { certificate } => {
                self.signing_token(certificate).into_iter().collect()
            }
            StepAction::SignCrl => self
                .crl
                .as_ref()
                .and_then(|c| self.signing_token(&c.issuer))
                .into_iter()
                .collect(),
            _ => Vec::new(),
        }
    }

    /// Whether some step logs into the token with this role.
    pub fn token_is_used(&self, token: &str) -> bool {
        self.steps
            .iter()
            .any(|s| self.tokens_used(&s.action).iter().any(|t| t == token))
    }

    /// Whether any token, key or certificate continues from a previous ceremony.
    pub fn continues_previous(&self) -> bool {
        self.tokens.values().any(|t| t.existing.is_some())
            || self.keys.iter().any(|k| k.existing.is_some())
            || self.certificates.values().any(|c| c.existing.is_some())
    }

    /// The keys that live on a token, in file order.
    pub fn keys_on_token<'a>(&'a self, token: &'a str) -> impl Iterator<Item = &'a KeySpec> + 'a {
        self.keys.iter().filter(move |k| k.token == token)
    }

    /// The certificate (name and spec) that carries this key, if any.
    pub fn certificate_for_key(&self, key: &str) -> Option<(&str, &CertificateSpec)> {
        self.certificates
            .iter()
            .find(|(_, c)| c.key == key)
            .map(|(n, c)| (n.as_str(), c))
    }

    /// The key a certificate carries.
    pub fn certificate_key(&self, certificate: &str) -> Option<&KeySpec> {
        self.certificate(certificate).and_then(|c| self.key(&c.key))
    }

    /// The certificate's issuer (name and spec); `None` for the root or an unknown name.
    pub fn issuer_of(&self, certificate: &str) -> Option<(&str, &CertificateSpec)> {
        let issuer = self.certificate(certificate)?.issuer.as_deref()?;
        self.certificates
            .get_key_value(issuer)
            .map(|(n, c)| (n.as_str(), c))
    }

    /// The token a key lives on.
    pub fn token_of_key(&self, key: &str) -> Option<&TokenSpec> {
        self.key(key).and_then(|k| self.token(&k.token))
    }
}

impl KeySpec {
    /// CKA_ID as bytes. Validation guarantees `id` is 1 to 8 bytes of hex; for an
    /// unvalidated spec with a bad id this is empty.
    pub fn id_bytes(&self) -> Vec<u8> {
        hex::decode(&self.id).unwrap_or_default()
    }
}
