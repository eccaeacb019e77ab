//! The desk's HTML: escaping, the page layout with its one small stylesheet (screen and
//! print), French dates and numbers, and the ageing chart as inline SVG. No script, no web
//! font, no image file: a page is a few kilobytes before its data.

use std::fmt::Write as _;

use custody_core::Timestamp;

use custody_views::i18n;

use super::text::{other, t, Lang, Msg};

/// The stylesheet of every page: readable without it, visible focus, and a print version
/// without navigation, black on white.
const STYLE: &str = "\
*{box-sizing:border-box}\
body{font:16px/1.45 system-ui,sans-serif;margin:0;color:#111;background:#fff}\
a{color:#0645ad}\
a:focus,button:focus,input:focus,select:focus,summary:focus{outline:3px solid #e07000;outline-offset:2px}\
.skip{position:absolute;left:-999px}.skip:focus{left:8px;top:8px;background:#fff;padding:6px;z-index:9}\
header{background:#123;color:#fff;padding:8px 16px;display:flex;flex-wrap:wrap;gap:16px;align-items:center}\
header a{color:#fff}header nav{display:flex;gap:16px;flex-wrap:wrap;flex:1}\
header form{margin:0}\
button{font:inherit;padding:4px 12px;cursor:pointer}\
main{padding:16px;max-width:1200px}\
h1{font-size:1.5em;margin:0 0 12px}h2{font-size:1.2em;margin:20px 0 8px}\
table{border-collapse:collapse;margin:8px 0}th,td{border:1px solid #999;padding:4px 8px;text-align:left;vertical-align:top}\
th{background:#eee}td.n{text-align:right}\
.code{white-space:nowrap;font-family:ui-monospace,monospace}td[data-check]{white-space:nowrap}.ok{color:#064}.bad{color:#a00;font-weight:bold}\
fieldset{border:1px solid #999;display:flex;flex-wrap:wrap;gap:12px;align-items:end}\
label{display:flex;flex-direction:column;font-size:.9em}\
label.check{flex-direction:row;gap:6px;align-items:center}\
pre{white-space:pre-wrap;font-size:.85em;background:#f6f6f6;padding:6px;margin:4px 0}\
code{background:#f0f0f0;padding:1px 4px}\
.note{background:#fff7e0;border-left:4px solid #e07000;padding:8px 12px}\
@media print{header,.skip,form,.noprint{display:none!important}\
body{color:#000;background:#fff}a{color:#000;text-decoration:none}\
th{background:#fff}main{max-width:none;padding:0}}";

/// Escapes text for HTML content and for attribute values in double quotes (the only quotes
/// the desk writes attributes with, so an apostrophe of French text stays as it is).
pub fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            c => out.push(c),
        }
    }
    out
}

/// Escapes a query value (percent-encoding of everything but unreserved characters).
pub fn query_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// What the header of a page shows of the session.
pub struct Nav<'a> {
    /// The agency signed in for.
    pub agency: &'a str,
    /// The path of this page without `lang` (for the language link), e.g. `/desk/alarms?x=1`.
    pub here: &'a str,
}

/// A whole page: `<html lang>`, skip link, header (navigation when signed in), `main`.
pub fn page(lang: Lang, title: &str, nav: Option<&Nav<'_>>, main: &str) -> String {
    let l = lang.as_str();
    let mut out = String::with_capacity(main.len() + STYLE.len() + 1500);
    let _ = write!(
        out,
        "<!doctype html><html lang=\"{l}\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
         <title>{} · {}</title><style>{STYLE}</style></head><body>\
         <a class=\"skip\" href=\"#main\">{}</a><header><strong>{}</strong>",
        esc(title),
        esc(t(lang, Msg::Desk)),
        esc(t(lang, Msg::Skip)),
        esc(t(lang, Msg::Desk)),
    );
    let other = other(lang);
    match nav {
        Some(nav) => {
            let q = if lang == Lang::En { "?lang=en" } else { "" };
            let _ = write!(
                out,
                "<nav aria-label=\"menu\"><a href=\"/desk/backlog{q}\">{}</a>\
                 <a href=\"/desk/alarms{q}\">{}</a>\
                 <a href=\"{}\" hreflang=\"{}\" lang=\"{}\">{}</a></nav>\
                 <span>{} {}</span>\
                 <form method=\"post\" action=\"/desk/sign-out{q}\"><button type=\"submit\">{}</button></form>",
                esc(t(lang, Msg::NavBacklog)),
                esc(t(lang, Msg::NavAlarms)),
                esc(&with_lang(nav.here, other)),
                other.as_str(),
                other.as_str(),
                esc(t(lang, Msg::OtherLanguage)),
                esc(t(lang, Msg::SignedInAs)),
                esc(nav.agency),
                esc(t(lang, Msg::SignOut)),
            );
        }
        None => {
            let _ = write!(
                out,
                "<nav aria-label=\"menu\"><a href=\"/desk/sign-in?lang={}\" hreflang=\"{}\" lang=\"{}\">{}</a></nav>",
                other.as_str(),
                other.as_str(),
                other.as_str(),
                esc(t(lang, Msg::OtherLanguage)),
            );
        }
    }
    let _ = write!(
        out,
        "</header><main id=\"main\" tabindex=\"-1\"><h1>{}</h1>{main}</main></body></html>",
        esc(title)
    );
    out
}

