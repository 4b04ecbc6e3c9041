//! The `/admin` page: one self-contained HTML document (inline CSS, inline
//! SVG charts drawn here, no script, no external resource), reloading itself
//! with a meta refresh. Each figure sits in an element with a
//! `data-figure="…"` attribute named after its `status --json` path, so a
//! browser test can read the numbers back. Every value is HTML-escaped.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::ledger::progress::{Figures, Group, Progress, VERDICT_HOURS};

/// Id of the burn-down chart's `<svg>`.
pub const BURNDOWN_ID: &str = "burndown-chart";
/// Id of the verdicts-per-hour chart's `<svg>`.
pub const VERDICTS_ID: &str = "verdicts-chart";

const CHART_W: f64 = 720.0;
const CHART_H: f64 = 220.0;
const PAD_L: f64 = 56.0;
const PAD_R: f64 = 12.0;
const PAD_T: f64 = 12.0;
const PAD_B: f64 = 28.0;

/// Bar colours of the verdicts chart, by reason (others take the palette in turn).
const VERIFIED_COLOUR: &str = "#2e7d32";
const PALETTE: [&str; 8] = [
    "#c62828", "#ef6c00", "#6a1b9a", "#1565c0", "#00838f", "#ad1457", "#4e342e", "#546e7a",
];

const STYLE: &str = "\
body{font:14px/1.4 system-ui,sans-serif;margin:0;background:#f5f6f8;color:#1d232b}\
header{background:#1d232b;color:#fff;padding:12px 24px}header h1{margin:0;font-size:20px}\
header p{margin:4px 0 0;color:#c7ced8}main{padding:16px 24px;max-width:1120px}\
section{background:#fff;border-radius:6px;padding:12px 16px;margin:0 0 16px;box-shadow:0 1px 2px #0002}\
h2{font-size:15px;margin:0 0 8px}.cards{display:flex;flex-wrap:wrap;gap:8px}\
.card{flex:1 1 130px;border:1px solid #e1e5ea;border-radius:4px;padding:8px}\
.card .v{font-size:22px;font-weight:600}.card .k{color:#5b6673;font-size:12px}\
table{border-collapse:collapse;width:100%}th,td{padding:4px 8px;border-bottom:1px solid #e1e5ea;text-align:right}\
th:first-child,td:first-child,th:nth-child(2),td:nth-child(2){text-align:left}\
svg text{font:11px system-ui,sans-serif;fill:#5b6673}.legend span{display:inline-block;margin-right:12px}\
.legend i{display:inline-block;width:10px;height:10px;margin-right:4px;vertical-align:middle}\
.error{color:#c62828;font-weight:600}";

/// Escapes text for HTML content and quoted attribute values.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn head(out: &mut String, refresh_secs: u32) {
    let _ = write!(
        out,
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta http-equiv=\"refresh\" content=\"{refresh_secs}\">\
         <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
         <title>passbridge migration</title><style>{STYLE}</style></head><body>"
    );
}

/// The page for `p`.
pub fn render(p: &Progress, refresh_secs: u32) -> String {
    let mut out = String::with_capacity(16 * 1024);
    head(&mut out, refresh_secs);
    let _ = write!(
        out,
        "<header><h1>passbridge: migration progress</h1><p>Figures at \
         <time data-figure=\"generated_at\">{}</time>; this page reloads every {refresh_secs} s. \
         The same document for scripts: <code>/admin/status.json</code>.</p></header><main>",
        esc(&p.generated_at)
    );
    totals(&mut out, &p.totals, p);
    let _ = write!(
        out,
        "<section><h2>Users still to migrate, last {} days</h2>",
        p.daily.len()
    );
    burndown(&mut out, p);
    out.push_str("</section>");
    let _ = write!(
        out,
        "<section><h2>Okta's hook calls per hour by reason, last {VERDICT_HOURS} hours</h2>"
    );
    verdicts(&mut out, p);
    out.push_str("</section>");
    out.push_str("<section><h2>By legacy source</h2>");
    table(&mut out, &p.by_source, "by_source");
    out.push_str("</section><section><h2>By scheme</h2>");
    table(&mut out, &p.by_scheme, "by_scheme");
    out.push_str("</section>");
    import_run(&mut out, p);
    out.push_str("</main></body></html>");
    out
}

