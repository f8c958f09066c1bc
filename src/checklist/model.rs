//! The typed shape of a checklist file, as serde reads it.
//!
//! These types only say what may appear where; whether the values make sense together
//! (labels that fit, keys that exist, validity that nests) is `validate`'s job. Unknown keys
//! are errors, so that a typo in a reviewed script is not a silent default: `schema` reports
//! them all before serde runs, and the tables also `deny_unknown_fields` as a second guard.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A whole checklist file.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Checklist {
    pub ceremony: CeremonyInfo,
    pub participants: Participants,
    /// Tokens by role name (`root`, `intermediate`, ...).
    pub tokens: BTreeMap<String, TokenSpec>,
    pub keys: Vec<KeySpec>,
    /// Certificates by name (`root`, `intermediate`, ...).
    pub certificates: BTreeMap<String, CertificateSpec>,
    #[serde(default)]
    pub crl: Option<CrlSpec>,
    #[serde(default)]
    pub ssh: Option<SshSpec>,
    pub steps: Vec<StepSpec>,
}

/// What ceremony this is and for which CA.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct CeremonyInfo {
    /// A title for screens, the transcript and the sheet.
    pub name: String,
    pub kind: CeremonyKind,
    /// The step-ca URL clients bootstrap against (printed on the sheet).
    pub ca_url: String,
    /// Paper size of the fingerprint sheet.
    #[serde(default)]
    pub paper: Paper,
}

#[derive(Debug, Clone, Copy, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum CeremonyKind {
    /// The first ceremony: new root, intermediate and SSH CA keys.
    Root,
    IntermediateRotation,
    IntermediateRotationEmergency,
    RootRotation,
    /// The root signs a new CRL before the last one expires; nothing else changes.
    CrlRenewal,
}

impl CeremonyKind {
    pub fn as_str(self) -> &'static str {
        match self {
            CeremonyKind::Root => "root",
            CeremonyKind::IntermediateRotation => "intermediate-rotation",
            CeremonyKind::IntermediateRotationEmergency => "intermediate-rotation-emergency",
            CeremonyKind::RootRotation => "root-rotation",
            CeremonyKind::CrlRenewal => "crl-renewal",
        }
    }
}

#[derive(Debug, Clone, Copy, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Paper {
    #[default]
    A4,
    Letter,
}

/// The two roles. Names and initials are typed in on the day, not written here.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Participants {
    pub operator: ParticipantSpec,
    pub witness: ParticipantSpec,
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ParticipantSpec {
    /// What this person does, shown on screen.
    pub duty: String,
}

/// One hardware token, identified by serial on the day and initialised with `label`.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TokenSpec {
    /// CKA_LABEL given at initialisation; at most 32 bytes.
    pub label: String,
    /// What the people are told about this token ("HSM #1, goes into the safe").
    pub description: String,
    pub so_pin: PinRule,
    pub user_pin: PinRule,
    /// The role of this token in the previous ceremony's bundle, when the ceremony
    /// continues with it (`--previous`). Such a token is identified by that serial and
    /// logged into, never initialised.
    #[serde(default)]
    pub existing: Option<String>,
}

/// The rule a PIN must follow. SmartCard-HSM SO PINs are exactly 16 hex digits.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct PinRule {
    pub min_length: usize,
    pub max_length: usize,
    pub charset: PinCharset,
}

#[derive(Debug, Clone, Copy, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum PinCharset {
    Digits,
    Hex,
    /// Printable ASCII without spaces.
    Printable,
}

/// A key pair generated on a token.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct KeySpec {
    /// The name steps and certificates refer to.
    pub name: String,
    /// The token role it lives on.
    pub token: String,
    /// CKA_ID as hex, e.g. "01".
    pub id: String,
    /// CKA_LABEL; at most 32 bytes.
    pub label: String,
    pub curve: Curve,
    /// The name of this key in the previous ceremony's bundle, when it was generated
    /// then; its public key comes from that bundle and is checked against the token.
    #[serde(default)]
    pub existing: Option<String>,
}

#[derive(Debug, Clone, Copy, Deserialize, Serialize, PartialEq, Eq, Hash)]
pub enum Curve {
    #[serde(rename = "P-256")]
    P256,
    #[serde(rename = "P-384")]
    P384,
    #[serde(rename = "P-521")]
    P521,
}

impl Curve {
    pub fn name(self) -> &'static str {
        match self {
            Curve::P256 => "P-256",
            Curve::P384 => "P-384",
            Curve::P521 => "P-521",
        }
    }
}