/// `here` with `lang=` set to `lang` (dropped for French, the default).
pub fn with_lang(here: &str, lang: Lang) -> String {
    let (path, query) = here.split_once('?').unwrap_or((here, ""));
    let mut pairs: Vec<&str> = query
        .split('&')
        .filter(|p| !p.is_empty() && !p.starts_with("lang="))
        .collect();
    if lang == Lang::En {
        pairs.push("lang=en");
    }
    if pairs.is_empty() {
        path.to_string()
    } else {
        format!("{path}?{}", pairs.join("&"))
    }
}

/// A wire timestamp (UTC, Mali's time) written for people, as the reports write it
/// (`custody_views::i18n::fmt_datetime`: `1 décembre 2026 à 14 h 05`), the time kept on one
/// line.
pub fn datetime(ts: &Timestamp, lang: Lang) -> String {
    i18n::fmt_datetime(lang, ts).replace(" h ", "\u{a0}h\u{a0}")
}

/// A count written the French way (`1 234`) or the English way (`1,234`).
pub fn number(n: u64, lang: Lang) -> String {
    i18n::fmt_int(lang, i64::try_from(n).unwrap_or(i64::MAX))
}

/// Horizontal bars, one per (label, count), as inline SVG with a title and the counts written
/// beside the bars (the figures do not depend on the drawing).
pub fn bar_chart(title: &str, bars: &[(String, u64)], lang: Lang) -> String {
    let max = bars.iter().map(|(_, n)| *n).max().unwrap_or(0).max(1);
    let row = 28;
    let label_w = 150;
    let bar_w = 400;
    let height = row * bars.len() + 8;
    let mut out = String::new();
    let _ = write!(
        out,
        "<svg role=\"img\" aria-labelledby=\"chart-title\" width=\"{}\" height=\"{height}\" \
         viewBox=\"0 0 {} {height}\" xmlns=\"http://www.w3.org/2000/svg\" font-size=\"13\">\
         <title id=\"chart-title\">{}</title>",
        label_w + bar_w + 80,
        label_w + bar_w + 80,
        esc(title)
    );
    for (i, (label, n)) in bars.iter().enumerate() {
        let y = i * row + 4;
        let w = (*n as usize * bar_w) / max as usize;
        let _ = write!(
            out,
            "<text x=\"{}\" y=\"{}\" text-anchor=\"end\">{}</text>\
             <rect x=\"{label_w}\" y=\"{y}\" width=\"{w}\" height=\"{}\" fill=\"#345\"/>\
             <text x=\"{}\" y=\"{}\">{}</text>",
            label_w - 8,
            y + 16,
            esc(label),
            row - 8,
            label_w + w + 6,
            y + 16,
            esc(&number(*n, lang)),
        );
    }
    out.push_str("</svg>");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn french_dates_numbers_and_escaping() {
        let ts = Timestamp::parse("2026-12-01T14:05:00Z").unwrap();
        assert_eq!(
            datetime(&ts, Lang::Fr),
            "1 décembre 2026 à 14\u{a0}h\u{a0}05"
        );
        assert_eq!(datetime(&ts, Lang::En), "1 December 2026 at 14:05");
        assert_eq!(number(1234, Lang::Fr), "1\u{a0}234");
        assert_eq!(number(1_234_567, Lang::En), "1,234,567");
        assert_eq!(number(12, Lang::Fr), "12");
        assert_eq!(
            esc("<a href=\"x\">&'"),
            "&lt;a href=&quot;x&quot;&gt;&amp;'"
        );
        assert_eq!(query_escape("ml-mca bamako/é"), "ml-mca%20bamako%2F%C3%A9");
    }

    #[test]
    fn pages_carry_their_language_and_stay_small() {
        let p = page(
            Lang::En,
            "T",
            Some(&Nav {
                agency: "ml-x",
                here: "/desk/alarms?a=1&lang=en",
            }),
            "<p>x</p>",
        );
        assert!(p.starts_with("<!doctype html><html lang=\"en\">"));
        assert!(
            p.contains("href=\"/desk/alarms?a=1\" hreflang=\"fr\""),
            "{p}"
        );
        assert!(p.contains("@media print"));
        assert!(p.len() < 8 * 1024, "{}", p.len());
        assert_eq!(with_lang("/desk/x", Lang::En), "/desk/x?lang=en");
    }
}
