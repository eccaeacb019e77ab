//! The words of the web desk's own pages (navigation, sign-in, verification marks), French
//! first and English on request, in one table: every message has both languages by
//! construction (one `match` arm holds both), and a test checks none is empty. The words of
//! the reports themselves (backlog, ageing buckets, legal statuses, event kinds) and the French
//! dates and numbers are those of `custody_views::i18n`, the one catalogue of the reports.

pub use custody_views::i18n::Lang;

/// The language of a `lang` query value: `en` is English, anything else French (the default).
pub fn parse_lang(value: Option<&str>) -> Lang {
    match value {
        Some("en") => Lang::En,
        _ => Lang::Fr,
    }
}

/// The other language (for the language link).
pub fn other(lang: Lang) -> Lang {
    match lang {
        Lang::Fr => Lang::En,
        Lang::En => Lang::Fr,
    }
}

macro_rules! messages {
    ($( $(#[$doc:meta])* $id:ident => $fr:literal, $en:literal; )*) => {
        /// One message of the desk.
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub enum Msg { $( $(#[$doc])* $id, )* }

        impl Msg {
            /// Every message.
            pub const ALL: &'static [Msg] = &[ $( Msg::$id, )* ];
        }

        /// The text of `msg` in `lang`.
        pub fn t(lang: Lang, msg: Msg) -> &'static str {
            match (msg, lang) {
                $( (Msg::$id, Lang::Fr) => $fr, (Msg::$id, Lang::En) => $en, )*
            }
        }
    };
}

messages! {
    /// The desk's name.
    Desk => "Bureau du registre de garde", "Custody ledger desk";
    /// Skip link.
    Skip => "Aller au contenu", "Skip to content";
    /// Nav: the backlog.
    NavBacklog => "Détention provisoire", "Pre-trial backlog";
    /// Nav: the alarms.
    NavAlarms => "Alertes", "Alarms";
    /// The name of the other language, in itself.
    OtherLanguage => "English", "Français";
    /// Sign-out button.
    SignOut => "Se déconnecter", "Sign out";
    /// Before the agency of the session.
    SignedInAs => "Connecté pour", "Signed in for";
    /// Sign-in page title.
    SignInTitle => "Connexion", "Sign in";
    /// Sign-in explanation.
    SignInHow => "Ce bureau s'ouvre avec votre clé enrôlée, sans mot de passe. Dans un terminal, lancez :", "This desk opens with your enrolled key, without a password. In a terminal, run:";
    /// After the command.
    SignInThen => "puis ouvrez dans ce navigateur le lien qu'elle affiche. Le lien ne sert qu'une fois et expire après 2 minutes ; la session se ferme après 30 minutes sans activité, et au plus tard après 8 heures.", "then open the link it prints in this browser. The link works once and expires after 2 minutes; the session closes after 30 minutes without activity, and after 8 hours at most.";
    /// The placeholder of the key file in the command.
    KeyFile => "VOTRE_CLE.key", "YOUR_KEY.key";
    /// A sign-in link used, expired or unknown.
    CodeRefused => "Ce lien de connexion n'est plus valable (déjà utilisé, expiré, ou le serveur a redémarré). Demandez-en un autre avec custody login.", "This sign-in link is no longer valid (used already, expired, or the server restarted). Ask for another with custody login.";
    /// No session.
    NoSession => "Vous n'êtes pas connecté.", "You are not signed in.";
    /// Idle session ended.
    SessionIdle => "Votre session a été fermée après 30 minutes sans activité.", "Your session was closed after 30 minutes without activity.";
    /// Session past its absolute limit.
    SessionExpired => "Votre session a atteint sa durée maximale et a été fermée.", "Your session reached its longest duration and was closed.";
    /// The key of the session is no longer valid.
    KeyInvalid => "La clé de cette session n'est plus valable (révoquée ou expirée) : la session est fermée.", "The key of this session is no longer valid (revoked or expired): the session is closed.";
    /// After sign-out.
    SignedOut => "Vous êtes déconnecté.", "You are signed out.";
    /// 403 title.
    Forbidden => "Accès refusé", "Access refused";
    /// 403 text.
    ForbiddenText => "Les rôles de votre clé ne permettent pas de voir cette page.", "The roles of your key do not allow this page.";
    /// 404 title.
    NotFound => "Introuvable", "Not found";
    /// A chain not in the ledger.
    NoSuchChain => "Aucun dossier de ce registre ne porte cette référence.", "No file of this ledger has this reference.";
    /// 503 title.
    Unavailable => "Service indisponible", "Service unavailable";
    /// The access log could not be written.
    AccessLogDown => "Le journal des accès ne peut pas être écrit : aucune donnée personnelle n'est affichée. Réessayez dans un instant.", "The access log cannot be written: no personal data is shown. Try again in a moment.";
    /// The store did not answer.
    StoreDown => "Le registre ne répond pas. Réessayez dans un instant.", "The ledger does not answer. Try again in a moment.";
    /// Timeline title.
    TimelineTitle => "Chronologie du dossier", "Timeline of file";
    /// Timeline intro.
    TimelineIntro => "Chaque événement est vérifié à l'affichage : empreinte recalculée et signature contrôlée.", "Each event is checked as it is shown: hash recomputed and signature verified.";
    /// Column: sequence number.
    ColSeq => "N°", "No.";
    /// Column: event kind.
    ColEvent => "Événement", "Event";
    /// Column: when it happened.
    ColOccurred => "Survenu le", "Happened";
    /// Column: when recorded.
    ColRecorded => "Enregistré le", "Recorded";
    /// Column: agency.
    ColAgency => "Agence", "Agency";
    /// Column: verification.
    ColCheck => "Vérification", "Check";
    /// Column: content.
    ColContent => "Contenu", "Content";
    /// Mark: verified.
    Verified => "✓ vérifié", "✓ verified";
    /// Mark: hash differs.
    BadHash => "✗ empreinte fausse", "✗ wrong hash";
    /// Mark: signature does not verify.
    BadSignature => "✗ signature invalide", "✗ invalid signature";
    /// Mark: payload does not match its digest.
    BadPayload => "✗ contenu altéré", "✗ altered content";
    /// Content withheld from this reader.
    Withheld => "réservé : vos rôles ne permettent pas de le lire", "withheld: your roles do not allow reading it";
    /// Content redacted.
    Redacted => "caviardé par décision légale", "redacted by a lawful decision";
    /// Content missing.
    Missing => "absent du registre", "missing from the ledger";
    /// Show the content.
    ShowContent => "Afficher", "Show";
    /// Alarms title.
    AlarmsTitle => "Alertes de délais", "Time-limit alarms";
    /// No alarm.
    NoAlarm => "Aucune alerte.", "No alarm.";
    /// Column: file (human code).
    ColFile => "Dossier", "File";
    /// Column: alarm.
    ColAlarm => "Alerte", "Alarm";
    /// Column: deadline.
    ColDeadline => "Limite", "Deadline";
    /// Column: hours late.
    ColLate => "Retard (h)", "Late (h)";
    /// Column: current or past.
    ColState => "État", "State";
    /// Column: rule.
    ColRule => "Règle", "Rule";
    /// Alarm still current.
    Current => "en cours", "current";
    /// Alarm in the past.
    Past => "passée", "past";
    /// Rule not confirmed.
    Unconfirmed => "règle non confirmée", "unconfirmed rule";
    /// The legal rule sets cannot be read.
    NoPolicies => "Les règles légales (deploy/policy) ne peuvent pas être lues : aucune alerte n'est calculée.", "The legal rule sets (deploy/policy) cannot be read: no alarm is computed.";
    /// "as of" before an instant.
    AsOf => "au", "as of";
    /// Backlog title.
    BacklogTitle => "Détention provisoire : le stock", "Pre-trial backlog";
    /// Filters legend.
    Filters => "Filtres", "Filters";
    /// Filter: facility.
    Facility => "Établissement", "Facility";
    /// Filter: court.
    Court => "Juridiction", "Court";
    /// Filter: status.
    Status => "Statut", "Status";
    /// Filter: overdue only.
    OverdueOnly => "En retard seulement", "Overdue only";
    /// Apply filters.
    Apply => "Filtrer", "Filter";
    /// CSV export link.
    ExportCsv => "Exporter en CSV", "Export as CSV";
    /// A filter value that is not valid.
    BadFilter => "Filtre invalide", "Invalid filter";
    /// Any facility, court or status.
    Any => "(tous)", "(any)";
    /// The ageing chart's title.
    AgeingChart => "Ancienneté de la détention provisoire", "Age of pre-trial detention";
    /// Figures are from the ledger position.
    Position => "registre lu jusqu'à la position", "ledger read up to position";
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_message_in_both_languages() {
        for &m in Msg::ALL {
            let (fr, en) = (t(Lang::Fr, m), t(Lang::En, m));
            assert!(!fr.trim().is_empty() && !en.trim().is_empty(), "{m:?}");
        }
        assert_eq!(parse_lang(Some("en")), Lang::En);
        assert_eq!(parse_lang(Some("xx")), Lang::Fr);
        assert_eq!(parse_lang(None), Lang::Fr);
        assert_eq!(other(Lang::Fr), Lang::En);
    }
}
