//! vxguard's benchmarks, outside the production binary (issue 16): the
//! compile benchmark (`vxguard-bench compile`, in memory) and the API's
//! load generator (`vxguard-bench api`, against a running server; driven
//! by `scripts/bench-api` and `scripts/bench-health`). A library beside the
//! binary so that tests can take the generated platform ([`platform`]).
//! Figures are printed, never asserted.

pub mod api;
pub mod compile;
pub mod platform;
