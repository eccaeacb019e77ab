//! Chain arguments (`--chain`): a chain id (`authority`, `d-...`) or the human code of a
//! detainee chain (`2BM6-H0NG-Q`, what the demo prints and what a clerk reads off a form).
//!
//! A code is resolved against the chains of the ledger, never guessed: 40 bits make a shared
//! code unlikely but possible (SPEC section 13), so a code that two chains share is refused
//! with both chain ids listed, and a code no chain has is refused. Every command that takes a
//! chain goes through [`ChainArg`].

use std::collections::BTreeSet;

use custody_core::humancode::{code_for_chain, normalize_code, CodeError};
use custody_core::ids::is_valid_chain_id;
use custody_store::{LedgerScan, LedgerStore};

/// A `--chain` value, checked for its form but not yet looked up.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ChainArg {
    /// A chain id, taken as it is.
    Id(String),
    /// A human code in canonical form (`XXXX-XXXX-C`), to resolve against the ledger.
    Code {
        /// The code as typed.
        typed: String,
        /// Its canonical form.
        code: String,
    },
}

impl ChainArg {
    /// Reads a chain id or a human code (read leniently: case, O/I/L and hyphens as
    /// Crockford says), or says clearly why `input` is neither. `flag` names the option.
    pub fn parse(flag: &str, input: &str) -> anyhow::Result<ChainArg> {
        if is_valid_chain_id(input) {
            return Ok(ChainArg::Id(input.to_string()));
        }
        match normalize_code(input) {
            Ok(code) => Ok(ChainArg::Code {
                typed: input.to_string(),
                code,
            }),
            Err(e) => anyhow::bail!(
                "--{flag} {input:?} n'est ni un identifiant de chaîne (\"authority\", ou d- suivi \
                 d'un ULID de 26 caractères en minuscules) ni un code de détenu XXXX-XXXX-C : {}",
                code_error_fr(&e)
            ),
        }
    }

    /// The chain id: a chain id as given, a code looked up among the chains of the ledger in
    /// `store` (`shown` names the store in messages).
    pub async fn resolve(
        &self,
        flag: &str,
        store: &dyn LedgerStore,
        shown: &str,
    ) -> anyhow::Result<String> {
        match self {
            ChainArg::Id(id) => Ok(id.clone()),
            ChainArg::Code { typed, code } => {
                let chains = chains_with_code(store, code).await?;
                pick(flag, typed, code, chains, shown)
            }
        }
    }
}

/// One chain for a code, or a clear refusal (none, or several: never a guess).
fn pick(
    flag: &str,
    typed: &str,
    code: &str,
    chains: BTreeSet<String>,
    shown: &str,
) -> anyhow::Result<String> {
    let mut it = chains.into_iter();
    match (it.next(), it.next()) {
        (Some(one), None) => {
            tracing::debug!(code, chain = %one, "human code resolved");
            Ok(one)
        }
        (None, _) => anyhow::bail!(
            "--{flag} {typed:?} : aucune chaîne du registre {shown} n'a le code {code} \
             (vérifiez le code sur le formulaire, ou passez l'identifiant d-... de la chaîne)"
        ),
        (Some(first), Some(second)) => {
            let mut all = vec![first, second];
            all.extend(it);
            anyhow::bail!(
                "--{flag} {typed:?} : le code {code} est celui de {} chaînes du registre {shown}, \
                 {} ; un code de 40 bits peut être partagé et n'est pas deviné : passez \
                 l'identifiant complet de la chaîne voulue",
                all.len(),
                all.join(", ")
            )
        }
    }
}

/// Every chain of the ledger whose human code is `code` (one pass over the headers).
async fn chains_with_code(store: &dyn LedgerStore, code: &str) -> anyhow::Result<BTreeSet<String>> {
    let mut found = BTreeSet::new();
    let mut seen = BTreeSet::new();
    let mut scan = LedgerScan::new(store, 0);
    while let Some(batch) = scan.next_batch().await? {
        for ev in &batch {
            let chain = &ev.record.header.chain;
            if !seen.contains(chain) {
                seen.insert(chain.clone());
                if code_for_chain(chain) == code {
                    found.insert(chain.clone());
                }
            }
        }
    }
    Ok(found)
}

/// Why a typed code was refused, in French.
fn code_error_fr(e: &CodeError) -> String {
    match e {
        CodeError::WrongLength { found } => format!(
            "un code a 9 caractères (8 caractères et 1 caractère de contrôle, tirets et espaces \
             non comptés), celui-ci en a {found}"
        ),
        CodeError::InvalidCharacter {
            character,
            position,
        } => format!(
            "le caractère {character:?} en position {position} n'est pas un caractère de code"
        ),
        CodeError::CheckMismatch { code } => format!(
            "{code} ne passe pas son caractère de contrôle : un caractère a sans doute été mal \
             recopié"
        ),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two chain ids whose SHA-256 starts with the same 40 bits (found by a birthday search
    /// over 1.4 million ids with Python's hashlib): they share a human code.
    const SHARED_CODE_CHAINS: [&str; 2] = [
        "d-01m8p570g00qqd00000000g5cn",
        "d-01m8p570g00qqd00000000w8vn",
    ];

    #[test]
    fn ids_pass_codes_are_read_leniently_and_garbage_is_named() {
        let id = "d-01jd8x3k5q7v9w2y4z6b8c0e1f";
        assert_eq!(
            ChainArg::parse("chain", id).unwrap(),
            ChainArg::Id(id.into())
        );
        assert_eq!(
            ChainArg::parse("chain", "authority").unwrap(),
            ChainArg::Id("authority".into())
        );
        let code = code_for_chain(id);
        let typed = code.to_lowercase().replace('-', " ");
        assert_eq!(
            ChainArg::parse("chain", &typed).unwrap(),
            ChainArg::Code {
                typed: typed.clone(),
                code: code.clone()
            }
        );
        let err = ChainArg::parse("chain", "d-123").unwrap_err().to_string();
        assert!(
            err.contains("--chain \"d-123\" n'est ni un identifiant"),
            "{err}"
        );
        // One character mistyped: the check character catches it.
        let mut wrong: Vec<char> = code.chars().collect();
        wrong[0] = if wrong[0] == '0' { '1' } else { '0' };
        let wrong: String = wrong.into_iter().collect();
        let err = ChainArg::parse("chain", &wrong).unwrap_err().to_string();
        assert!(err.contains("caractère de contrôle"), "{err}");
    }

    #[test]
    fn a_code_names_one_chain_or_is_refused() {
        let [a, b] = SHARED_CODE_CHAINS;
        let code = code_for_chain(a);
        assert_eq!(code, code_for_chain(b), "the pair shares a code");
        let one: BTreeSet<String> = [a.to_string()].into();
        assert_eq!(pick("chain", &code, &code, one, "x.db").unwrap(), a);
        let none = pick("chain", &code, &code, BTreeSet::new(), "x.db")
            .unwrap_err()
            .to_string();
        assert!(none.contains("aucune chaîne du registre x.db"), "{none}");
        let both: BTreeSet<String> = [a.to_string(), b.to_string()].into();
        let err = pick("chain", &code, &code, both, "x.db")
            .unwrap_err()
            .to_string();
        assert!(err.contains("2 chaînes"), "{err}");
        assert!(err.contains(a) && err.contains(b), "both ids listed: {err}");
    }
}
