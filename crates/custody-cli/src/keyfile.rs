//! Key files: the one format of the project, shared with the witness (`custody_keyfile`):
//! written with mode 0600 and never overwritten; a file group or others may read or write is
//! refused with the fix (`chmod 600 FILE`), as is one whose public key does not match its seed.

pub use custody_keyfile::{random_key, read, read_file, write, write_demo};
