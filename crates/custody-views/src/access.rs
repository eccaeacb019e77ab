//! The role-by-view read matrix: who may read which view, enforced on every read path (API,
//! command line, web desk), and the action each read writes to the access log.
//!
//! | View                     | clerk, prosecutor, judge | registrar, judicial police officer | monitor          | counsel (appointed for the chain) | arresting officer, medical |
//! |--------------------------|--------------------------|------------------------------------|------------------|-----------------------------------|----------------------------|
//! | [`View::Backlog`]        | yes                      | yes (¹)                            | yes (counts)     | no                                | no                         |
//! | [`View::Occupancy`]      | yes                      | yes                                | yes              | no                                | no                         |
//! | [`View::Alarms`]         | yes                      | yes (¹)                            | yes              | no                                | no                         |
//! | [`View::HearingCalendar`]| yes                      | yes (¹)                            | no               | no                                | no                         |
//! | [`View::Timeline`]       | yes                      | holder only (²)                    | headers only (³) | no                                | no                         |
//! | [`View::Whereabouts`]    | yes                      | holder only (²)                    | no               | yes                               | no                         |
//! | [`View::RelativesView`]  | yes                      | holder only (²)                    | no               | yes                               | no                         |
//! | [`View::OwnFile`]        | no                       | registrar holder only (⁴)          | no               | yes                               | no                         |
//!
//! (¹) The caller narrows the rows to the facilities of the reader's agency (a prison's
//! registrar organises the transport of its own people). (²) Only when the reader's agency holds
//! the person at the instant ([`AccessContext::holds_person`]). (³) A monitor reads timelines
//! from headers only ([`timeline_headers_only`]); the full timeline ([`may_view`] of
//! [`View::Timeline`]) is refused. (⁴) The registrar of the facility holding the person prints the
//! file for the detainee, who may see it (Nelson Mandela Rule 8).
//!
//! Medical data never reaches any view: the timeline, the own file and the relatives' view say
//! at most that a medical screening took place on a date; the medical role reads medical
//! payloads through the payload read path, not through views.
//!
//! Counsel reads by appointment, not by role: the caller sets
//! [`AccessContext::counsel_for_chain`] only from an appointment of the reader's key for the
//! chain that it verified itself: the gateway, the web desk and the `custody` commands take it
//! from `custody_core::chain::ChainState::counsel_appointed` (an appointment naming the reader's
//! key, in force at the instant of the read).

use custody_core::Role;

/// A view of the read model.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum View {
    /// The pre-trial backlog (counts by facility and court, ageing, longest waits).
    Backlog,
    /// The alarms (time limits, custody gaps, unofficial stays).
    Alarms,
    /// Where one person is held, with transfers.
    Whereabouts,
    /// The relatives' and counsel's view (Disappearance Convention art. 18 fields).
    RelativesView,
    /// One detainee's events in order.
    Timeline,
    /// The hearing calendar (who must be produced where).
    HearingCalendar,
    /// The person's own file (Nelson Mandela Rule 8).
    OwnFile,
    /// Occupancy of facilities against capacity.
    Occupancy,
}

impl View {
    /// Every view.
    pub const ALL: [View; 8] = [
        View::Backlog,
        View::Alarms,
        View::Whereabouts,
        View::RelativesView,
        View::Timeline,
        View::HearingCalendar,
        View::OwnFile,
        View::Occupancy,
    ];

    /// Whether the view shows one person (its reads are personal-data reads, each logged with
    /// the chain as target).
    pub const fn shows_a_person(self) -> bool {
        matches!(
            self,
            View::Whereabouts | View::RelativesView | View::Timeline | View::OwnFile
        )
    }
}

/// What the caller knows about the reader and the person read, beyond the reader's roles.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AccessContext {
    /// The reader's agency holds the person at the instant (custodian of the chain).
    pub holds_person: bool,
    /// The reader is counsel appointed for the chain (an appointment the caller verified).
    pub counsel_for_chain: bool,
}

impl AccessContext {
    /// A reader with no tie to the person (list views, or a person held elsewhere).
    pub const fn none() -> Self {
        AccessContext {
            holds_person: false,
            counsel_for_chain: false,
        }
    }

    /// A reader whose agency holds the person.
    pub const fn holder() -> Self {
        AccessContext {
            holds_person: true,
            counsel_for_chain: false,
        }
    }
}

/// Whether one role may read a view in full.
const fn role_may_view(view: View, role: Role, ctx: &AccessContext) -> bool {
    use Role::*;
    match role {
        CourtClerk | Prosecutor | InvestigatingJudge => !matches!(view, View::OwnFile),
        Registrar => match view {
            View::Backlog | View::Occupancy | View::Alarms | View::HearingCalendar => true,
            View::Timeline | View::Whereabouts | View::RelativesView | View::OwnFile => {
                ctx.holds_person
            }
        },
        JudicialPoliceOfficer => match view {
            View::Backlog | View::Occupancy | View::Alarms | View::HearingCalendar => true,
            View::Timeline | View::Whereabouts | View::RelativesView => ctx.holds_person,
            View::OwnFile => false,
        },
        Monitor => matches!(view, View::Backlog | View::Occupancy | View::Alarms),
        ArrestingOfficer | Medical => false,
        // A role added to the wire format later (counsel) reads nothing by its role alone:
        // counsel reads through `AccessContext::counsel_for_chain`.
        #[allow(unreachable_patterns)]
        _ => false,
    }
}

/// Whether a reader holding `roles` may read `view` in full, in the context `ctx` (see the
/// matrix of the module). No role reads nothing; counsel appointed for the chain reads the
/// whereabouts, the relatives' view and the own file.
pub fn may_view(view: View, roles: &[Role], ctx: &AccessContext) -> bool {
    let counsel = ctx.counsel_for_chain
        && matches!(
            view,
            View::Whereabouts | View::RelativesView | View::OwnFile
        );
    counsel || roles.iter().any(|r| role_may_view(view, *r, ctx))
}

/// Whether the list views (backlog, occupancy, alarms, hearing calendar) of a reader holding
/// `roles` are narrowed to the people of the reader's own agency (note ¹ of the matrix): a
/// registrar or a judicial police officer sees the people its agency holds or has at its
/// facilities; a clerk, prosecutor, judge or monitor sees every facility.
pub fn narrowed_to_own_agency(roles: &[Role]) -> bool {
    let wide = roles.iter().any(|r| {
        matches!(
            r,
            Role::CourtClerk | Role::Prosecutor | Role::InvestigatingJudge | Role::Monitor
        )
    });
    !wide
        && roles
            .iter()
            .any(|r| matches!(r, Role::Registrar | Role::JudicialPoliceOfficer))
}

/// Whether a reader who may not read the full timeline may read it from headers only (kinds,
/// instants, agencies, verification: no payload). Monitors may.
pub fn timeline_headers_only(roles: &[Role], ctx: &AccessContext) -> bool {
    !may_view(View::Timeline, roles, ctx) && roles.contains(&Role::Monitor)
}

/// The action written to the access log for a read of a view (`view_backlog`...).
pub const fn access_action(view: View) -> &'static str {
    match view {
        View::Backlog => "view_backlog",
        View::Alarms => "view_alarms",
        View::Whereabouts => "view_whereabouts",
        View::RelativesView => "view_relatives",
        View::Timeline => "view_timeline",
        View::HearingCalendar => "view_hearings",
        View::OwnFile => "view_own_file",
        View::Occupancy => "view_occupancy",
    }
}

/// The action written to the access log for a headers-only timeline read.
pub const TIMELINE_HEADERS_ACTION: &str = "view_timeline_headers";
