//! `sqlx::migrate!` embeds the migration folders at compile time; a new or
//! edited file there must rebuild the crate.

fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
