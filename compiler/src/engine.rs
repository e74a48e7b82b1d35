//! The incremental compile engine, in the manner of OVN northd's
//! incremental processing: it holds the intent and the output of its last
//! compile, and a tenant's change re-renders only that tenant's parts of
//! the devices it touches ([`recompile_tenant_or_keep`]). A full compile is
//! "everything dirty" ([`Engine::compile`]); its output and the engine's
//! after any sequence of changes are the same byte for byte (the property
//! test in `tests/engine.rs`).
//!
//! The engine does no I/O: the worker keeps one in memory, feeds it the
//! tenants whose stored intent changed, and stores what it gives back.
//! A change that does not compile leaves the engine as it was (the tenant
//! keeps its last good configuration; its errors are its own).

use crate::alloc::{Allocation, TenantAlloc};
use crate::diag::Diagnostic;
use crate::intent::{Intent, Tenant};
use crate::model::Secrets;
use std::sync::Arc;

use crate::{compile, recompile_tenant_or_keep, DefinitionSet, Output, PlatformTrees, Touched};

/// The intent and the output compiled from it.
pub struct Engine {
    intent: Intent,
    output: Output,
    /// The routers' platform trees, kept between one-tenant changes for
    /// their commit checks (shared with the write path's checks by
    /// [`Engine::keeping_trees_in`]).
    trees: Arc<PlatformTrees>,
}

/// One tenant's change.
#[derive(Clone, Debug)]
pub enum Change {
    /// The tenant as it now stands (added or changed).
    Upsert(Tenant),
    /// The tenant is gone (by slug).
    Remove(String),
}

impl Change {
    pub fn slug(&self) -> &str {
        match self {
            Change::Upsert(t) => t.slug.as_str(),
            Change::Remove(s) => s,
        }
    }
}

/// A change that does not compile: its diagnostics point into the intent
/// as tried, where the tenant was at `index` (`/tenants/{index}/...`).
#[derive(Debug)]
pub struct Rejected {
    pub diagnostics: Vec<Diagnostic>,
    pub index: usize,
    /// The tenant as tried (`None` for a removal).
    pub tenant: Option<Tenant>,
}

impl Engine {
    /// A full compile. Tenants are kept in slug order (byte order), the
    /// order the engine inserts new ones in.
    pub fn compile(
        mut intent: Intent,
        prev: &Allocation,
        secrets: &Secrets,
        defs: &DefinitionSet,
    ) -> Result<Engine, Vec<Diagnostic>> {
        sort_tenants(&mut intent);
        let output = compile(&intent, prev, secrets, defs)?;
        Ok(Engine {
            intent,
            output,
            trees: Arc::default(),
        })
    }

    /// An engine from a full compile made elsewhere: `output` must be the
    /// compile of `intent`, whose tenants are in slug order.
    pub fn from_compiled(intent: Intent, output: Output) -> Engine {
        debug_assert!(intent
            .tenants
            .windows(2)
            .all(|w| w[0].slug.as_str() < w[1].slug.as_str()));
        Engine {
            intent,
            output,
            trees: Arc::default(),
        }
    }

    /// The same engine keeping the routers' platform trees in `trees`.
    pub fn keeping_trees_in(mut self, trees: Arc<PlatformTrees>) -> Engine {
        self.trees = trees;
        self
    }

    pub fn intent(&self) -> &Intent {
        &self.intent
    }

    pub fn output(&self) -> &Output {
        &self.output
    }

    pub fn into_parts(self) -> (Intent, Output) {
        (self.intent, self.output)
    }

    /// Applies one tenant's change, re-rendering what it touches. On
    /// `Err` the engine is unchanged.
    pub fn apply(
        &mut self,
        change: Change,
        secrets: &Secrets,
        defs: &DefinitionSet,
    ) -> Result<Touched, Box<Rejected>> {
        self.apply_allocated(change, None, secrets, defs)
    }

    /// [`Engine::apply`] with the tenant's allocation as its write stored
    /// it (`seed`): a write allocates its tenant's new numbers on its own
    /// (`alloc::allocate_tenant`), and the compile keeps them, as a full
    /// compile from the stored allocation would.
    pub fn apply_allocated(
        &mut self,
        change: Change,
        seed: Option<TenantAlloc>,
        secrets: &Secrets,
        defs: &DefinitionSet,
    ) -> Result<Touched, Box<Rejected>> {
        let slug = change.slug().to_string();
        let unseeded = match (&change, seed) {
            (Change::Upsert(_), Some(entry)) => {
                Some(self.output.allocation.tenants.insert(slug.clone(), entry))
            }
            _ => None,
        };
        let at = self
            .intent
            .tenants
            .binary_search_by(|t| t.slug.as_str().cmp(&slug));
        // The intent as tried, and what puts it back.
        let (index, undo) = match (change, at) {
            (Change::Upsert(t), Ok(i)) => {
                let old = std::mem::replace(&mut self.intent.tenants[i], t);
                (i, Undo::Replace(i, Box::new(old)))
            }
            (Change::Upsert(t), Err(i)) => {
                self.intent.tenants.insert(i, t);
                (i, Undo::Insert(i))
            }
            (Change::Remove(_), Ok(i)) => {
                let old = self.intent.tenants.remove(i);
                (i, Undo::Remove(i, Box::new(old)))
            }
            // Removing what the engine never had: nothing to do.
            (Change::Remove(_), Err(_)) => return Ok(Touched::default()),
        };
        let output = std::mem::take(&mut self.output);
        match recompile_tenant_or_keep(&self.intent, &slug, output, secrets, defs, &self.trees) {
            Ok((output, touched)) => {
                self.output = output;
                Ok(touched)
            }
            Err((diagnostics, output)) => {
                self.output = *output;
                match unseeded {
                    Some(Some(before)) => {
                        self.output.allocation.tenants.insert(slug.clone(), before);
                    }
                    Some(None) => {
                        self.output.allocation.tenants.remove(&slug);
                    }
                    None => {}
                }
                let tenant = match &undo {
                    Undo::Remove(..) => None,
                    _ => Some(self.intent.tenants[index].clone()),
                };
                undo.undo(&mut self.intent);
                Err(Box::new(Rejected {
                    diagnostics,
                    index,
                    tenant,
                }))
            }
        }
    }
}

impl Default for Output {
    fn default() -> Output {
        Output {
            allocation: Allocation::default(),
            routers: Default::default(),
            hypervisors: Default::default(),
            warnings: vec![],
            tenant_mtu: 0,
            unvalidated: vec![],
        }
    }
}

enum Undo {
    Replace(usize, Box<Tenant>),
    Insert(usize),
    Remove(usize, Box<Tenant>),
}

impl Undo {
    fn undo(self, intent: &mut Intent) {
        match self {
            Undo::Replace(i, t) => intent.tenants[i] = *t,
            Undo::Insert(i) => {
                intent.tenants.remove(i);
            }
            Undo::Remove(i, t) => intent.tenants.insert(i, *t),
        }
    }
}

/// Tenants in slug byte order (the store loads them so too).
pub fn sort_tenants(intent: &mut Intent) {
    intent
        .tenants
        .sort_by(|a, b| a.slug.as_str().cmp(b.slug.as_str()));
}
