//! `custody keygen --out FILE`: a new Ed25519 key file, mode 0600.

use serde_json::json;

use crate::cli::KeygenArgs;
use crate::keyfile;
use crate::output::Output;

/// Creates the key file and prints its public key.
pub fn run(out: Output, args: &KeygenArgs) -> anyhow::Result<()> {
    let key = keyfile::random_key()?;
    keyfile::write(&args.out, &key)?;
    let public = key.public().to_string();
    tracing::info!(file = %args.out.display(), "key file written");
    out.json(&json!({"file": args.out.display().to_string(), "public": public}));
    if out.human() {
        println!("wrote {} (mode 0600)", args.out.display());
        println!("public key: {public}");
    } else {
        out.result(&public);
    }
    Ok(())
}
