//! HTTP dates (RFC 9110 IMF-fixdate): `Sun, 06 Nov 1994 08:49:37 GMT`. Always "GMT",
//! never "UTC" (step-ca's `Expires` gets this wrong). Only IMF-fixdate is parsed; an
//! `If-Modified-Since` in an obsolete format is ignored, which means a full answer.

use time::format_description::FormatItem;
use time::macros::format_description;
use time::{OffsetDateTime, PrimitiveDateTime};

const IMF: &[FormatItem<'static>] = format_description!(
    "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT"
);

/// Unix seconds as an HTTP date.
pub fn http_date(unix: i64) -> String {
    OffsetDateTime::from_unix_timestamp(unix)
        .ok()
        .and_then(|t| t.format(IMF).ok())
        .unwrap_or_else(|| "Thu, 01 Jan 1970 00:00:00 GMT".into())
}

/// Appends `Date: <now>\r\n`, formatted at most once a second on each thread.
pub fn date_field(now: i64, out: &mut Vec<u8>) {
    thread_local! {
        static LINE: std::cell::RefCell<(i64, String)> =
            const { std::cell::RefCell::new((i64::MIN, String::new())) };
    }
    LINE.with_borrow_mut(|(at, line)| {
        if *at != now {
            *line = format!("Date: {}\r\n", http_date(now));
            *at = now;
        }
        out.extend_from_slice(line.as_bytes());
    });
}

/// An IMF-fixdate as unix seconds.
pub fn parse_http_date(text: &str) -> Option<i64> {
    PrimitiveDateTime::parse(text.trim(), IMF)
        .ok()
        .map(|t| t.assume_utc().unix_timestamp())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        assert_eq!(http_date(784111777), "Sun, 06 Nov 1994 08:49:37 GMT");
        assert_eq!(
            parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT"),
            Some(784111777)
        );
        assert_eq!(parse_http_date("Sunday, 06-Nov-94 08:49:37 GMT"), None);
    }
}
