//! UTC time as the transcript and certificates use it.

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// Now, in UTC, truncated to whole seconds (certificates carry no fractions).
pub fn now() -> OffsetDateTime {
    let t = OffsetDateTime::now_utc();
    t.replace_nanosecond(0).unwrap_or(t)
}

pub fn now_rfc3339() -> String {
    rfc3339(now())
}

pub fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap_or_else(|_| t.to_string())
}
