//! Raw baselines: the least a backend can do to store and read events of the
//! same shape, without disco's checks. One module per backend.

pub mod memory;
pub mod nats;
pub mod postgres;
pub mod redb;
pub mod sqlite;
