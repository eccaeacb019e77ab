//! One module per command.

pub mod alarms;
pub mod audit;
pub mod backlog;
pub mod checkpoint;
pub mod demo;
pub mod enroll;
pub mod evidence;
pub mod export;
pub mod forks;
pub mod hearings;
pub mod inbox;
pub mod init;
pub mod keygen;
pub mod ledger_key;
pub mod login;
pub mod packet;
pub mod prove;
pub mod receipt;
pub mod record;
pub mod serve;
pub mod submit;
pub mod sync;
pub mod verify;
pub mod whereabouts;