/// The page when the figures cannot be computed.
pub fn unavailable(reason: &str, refresh_secs: u32) -> String {
    let mut out = String::new();
    head(&mut out, refresh_secs);
    let _ = write!(
        out,
        "<header><h1>passbridge: migration progress</h1></header><main><section>\
         <p class=\"error\" data-figure=\"error\">{}</p><p>This page retries every {refresh_secs} s.</p>\
         </section></main></body></html>",
        esc(reason)
    );
    out
}

fn card(out: &mut String, figure: &str, label: &str, value: &str) {
    let _ = write!(
        out,
        "<div class=\"card\"><div class=\"v\" data-figure=\"{}\">{}</div><div class=\"k\">{}</div></div>",
        esc(figure),
        esc(value),
        esc(label)
    );
}

fn totals(out: &mut String, t: &Figures, p: &Progress) {
    let i = &t.import;
    out.push_str("<section><h2>Import</h2><div class=\"cards\">");
    for (figure, label, n) in [
        ("import.seen", "legacy users seen", i.seen),
        ("import.native", "imported native", i.native),
        ("import.hook", "imported via hook", i.hook),
        ("import.failed", "failed", i.failed),
        ("import.pending", "pending", i.pending),
        ("import.skipped", "skipped", i.skipped),
    ] {
        card(out, figure, label, &n.to_string());
    }
    let h = &t.hook;
    out.push_str("</div></section><section><h2>Hook users</h2><div class=\"cards\">");
    for (figure, label, n) in [
        ("hook.verified", "verified", h.verified),
        ("hook.confirmed", "confirmed by Okta", h.confirmed),
        (
            "hook.awaiting_confirmation",
            "awaiting confirmation",
            h.awaiting_confirmation,
        ),
        ("hook.reset_sent", "sent a password reset", h.reset_sent),
        ("hook.waiting", "still waiting", h.waiting),
    ] {
        card(out, figure, label, &n.to_string());
    }
    let r = &p.rate;
    card(
        out,
        "rate.verified_per_day",
        &format!("verified per day (last {} days)", r.window_days),
        &format!("{:.1}", r.verified_per_day),
    );
    card(
        out,
        "rate.estimated_completion",
        "estimated completion",
        r.estimated_completion.as_deref().unwrap_or("unknown"),
    );
    out.push_str("</div></section><section><h2>Stragglers (still waiting since import)</h2><div class=\"cards\">");
    for s in &t.stragglers {
        card(
            out,
            &format!("stragglers.{}", s.older_than_days),
            &format!("after {} days", s.older_than_days),
            &s.users.to_string(),
        );
    }
    out.push_str("</div></section>");
}

fn svg_open(out: &mut String, id: &str, label: &str) {
    let _ = write!(
        out,
        "<svg id=\"{id}\" role=\"img\" aria-label=\"{}\" viewBox=\"0 0 {CHART_W} {CHART_H}\" \
         width=\"100%\" preserveAspectRatio=\"xMinYMin meet\" xmlns=\"http://www.w3.org/2000/svg\">",
        esc(label)
    );
    let (x0, y0, y1) = (PAD_L, PAD_T, CHART_H - PAD_B);
    let x1 = CHART_W - PAD_R;
    let _ = write!(
        out,
        "<line x1=\"{x0}\" y1=\"{y1}\" x2=\"{x1}\" y2=\"{y1}\" stroke=\"#9aa4b0\"/>\
         <line x1=\"{x0}\" y1=\"{y0}\" x2=\"{x0}\" y2=\"{y1}\" stroke=\"#9aa4b0\"/>"
    );
}

fn y_labels(out: &mut String, max: i64) {
    let _ = write!(
        out,
        "<text x=\"{}\" y=\"{}\" text-anchor=\"end\">{max}</text>\
         <text x=\"{}\" y=\"{}\" text-anchor=\"end\">0</text>",
        PAD_L - 6.0,
        PAD_T + 10.0,
        PAD_L - 6.0,
        CHART_H - PAD_B
    );
}

fn x_label(out: &mut String, x: f64, anchor: &str, text: &str) {
    let _ = write!(
        out,
        "<text x=\"{x:.1}\" y=\"{}\" text-anchor=\"{anchor}\">{}</text>",
        CHART_H - PAD_B + 16.0,
        esc(text)
    );
}

