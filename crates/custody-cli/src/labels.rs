//! Plain-words labels of body fields and enum values, French first, English on request.
//!
//! Every property name of every embedded schema has a French label (a unit test holds it); the
//! English label falls back to the schema's `description` when the table gives none.

/// The language of interactive prompts and summaries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lang {
    /// French (the default).
    Fr,
    /// English.
    En,
}

impl Lang {
    /// `en` is English; anything else French (clap restricts the value to `fr` or `en`).
    pub fn from_flag(flag: &str) -> Lang {
        if flag == "en" {
            Lang::En
        } else {
            Lang::Fr
        }
    }

    /// Picks the French or the English text.
    pub fn pick<'a>(self, fr: &'a str, en: &'a str) -> &'a str {
        match self {
            Lang::Fr => fr,
            Lang::En => en,
        }
    }
}

/// Field name, French label, English label (empty: the schema's description).
const FIELDS: &[(&str, &str, &str)] = &[
    (
        "accuracy_metres",
        "Précision estimée (mètres)",
        "Accuracy (metres)",
    ),
    ("acronym", "Sigle", "Acronym"),
    ("agency", "Agence responsable du lieu", "Agency responsible"),
    ("aliases", "Autres noms", "Aliases"),
    (
        "amount",
        "Montant (plus petite unité de la monnaie)",
        "Amount",
    ),
    (
        "appeared_at",
        "Date et heure de la comparution",
        "Appeared at",
    ),
    ("arresting_force", "Agence qui a arrêté", "Arresting agency"),
    ("article", "Disposition légale (article)", "Article"),
    ("assessor", "Évaluateur", "Assessor"),
    (
        "authorisation_ref",
        "Référence de l'autorisation écrite",
        "Authorisation reference",
    ),
    ("authorised_by", "Magistrat qui a autorisé", "Authorised by"),
    ("authority", "Autorité qui a décidé", "Deciding authority"),
    (
        "autopsy_requested",
        "Autopsie demandée",
        "Autopsy requested",
    ),
    ("basis", "Fondement du lien", "Basis of the link"),
    (
        "belongings",
        "Effets personnels inventoriés et gardés",
        "Belongings kept",
    ),
    (
        "belongings_returned",
        "Effets personnels restitués",
        "Belongings returned",
    ),
    ("birth_date", "Date de naissance", "Date of birth"),
    ("birth_place", "Lieu de naissance", "Place of birth"),
    (
        "capacity",
        "Capacité officielle (personnes)",
        "Official capacity",
    ),
    ("case_ref", "Référence du dossier", "Case reference"),
    ("cause", "Cause du décès", "Cause"),
    ("certified_by", "Décès constaté par", "Certified by"),
    ("charges", "Chefs d'inculpation", "Charges"),
    ("circumstances", "Circonstances", "Circumstances"),
    (
        "collected_at",
        "Date et heure de la collecte",
        "Collected at",
    ),
    ("collected_by", "Collecté par", "Collected by"),
    (
        "commitment_authority",
        "Autorité qui a ordonné l'écrou",
        "Committing authority",
    ),
    (
        "commitment_grounds",
        "Motifs de l'écrou",
        "Grounds of commitment",
    ),
    (
        "commitment_order_event",
        "Empreinte de l'événement du titre de détention",
        "Hash of the commitment order's event",
    ),
    (
        "commitment_order_ref",
        "Référence du titre de détention",
        "Commitment order reference",
    ),
    (
        "complaints_of_ill_treatment",
        "Plaintes de mauvais traitements",
        "Complaints of ill-treatment",
    ),
    (
        "condition_at_release",
        "État à la remise",
        "Condition at handover",
    ),
    (
        "condition_on_arrival",
        "État à l'arrivée",
        "Condition on arrival",
    ),
    ("consent_given", "Consentement à l'examen", "Consent given"),
    ("contact", "Téléphone ou adresse", "Contact"),
    (
        "content_digest",
        "Empreinte SHA-256 de la copie numérisée",
        "Content digest",
    ),
    ("coordinates", "Coordonnées géographiques", "Coordinates"),
    (
        "convicted_of",
        "Infractions pour lesquelles la personne est condamnée",
        "Convicted of",
    ),
    (
        "corrected_fields",
        "Champs corrigés et nouvelles valeurs",
        "Corrected fields",
    ),
    (
        "corrects",
        "Empreinte de l'événement corrigé",
        "Corrected event",
    ),
    ("counsel_name", "Nom de l'avocat", "Counsel's name"),
    ("counsel_present", "Avocat présent", "Counsel present"),
    ("country", "Pays", "Country"),
    ("court", "Juridiction", "Court"),
    ("currency", "Monnaie (code ISO 4217, ex. XOF)", "Currency"),
    ("custodial", "Peine privative de liberté", "Custodial"),
    (
        "decision_ref",
        "Référence de la décision",
        "Decision reference",
    ),
    ("description", "Description", "Description"),
    ("destination", "Destination déclarée", "Destination"),
    (
        "destination_facility",
        "Établissement de destination",
        "Destination facility",
    ),
    ("details", "Précisions", "Details"),
    (
        "discovered_at",
        "Date et heure de la découverte",
        "Discovered at",
    ),
    ("discrepancies", "Écarts constatés", "Discrepancies"),
    ("document_type", "Type de pièce", "Document type"),
    (
        "documents_handed_over",
        "Documents remis",
        "Documents handed over",
    ),
    (
        "documents_received",
        "Documents reçus",
        "Documents received",
    ),
    ("duration_minutes", "Durée (minutes)", "Duration (minutes)"),
    ("effective_from", "Date d'effet", "Effective from"),
    ("ended_at", "Fin", "Ended at"),
    (
        "estimated_age_years",
        "Âge estimé (années)",
        "Estimated age (years)",
    ),
    (
        "event",
        "Empreinte de l'événement dont le contenu est retiré",
        "Event whose payload is removed",
    ),
    ("examined_by", "Examiné par", "Examined by"),
    (
        "expected_arrival_by",
        "Arrivée attendue au plus tard",
        "Expected arrival by",
    ),
    (
        "extended_until",
        "Nouvelle fin de la garde à vue",
        "Extended until",
    ),
    (
        "extension_hours",
        "Durée de la prolongation (heures)",
        "Extension (hours)",
    ),
    (
        "extension_ref",
        "Référence de l'ordonnance de prolongation",
        "Extension reference",
    ),
    ("facility", "Établissement", "Facility"),
    ("father_name", "Nom du père", "Father's name"),
    ("findings", "Constatations", "Findings"),
    (
        "fingerprint_template_digest",
        "Empreinte SHA-256 du gabarit d'empreintes digitales",
        "Fingerprint template digest",
    ),
    (
        "fit_for_detention",
        "Apte à la détention",
        "Fit for detention",
    ),
    ("function", "Fonction dans cet événement", "Function"),
    (
        "gender_self_declared",
        "Genre déclaré par la personne",
        "Gender as self-declared",
    ),
    ("grounds", "Motifs de l'arrestation", "Grounds"),
    (
        "handed_to",
        "Agent qui prend en charge la personne",
        "Handed to",
    ),
    ("hearing_at", "Date et heure de l'audience", "Hearing at"),
    ("holder_badge", "Matricule du titulaire", "Holder's badge"),
    ("holder_name", "Nom du titulaire", "Holder's name"),
    ("id", "Identifiant", "Id"),
    (
        "identity_basis",
        "Fondement de l'identité",
        "Identity basis",
    ),
    (
        "identity_documents",
        "Pièces d'identité vues",
        "Identity documents",
    ),
    (
        "ill_treatment_findings",
        "Signes de mauvais traitements constatés",
        "Ill-treatment findings",
    ),
    ("interpreter", "Nom de l'interprète", "Interpreter"),
    (
        "investigating_chamber",
        "Cabinet d'instruction",
        "Investigating chamber",
    ),
    (
        "investigation_authority",
        "Autorité chargée de l'enquête",
        "Investigating authority",
    ),
    (
        "investigation_ref",
        "Référence de l'enquête",
        "Investigation reference",
    ),
    ("issued_by", "Délivré par", "Issued by"),
    (
        "issuing_authority",
        "Autorité émettrice",
        "Issuing authority",
    ),
    ("judge", "Juge signataire", "Judge"),
    (
        "judgment_ref",
        "Référence du jugement",
        "Judgment reference",
    ),
    ("key", "Clé publique", "Public key"),
    ("kind", "Type d'établissement", "Kind of facility"),
    ("label", "Désignation", "Label"),
    ("language", "Langue de l'audition", "Language"),
    ("languages", "Langues parlées", "Languages"),
    (
        "latitude_microdegrees",
        "Latitude (millionièmes de degré)",
        "Latitude (microdegrees)",
    ),
    ("legal_basis", "Base légale", "Legal basis"),
    ("legal_status", "Situation juridique", "Legal status"),
    ("level", "Niveau", "Level"),
    (
        "locality",
        "Localité (ville, village ou cercle)",
        "Locality",
    ),
    ("location", "Lieu de résidence", "Location"),
    (
        "longitude_microdegrees",
        "Longitude (millionièmes de degré)",
        "Longitude (microdegrees)",
    ),
    ("means", "Moyen", "Means"),
    ("media_type", "Type de média (ex. image/jpeg)", "Media type"),
    (
        "medical_file_transferred",
        "Dossier médical transmis sous pli fermé",
        "Medical file transferred",
    ),
    ("method", "Méthode", "Method"),
    (
        "minutes_ref",
        "Référence du procès-verbal d'audition",
        "Minutes reference",
    ),
    ("money", "Somme d'argent", "Money"),
    ("mother_name", "Nom de la mère", "Mother's name"),
    ("name", "Nom", "Name"),
    (
        "name_original_script",
        "Nom dans son écriture d'origine",
        "Name in original script",
    ),
    ("nationalities", "Nationalités", "Nationalities"),
    ("next_hearing_at", "Prochaine audience", "Next hearing"),
    ("next_of_kin", "Famille et proches", "Next of kin"),
    ("notes", "Autres observations", "Notes"),
    ("number", "Numéro", "Number"),
    ("offence", "Infraction retenue", "Offence"),
    (
        "offence_class",
        "Catégorie de l'infraction",
        "Offence class",
    ),
    ("officer", "Agent responsable de l'arrestation", "Officer"),
    ("officers", "Agents qui ont mené l'audition", "Officers"),
    (
        "officially_recognised",
        "Lieu de détention officiellement reconnu",
        "Officially recognised",
    ),
    ("operation", "Opération", "Operation"),
    (
        "order_event",
        "Empreinte de l'événement du mandat prolongé",
        "Order event",
    ),
    (
        "order_ref",
        "Référence du mandat initial",
        "Order reference",
    ),
    (
        "ordering_authority",
        "Autorité qui a ordonné l'arrestation",
        "Ordering authority",
    ),
    ("organisation", "Organisation", "Organisation"),
    ("origin", "Origine (région, cercle, communauté)", "Origin"),
    ("other_chain", "Autre chaîne de détenu", "Other chain"),
    ("outcome", "Issue", "Outcome"),
    (
        "outcome_details",
        "Précisions sur l'issue",
        "Outcome details",
    ),
    ("parent", "Agence de rattachement", "Parent agency"),
    ("person", "Identité connue", "Person"),
    (
        "physical_description",
        "Signalement",
        "Physical description",
    ),
    ("place", "Lieu", "Place"),
    ("present", "Constaté", "Present"),
    (
        "presented_to_authority",
        "Présenté au magistrat",
        "Presented to authority",
    ),
    (
        "produced",
        "Personne présentée à la juridiction",
        "Produced",
    ),
    ("profession", "Profession", "Profession"),
    (
        "prosecutor_informed_at",
        "Procureur informé le",
        "Prosecutor informed at",
    ),
    ("provenance", "Provenance", "Provenance"),
    ("purpose", "Objet", "Purpose"),
    ("quantity", "Quantité", "Quantity"),
    ("rank", "Grade", "Rank"),
    ("reached", "Personne jointe", "Reached"),
    ("reason", "Motif", "Reason"),
    (
        "reason_not_produced",
        "Motif de la non-présentation",
        "Reason not produced",
    ),
    ("reasons", "Motifs", "Reasons"),
    ("received_by", "Agent qui a reçu la personne", "Received by"),
    ("reference", "Référence", "Reference"),
    ("referral", "Orientation (hôpital, spécialiste)", "Referral"),
    ("regime", "Régime de la garde à vue", "Regime"),
    ("region", "Région administrative", "Region"),
    ("registry_number", "Numéro d'écrou", "Registry number"),
    (
        "relates_to",
        "Empreinte de l'événement concerné",
        "Relates to",
    ),
    ("relationship", "Lien avec la personne", "Relationship"),
    (
        "release_event",
        "Empreinte de l'événement de remise",
        "Release event",
    ),
    ("released_to", "Remis entre les mains de", "Released to"),
    (
        "remains_destination",
        "Destination de la dépouille",
        "Remains destination",
    ),
    ("reported_to", "Autorité informée", "Reported to"),
    (
        "requested_by_detainee",
        "Demandé par la personne détenue",
        "Requested by the detainee",
    ),
    ("residence", "Résidence habituelle", "Residence"),
    ("review_due", "Date de réexamen", "Review due"),
    (
        "reviewing_authority",
        "Autorité judiciaire de contrôle",
        "Reviewing authority",
    ),
    (
        "rights_language",
        "Langue de notification des droits",
        "Rights language",
    ),
    ("rights_notified", "Droits notifiés", "Rights notified"),
    ("roles", "Rôles", "Roles"),
    (
        "rules_explained",
        "Règlement intérieur expliqué",
        "Rules explained",
    ),
    (
        "rules_language",
        "Langue de l'explication du règlement",
        "Rules language",
    ),
    (
        "scheduled_event",
        "Empreinte de l'événement d'audience prévue",
        "Scheduled hearing event",
    ),
    ("seal_number", "Numéro de scellé", "Seal number"),
    (
        "security_classification",
        "Classement de sécurité",
        "Security classification",
    ),
    ("seized_items", "Objets saisis", "Seized items"),
    ("sentence_details", "Peine prononcée", "Sentence details"),
    (
        "sentence_months",
        "Durée de la peine (mois)",
        "Sentence (months)",
    ),
    ("service_number", "Matricule", "Service number"),
    (
        "signs_of_ill_treatment",
        "Signes de mauvais traitements",
        "Signs of ill-treatment",
    ),
    ("size_bytes", "Taille (octets)", "Size (bytes)"),
    (
        "social_interview_done",
        "Entretien social réalisé",
        "Social interview done",
    ),
    ("start", "Début de la détention", "Start"),
    ("started_at", "Début de la garde à vue", "Started at"),
    ("subject", "Objet de la notification", "Subject"),
    (
        "supervising_authority",
        "Autorité de tutelle",
        "Supervising authority",
    ),
    (
        "suspected_offence",
        "Infraction soupçonnée",
        "Suspected offence",
    ),
    ("title", "Nature du document", "Title"),
    (
        "to_agency",
        "Agence qui reçoit la personne",
        "Receiving agency",
    ),
    (
        "to_facility",
        "Établissement de destination",
        "Destination facility",
    ),
    ("tool", "Outil d'évaluation", "Assessment tool"),
    (
        "transport",
        "Moyen de transport et escorte",
        "Transport and escort",
    ),
    ("treatment_needs", "Besoins de soins", "Treatment needs"),
    ("type", "Type d'agence", "Type of agency"),
    ("unit", "Unité", "Unit"),
    ("unit_or_cell", "Quartier, bloc ou cellule", "Unit or cell"),
    ("until", "Fin de la restriction", "Until"),
    ("use_of_force", "Usage de la force", "Use of force"),
    ("valid_from", "Début de validité", "Valid from"),
    ("valid_until", "Nouvelle fin de validité", "Valid until"),
    (
        "verification",
        "Vérification de la libération",
        "Verification",
    ),
    ("visible_injuries", "Blessures visibles", "Visible injuries"),
    ("visitor_name", "Nom du visiteur", "Visitor's name"),
    ("visitor_type", "Type de visiteur", "Type of visitor"),
    ("warrant_ref", "Référence du mandat", "Warrant reference"),
    (
        "who",
        "Personne prévenue (lien de parenté)",
        "Who (relationship)",
    ),
    ("witness", "Témoin (nom et qualité)", "Witness"),
    (
        "items_handed_over",
        "Objets remis avec la personne",
        "Items handed over",
    ),
    ("items_received", "Objets reçus", "Items received"),
    ("answer", "Réponse apportée", "Answer"),
    ("answered_at", "Date de la réponse", "Answered at"),
    ("answered_by", "Autorité qui répond", "Answered by"),
    (
        "complaint_event",
        "Plainte à laquelle il est répondu",
        "Complaint answered",
    ),
    ("addressed_to", "Destinataire de la plainte", "Addressed to"),
    ("addressee", "Destinataire (service)", "Addressee"),
    ("complaint", "Plainte (telle que formulée)", "Complaint"),
    ("lodged_at", "Date de la plainte", "Lodged at"),
    ("lodged_by", "Plainte déposée par", "Lodged by"),
    (
        "bar_number",
        "Numéro d'inscription au barreau",
        "Bar number",
    ),
    (
        "chosen_by_detainee",
        "Avocat choisi (et non commis d'office)",
        "Chosen by the detainee",
    ),
    ("counsel_key", "Clé de l'avocat", "Counsel's key"),
    (
        "appeal_informed",
        "Personne informée des voies de recours",
        "Told how to appeal",
    ),
    ("appeal_lodged_at", "Date du recours", "Appeal lodged at"),
    ("days", "Durée (jours)", "Days"),
    ("decided_by", "Décidée par", "Decided by"),
    (
        "hearing_held",
        "Personne entendue avant la décision",
        "Person heard",
    ),
    (
        "offence_found",
        "Faute disciplinaire retenue",
        "Disciplinary offence found",
    ),
    ("sanction", "Sanction", "Sanction"),
    (
        "sanction_details",
        "Sanction telle que prononcée",
        "Sanction as pronounced",
    ),
    (
        "cause_stated",
        "Cause déclarée par la personne",
        "Cause stated",
    ),
    (
        "ill_treatment_alleged",
        "Mauvais traitements allégués",
        "Ill-treatment alleged",
    ),
    ("observed_at", "Constatée le", "Observed at"),
    ("observed_by", "Constatée par", "Observed by"),
    (
        "reported_to_prosecutor",
        "Signalée au procureur",
        "Reported to a prosecutor",
    ),
    ("severity", "Gravité", "Severity"),
    ("treatment", "Soins donnés", "Treatment"),
];