/// A CA certificate: the root is self-signed, anything else names its issuer.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct CertificateSpec {
    /// The key (by name) whose public key the certificate carries.
    pub key: String,
    /// The certificate (by name) that signs this one; absent for a self-signed root.
    #[serde(default)]
    pub issuer: Option<String>,
    pub subject: Subject,
    pub validity_days: u32,
    pub path_length: u8,
    /// URI put into the CRL distribution points extension.
    #[serde(default)]
    pub crl_distribution_point: Option<String>,
    #[serde(default)]
    pub name_constraints: Option<NameConstraintsSpec>,
    /// The name of this certificate in the previous ceremony's bundle, when it is carried
    /// over rather than signed (the unchanged root of an intermediate rotation).
    #[serde(default)]
    pub existing: Option<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Subject {
    pub common_name: String,
    #[serde(default)]
    pub organization: Option<String>,
    #[serde(default)]
    pub country: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct NameConstraintsSpec {
    #[serde(default)]
    pub permitted_dns: Vec<String>,
    #[serde(default)]
    pub excluded_dns: Vec<String>,
}

/// The CRL the root signs at the ceremony.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct CrlSpec {
    /// The certificate (by name) whose key signs the CRL.
    pub issuer: String,
    pub validity_days: u32,
    /// The CRL number. When omitted: one more than the previous bundle's CRL of the same
    /// root, or 1 (see the engine's `crl_number`).
    #[serde(default)]
    pub number: Option<u64>,
    /// Certificates of the previous ceremony's bundle that this CRL revokes.
    #[serde(default)]
    pub revoke: Vec<RevokeSpec>,
}

/// A certificate of the previous bundle to revoke, and why.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RevokeSpec {
    /// Its name in the previous bundle (e.g. `intermediate`).
    pub certificate: String,
    pub reason: RevokeReason,
    /// Also revoke every certificate the previous bundle lists as superseded and not yet
    /// revoked (older intermediates whose keys sit on the same compromised token).
    #[serde(default)]
    pub with_superseded: bool,
}

#[derive(Debug, Clone, Copy, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum RevokeReason {
    Unspecified,
    KeyCompromise,
    CaCompromise,
    Superseded,
    CessationOfOperation,
}

/// Which keys are the SSH user and host CAs.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SshSpec {
    pub user_ca_key: String,
    pub host_ca_key: String,
}

/// One step of the script: its kind, what it acts on, and the text the people read.
///
/// No `deny_unknown_fields` here: serde cannot combine it with the flattened, internally
/// tagged `action` (it rejects `kind` itself). Unknown step keys are caught by the
/// structural walk in `schema`, which knows which keys each kind takes.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
pub struct StepSpec {
    /// Unique, stable id; the transcript refers to steps by it.
    pub id: String,
    pub title: String,
    /// The instruction the people read before confirming.
    pub text: String,
    #[serde(flatten)]
    pub action: StepAction,
}

/// What a step does. The fields beside `kind` name checklist entries.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum StepAction {
    /// Read and confirm; nothing else happens.
    Instruction,
    /// Network down, clock confirmed, binary and checklist hashes shown.
    Preflight,
    /// Assign a token role to a plugged-in token by serial.
    IdentifyToken {
        token: String,
    },
    /// C_InitToken, then C_Login(SO) and C_InitPIN.
    InitToken {
        token: String,
    },
    GenerateKey {
        key: String,
    },
    /// Self-sign a root certificate.
    SelfSign {
        certificate: String,
    },
    /// Sign a certificate with its issuer's key.
    SignCertificate {
        certificate: String,
    },
    SignCrl,
    /// Write the OpenSSH public key line of an SSH CA key.
    ExportSsh {
        key: String,
    },
    /// Show a certificate's fingerprint for the people to record and read back.
    RecordFingerprint {
        certificate: String,
    },
    ExportBundle,
}

impl StepAction {
    /// Every step kind as written in the checklist, in the order a ceremony uses them.
    pub const KINDS: [&'static str; 11] = [
        "preflight",
        "instruction",
        "identify-token",
        "init-token",
        "generate-key",
        "self-sign",
        "sign-certificate",
        "sign-crl",
        "export-ssh",
        "record-fingerprint",
        "export-bundle",
    ];

    /// The one key a step of `kind` takes besides `id`, `title`, `text` and `kind`
    /// (`token`, `key` or `certificate`), or `None` for kinds that take none.
    pub fn target_key_of(kind: &str) -> Option<&'static str> {
        match kind {
            "identify-token" | "init-token" => Some("token"),
            "generate-key" | "export-ssh" => Some("key"),
            "self-sign" | "sign-certificate" | "record-fingerprint" => Some("certificate"),
            _ => None,
        }
    }

    /// The checklist entry this step acts on: a token role, key name or certificate name.
    pub fn target(&self) -> Option<&str> {
        match self {
            StepAction::IdentifyToken { token } | StepAction::InitToken { token } => Some(token),
            StepAction::GenerateKey { key } | StepAction::ExportSsh { key } => Some(key),
            StepAction::SelfSign { certificate }
            | StepAction::SignCertificate { certificate }
            | StepAction::RecordFingerprint { certificate } => Some(certificate),
            StepAction::Instruction
            | StepAction::Preflight
            | StepAction::SignCrl
            | StepAction::ExportBundle => None,
        }
    }

    /// The kebab-case kind name as written in the checklist.
    pub fn kind_name(&self) -> &'static str {
        match self {
            StepAction::Instruction => "instruction",
            StepAction::Preflight => "preflight",
            StepAction::IdentifyToken { .. } => "identify-token",
            StepAction::InitToken { .. } => "init-token",
            StepAction::GenerateKey { .. } => "generate-key",
            StepAction::SelfSign { .. } => "self-sign",
            StepAction::SignCertificate { .. } => "sign-certificate",
            StepAction::SignCrl => "sign-crl",
            StepAction::ExportSsh { .. } => "export-ssh",
            StepAction::RecordFingerprint { .. } => "record-fingerprint",
            StepAction::ExportBundle => "export-bundle",
        }
    }
}