fn burndown(out: &mut String, p: &Progress) {
    svg_open(out, BURNDOWN_ID, "Users still to migrate per day");
    let days = &p.daily;
    let max = days.iter().map(|d| d.remaining).max().unwrap_or(0).max(1);
    y_labels(out, max);
    let plot_w = CHART_W - PAD_L - PAD_R;
    let plot_h = CHART_H - PAD_T - PAD_B;
    let step = plot_w / (days.len().max(2) - 1) as f64;
    let point = |i: usize, v: i64| {
        let x = PAD_L + step * i as f64;
        let y = PAD_T + plot_h * (1.0 - v.max(0) as f64 / max as f64);
        (x, y)
    };
    let mut line = String::new();
    for (i, d) in days.iter().enumerate() {
        let (x, y) = point(i, d.remaining);
        let _ = write!(line, "{x:.1},{y:.1} ");
    }
    if !days.is_empty() {
        let (first_x, _) = point(0, 0);
        let (last_x, _) = point(days.len() - 1, 0);
        let base = CHART_H - PAD_B;
        let _ = write!(
            out,
            "<polygon fill=\"#1565c022\" points=\"{first_x:.1},{base} {line}{last_x:.1},{base}\"/>\
             <polyline fill=\"none\" stroke=\"#1565c0\" stroke-width=\"2\" points=\"{}\"/>",
            line.trim_end()
        );
        for (i, d) in days.iter().enumerate() {
            let (x, y) = point(i, d.remaining);
            let _ = write!(
                out,
                "<circle cx=\"{x:.1}\" cy=\"{y:.1}\" r=\"2.5\" fill=\"#1565c0\"><title>{}: {} still to migrate \
                 ({} imported via hook, {} verified)</title></circle>",
                esc(&d.day),
                d.remaining,
                d.imported_hook,
                d.verified
            );
        }
        x_label(out, PAD_L, "start", &days[0].day);
        x_label(out, CHART_W - PAD_R, "end", &days[days.len() - 1].day);
    }
    out.push_str("</svg>");
}