/// Enum value, French label (values with the same spelling read the same in every field).
const VALUES: &[(&str, &str)] = &[
    ("acquitted", "acquitté"),
    ("adjourned", "renvoyée"),
    ("amnesty", "amnistie"),
    ("appeal", "appel"),
    ("arrested", "arrêté"),
    ("arresting_officer", "agent interpellateur"),
    ("biometric_match", "concordance biométrique"),
    ("charges_dismissed", "abandon des poursuites"),
    ("conditional_release", "libération conditionnelle"),
    ("convicted", "condamné"),
    ("convicted_final", "condamné définitivement"),
    ("convicted_not_final", "condamné, décision non définitive"),
    ("counsel", "avocat"),
    ("court", "juridiction"),
    ("court_clerk", "greffier"),
    ("court_decision", "décision de justice"),
    ("court_holding_cell", "dépôt du tribunal"),
    ("crime", "crime"),
    ("death", "décès"),
    ("detention", "détention"),
    ("detention_maintained", "détention maintenue"),
    ("detention_order_expired", "titre de détention expiré"),
    ("detention_review", "contrôle de la détention"),
    ("dismissed", "non-lieu"),
    ("doctor", "médecin"),
    ("family", "famille"),
    ("gendarmerie", "gendarmerie"),
    ("gendarmerie_post", "brigade de gendarmerie"),
    ("handed_to_counsel", "remis à l'avocat"),
    ("handed_to_family", "remis à la famille"),
    ("hearing", "audience"),
    ("high", "élevé"),
    ("hospital", "hôpital"),
    ("icrc", "CICR"),
    ("identity_document", "pièce d'identité"),
    ("in_person", "en personne"),
    ("investigating_judge", "juge d'instruction"),
    ("investigation", "instruction"),
    ("judgment", "jugement"),
    ("judgment_delivered", "jugement rendu"),
    ("judgment_reserved", "jugement mis en délibéré"),
    ("judicial_police_officer", "officier de police judiciaire"),
    ("judicial_supervision", "contrôle judiciaire"),
    ("letter", "lettre"),
    ("low", "faible"),
    ("medical", "personnel médical"),
    ("medical_assistant", "assistant médical"),
    ("medium", "moyen"),
    ("military", "armée"),
    ("military_base", "camp militaire"),
    ("misdemeanour_over_2y", "délit puni de plus de 2 ans"),
    ("misdemeanour_up_to_2y", "délit puni de 2 ans au plus"),
    ("monitor", "observateur"),
    ("no_charge", "aucune poursuite"),
    ("nurse", "infirmier"),
    ("ordinary", "droit commun"),
    ("other", "autre"),
    ("pardon", "grâce"),
    ("phone", "téléphone"),
    ("police", "police"),
    ("police_custody", "garde à vue"),
    ("police_station", "commissariat"),
    ("pre_trial_detention", "détention provisoire"),
    ("prison", "prison"),
    ("prosecutor", "parquet"),
    ("provisional_release", "liberté provisoire"),
    ("registrar", "greffier de l'établissement"),
    ("registrar_review", "examen par le greffe"),
    ("release", "libération"),
    ("released", "libéré"),
    ("released_pending_trial", "libéré dans l'attente du procès"),
    ("religious", "religieux"),
    ("remanded_in_custody", "placé en détention"),
    ("returned_to_police_custody", "renvoyé en garde à vue"),
    ("self_declared", "déclarée par la personne"),
    ("sentence_served", "peine purgée"),
    ("serious_illness", "maladie grave"),
    ("signed_by_released_person", "signé par la personne libérée"),
    (
        "terrorism",
        "terrorisme et criminalité transnationale organisée",
    ),
    ("third_party_statement", "déclaration d'un tiers"),
    ("transfer", "transfèrement"),
    ("trial", "procès"),
    ("unknown", "inconnue"),
    ("via_counsel", "par l'avocat"),
    ("via_icrc", "par le CICR"),
    ("via_local_authority", "par l'autorité locale"),
    ("witnessed_by_monitor", "constaté par un observateur"),
    ("detainee", "la personne détenue"),
    ("facility_director", "directeur de l'établissement"),
    ("prison_administration", "administration pénitentiaire"),
    ("inspection_body", "organe d'inspection"),
    (
        "human_rights_commission",
        "commission des droits de l'homme",
    ),
    ("ill_treatment", "mauvais traitements"),
    ("conditions", "conditions de détention"),
    ("health_care", "soins de santé"),
    ("discipline", "discipline"),
    ("legal_process", "procédure judiciaire"),
    ("access_to_counsel", "accès à l'avocat"),
    ("family_contact", "contacts avec la famille"),
    ("property", "biens"),
    ("upheld", "fondée"),
    ("partly_upheld", "partiellement fondée"),
    ("rejected", "rejetée"),
    ("referred", "transmise"),
    ("investigation_opened", "enquête ouverte"),
    ("warning", "avertissement"),
    ("loss_of_privileges", "privation d'avantages"),
    ("restriction_of_contact", "restriction des contacts"),
    ("cell_confinement", "confinement en cellule"),
    ("solitary_confinement", "isolement (cellule disciplinaire)"),
    ("minor", "légère"),
    ("moderate", "modérée"),
    ("serious", "grave"),
    ("life_threatening", "mettant la vie en danger"),
    ("bar_association", "ordre des avocats"),
];

