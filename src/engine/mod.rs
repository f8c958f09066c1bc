//! The ceremony state machine: runs a checklist's steps in order, asks for what each step
//! needs through [`Prompt`] / [`Answer`], acts, and records every completed step in the
//! transcript. On a restart with the same checklist and working folder it verifies the
//! transcript chain, rebuilds its state and continues after the last completed step.
//!
//! The engine never draws: the TUI and the unattended drill both drive it through the
//! same two calls, [`Engine::prompt`] and [`Engine::answer`], so no step has a second
//! code path for drills.

mod answer;
pub mod clock;
mod error;
mod exception;
mod gates;
mod keygen;
mod previous;
mod prompt;
mod review;
mod run;
mod state;
mod steps;
pub mod transcript;

pub use error::EngineError;
pub use keygen::KeyIntent;
pub use previous::{Previous, take_over};
pub use prompt::{Answer, Challenge, Hashed, Need, Outcome, PinKind, Prompt, Role, StepView};
pub use run::{Engine, EngineConfig, Fault, Mode, Replayed, StepStatus, replay};
pub use state::{CertFact, CrlFact, KeyFact, Person, SshFact, State, StepFacts, TokenFact};