fn colour(reason: &str, others: &mut BTreeMap<String, &'static str>) -> &'static str {
    if reason == "verified" {
        return VERIFIED_COLOUR;
    }
    let next = PALETTE[others.len() % PALETTE.len()];
    others.entry(reason.to_owned()).or_insert(next)
}

fn verdicts(out: &mut String, p: &Progress) {
    let hours = hour_keys(&p.generated_at);
    let mut per_hour: BTreeMap<&str, Vec<(&str, i64)>> = BTreeMap::new();
    for v in &p.verdicts_hourly {
        per_hour
            .entry(v.hour.as_str())
            .or_default()
            .push((v.reason.as_str(), v.calls));
    }
    let max = per_hour
        .values()
        .map(|calls| calls.iter().map(|(_, n)| n).sum::<i64>())
        .max()
        .unwrap_or(0)
        .max(1);
    svg_open(out, VERDICTS_ID, "Okta's hook calls per hour by reason");
    y_labels(out, max);
    let plot_w = CHART_W - PAD_L - PAD_R;
    let plot_h = CHART_H - PAD_T - PAD_B;
    let slot = plot_w / hours.len().max(1) as f64;
    let mut colours = BTreeMap::new();
    let mut reasons: Vec<&str> = p
        .verdicts_hourly
        .iter()
        .map(|v| v.reason.as_str())
        .collect();
    reasons.sort_unstable();
    reasons.dedup();
    for r in &reasons {
        colour(r, &mut colours);
    }
    for (i, hour) in hours.iter().enumerate() {
        let x = PAD_L + slot * i as f64 + slot * 0.15;
        let mut y = CHART_H - PAD_B;
        for (reason, calls) in per_hour.get(hour.as_str()).into_iter().flatten() {
            let h = plot_h * *calls as f64 / max as f64;
            y -= h;
            let _ = write!(
                out,
                "<rect x=\"{x:.1}\" y=\"{y:.1}\" width=\"{:.1}\" height=\"{h:.1}\" fill=\"{}\">\
                 <title>{}:00 UTC, {}: {calls}</title></rect>",
                slot * 0.7,
                colour(reason, &mut colours),
                esc(hour),
                esc(reason)
            );
        }
    }
    if let (Some(first), Some(last)) = (hours.first(), hours.last()) {
        x_label(out, PAD_L, "start", &format!("{first}:00"));
        x_label(out, CHART_W - PAD_R, "end", &format!("{last}:00"));
    }
    out.push_str("</svg><p class=\"legend\">");
    if reasons.is_empty() {
        out.push_str("No hook calls from Okta in this window.");
    }
    for r in reasons {
        let _ = write!(
            out,
            "<span><i style=\"background:{}\"></i>{}</span>",
            colour(r, &mut colours),
            esc(r)
        );
    }
    out.push_str("</p>");
}

/// `YYYY-MM-DDTHH` of the [`VERDICT_HOURS`] hours ending at `generated_at`.
fn hour_keys(generated_at: &str) -> Vec<String> {
    let Ok(now) =
        time::OffsetDateTime::parse(generated_at, &time::format_description::well_known::Rfc3339)
    else {
        return Vec::new();
    };
    (0..VERDICT_HOURS)
        .rev()
        .map(|back| {
            let at = now - time::Duration::hours(back);
            crate::ledger::rfc3339(at)[..13].to_owned()
        })
        .collect()
}

fn table(out: &mut String, groups: &[Group], prefix: &str) {
    out.push_str(
        "<table><thead><tr><th>source</th><th>scheme</th><th>seen</th><th>native</th><th>hook</th>\
         <th>failed</th><th>pending</th><th>verified</th><th>confirmed</th><th>waiting</th>",
    );
    if let Some(g) = groups.first() {
        for s in &g.figures.stragglers {
            let _ = write!(out, "<th>&gt;{}d</th>", s.older_than_days);
        }
    }
    out.push_str("</tr></thead><tbody>");
    for g in groups {
        let scheme = g.scheme.as_deref().unwrap_or("-");
        let key = format!("{prefix}.{}.{}", g.source, scheme);
        let (i, h) = (&g.figures.import, &g.figures.hook);
        let _ = write!(
            out,
            "<tr><td>{}</td><td>{}</td>",
            esc(&g.source),
            esc(scheme)
        );
        for (name, n) in [
            ("seen", i.seen),
            ("native", i.native),
            ("hook", i.hook),
            ("failed", i.failed),
            ("pending", i.pending),
            ("verified", h.verified),
            ("confirmed", h.confirmed),
            ("waiting", h.waiting),
        ] {
            let _ = write!(out, "<td data-figure=\"{}.{name}\">{n}</td>", esc(&key));
        }
        for s in &g.figures.stragglers {
            let _ = write!(out, "<td>{}</td>", s.users);
        }
        out.push_str("</tr>");
    }
    if groups.is_empty() {
        out.push_str("<tr><td colspan=\"14\">No users imported yet.</td></tr>");
    }
    out.push_str("</tbody></table>");
}

fn import_run(out: &mut String, p: &Progress) {
    out.push_str("<section><h2>Last import run: Okta rate limit</h2><div class=\"cards\">");
    match &p.rate_limit {
        None => out.push_str("<p>No import run recorded.</p>"),
        Some(run) => {
            let opt = |v: Option<i64>| v.map_or_else(|| "unknown".to_owned(), |n| n.to_string());
            card(
                out,
                "rate_limit.remaining",
                "requests left in the window",
                &opt(run.remaining),
            );
            card(
                out,
                "rate_limit.limit",
                "requests per window",
                &opt(run.limit),
            );
            card(
                out,
                "rate_limit.resets_at",
                "window resets",
                run.resets_at.as_deref().unwrap_or("unknown"),
            );
            card(
                out,
                "rate_limit.users_done",
                "users done",
                &run.users_done.to_string(),
            );
            card(
                out,
                "rate_limit.users_total",
                "users to do",
                &opt(run.users_total),
            );
            let state = match (&run.finished_at, &run.eta) {
                (Some(at), _) => format!("finished {at}"),
                (None, Some(eta)) => format!("ETA {eta}"),
                (None, None) => format!("last report {}", run.updated_at),
            };
            card(out, "rate_limit.state", "run", &state);
        }
    }
    out.push_str("</div></section>");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_covers_markup_and_both_quotes() {
        assert_eq!(
            esc("<script>\"x\" & 'y'</script>"),
            "&lt;script&gt;&quot;x&quot; &amp; &#39;y&#39;&lt;/script&gt;"
        );
    }

    #[test]
    fn hour_keys_end_at_the_generation_hour() {
        let keys = hour_keys("2026-12-02T14:09:27.000000Z");
        assert_eq!(keys.len(), VERDICT_HOURS as usize);
        assert_eq!(keys.last().map(String::as_str), Some("2026-12-02T14"));
        assert_eq!(keys.first().map(String::as_str), Some("2026-12-01T15"));
    }
}