/// The French label of a field, if the table has one.
pub fn french(field: &str) -> Option<&'static str> {
    FIELDS
        .iter()
        .find(|(n, _, _)| *n == field)
        .map(|(_, fr, _)| *fr)
}

/// The label of a field in `lang`: the table's, else the schema's description (without its
/// final full stop), else the raw name.
pub fn field(lang: Lang, name: &str, description: Option<&str>) -> String {
    let english = FIELDS
        .iter()
        .find(|(n, _, en)| *n == name && !en.is_empty())
        .map(|(_, _, en)| *en);
    let chosen = match lang {
        Lang::Fr => french(name),
        Lang::En => english,
    };
    let described = description
        .map(|d| d.trim().trim_end_matches('.').to_string())
        .filter(|d| !d.is_empty());
    chosen
        .map(str::to_string)
        .or(described)
        .unwrap_or_else(|| name.to_string())
}

/// The label of an enum value in `lang`: French from the table, English the value with spaces;
/// an unknown value is shown as it is.
pub fn value(lang: Lang, raw: &str) -> String {
    match lang {
        Lang::Fr => VALUES
            .iter()
            .find(|(v, _)| *v == raw)
            .map_or_else(|| raw.to_string(), |(_, fr)| (*fr).to_string()),
        Lang::En => raw.replace('_', " "),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schemas;

    /// Every property name of every embedded schema, nested objects and array items included.
    fn property_names(node: &serde_json::Value, out: &mut Vec<String>) {
        match node {
            serde_json::Value::Object(map) => {
                if let Some(serde_json::Value::Object(props)) = map.get("properties") {
                    out.extend(props.keys().cloned());
                }
                map.values().for_each(|v| property_names(v, out));
            }
            serde_json::Value::Array(items) => items.iter().for_each(|v| property_names(v, out)),
            _ => {}
        }
    }

    #[test]
    fn every_property_of_every_schema_has_a_french_label() {
        let mut names = Vec::new();
        for (kind, text) in schemas::ALL {
            let schema: serde_json::Value = serde_json::from_str(text).expect("embedded schema");
            let before = names.len();
            property_names(&schema, &mut names);
            assert!(names.len() > before, "{kind} has no property");
        }
        assert!(names.len() > 200, "only {} names found", names.len());
        let missing: Vec<&String> = names.iter().filter(|n| french(n).is_none()).collect();
        assert!(missing.is_empty(), "no French label for {missing:?}");
    }

    #[test]
    fn labels_follow_the_language_and_fall_back_to_the_description() {
        assert_eq!(
            field(Lang::Fr, "to_agency", None),
            "Agence qui reçoit la personne"
        );
        assert_eq!(field(Lang::En, "to_agency", None), "Receiving agency");
        assert_eq!(
            field(Lang::En, "zzz", Some("Something new.")),
            "Something new"
        );
        assert_eq!(
            value(Lang::Fr, "pre_trial_detention"),
            "détention provisoire"
        );
        assert_eq!(
            value(Lang::En, "pre_trial_detention"),
            "pre trial detention"
        );
        assert_eq!(value(Lang::Fr, "zzz"), "zzz");
    }
}
