//! `custody login --url URL --key KEYFILE`: asks the gateway for a one-time link that signs a
//! browser in to its web desk (`POST /v1/desk/sign-in`, signed with the key like every read),
//! and prints it. The link works once, for two minutes; the session it opens is bound to the
//! key and to the roles it holds at that moment.

use anyhow::Context;
use custody_client::Client;
use serde_json::json;

use crate::cli::LoginArgs;
use crate::keyfile;
use crate::output::Output;

/// Prints the sign-in link (the link alone on its line; `--json`: `{"link", "expires_in"}`).
pub async fn run(out: Output, args: &LoginArgs) -> anyhow::Result<()> {
    let url = args.url.trim_end_matches('/');
    if !(url.starts_with("http://") || url.starts_with("https://")) {
        anyhow::bail!(
            "--url {:?} is not a gateway address: expected http://HOST:PORT or https://HOST",
            custody_core::encoding::excerpt(url)
        );
    }
    let key = keyfile::read(&args.key).with_context(|| format!("--key {}", args.key.display()))?;
    let (link, secs) = Client::new(url)
        .with_key(key)
        .desk_sign_in()
        .await
        .with_context(|| format!("the gateway {url} gave no sign-in link"))?;
    out.json(&json!({"link": link, "expires_in": secs}));
    out.info(format!(
        "Ouvrez ce lien dans votre navigateur (une seule fois, dans les {secs} s) / \
         open this link in your browser (once, within {secs} s):"
    ));
    out.result(&link);
    Ok(())
}
