//! The lab router's disk state, so that a restart keeps the running
//! configuration (as `/config/config.boot` does on VyOS, which the API's
//! commits do not save by themselves; the lab saves on every commit, the
//! equivalent of `commit; save`).
//!
//! Files in the state directory:
//! - `config.boot`: the running configuration, config.boot text;
//! - `revert.boot`: present while a commit-confirm waits for `confirm`; the
//!   configuration to go back to. A router that starts and finds it reverts
//!   at once, as a VyOS rebooting into its saved configuration would.

use std::io;
use std::path::{Path, PathBuf};

use vyos_tree::{ConfigTree, Schema};

#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: io::Error },
    #[error("{path}: not a configuration: {source}")]
    Parse {
        path: PathBuf,
        source: vyos_tree::ParseError,
    },
}

/// The state directory.
#[derive(Clone, Debug)]
pub struct StateDir {
    dir: PathBuf,
}

const RUNNING: &str = "config.boot";
const REVERT: &str = "revert.boot";

impl StateDir {
    pub fn open(dir: &Path) -> Result<StateDir, StateError> {
        std::fs::create_dir_all(dir).map_err(|source| StateError::Io {
            path: dir.into(),
            source,
        })?;
        Ok(StateDir { dir: dir.into() })
    }

    pub fn running_path(&self) -> PathBuf {
        self.dir.join(RUNNING)
    }

    fn read(&self, name: &str, schema: &dyn Schema) -> Result<Option<ConfigTree>, StateError> {
        let path = self.dir.join(name);
        match std::fs::read_to_string(&path) {
            Ok(text) => {
                let mut tree =
                    ConfigTree::parse_boot(&text).map_err(|source| StateError::Parse {
                        path: path.clone(),
                        source,
                    })?;
                // Re-set every path so roles come from the definitions.
                tree =
                    ConfigTree::parse_set(&tree.render_set(schema), schema).map_err(|source| {
                        StateError::Parse {
                            path: path.clone(),
                            source,
                        }
                    })?;
                Ok(Some(tree))
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(StateError::Io { path, source }),
        }
    }

    /// Writes through a temporary file and a rename: a crash leaves the
    /// old file or the new one, never half of one.
    fn write(&self, name: &str, tree: &ConfigTree, schema: &dyn Schema) -> Result<(), StateError> {
        let path = self.dir.join(name);
        let tmp = self.dir.join(format!(".{name}.tmp"));
        let mut text = tree.render_boot(schema);
        text.push_str("// vyos-config-version: \"vxguard-lab\"\n");
        let io = |source| StateError::Io {
            path: path.clone(),
            source,
        };
        std::fs::write(&tmp, text).map_err(io)?;
        std::fs::rename(&tmp, &path).map_err(io)
    }

    pub fn load_running(&self, schema: &dyn Schema) -> Result<ConfigTree, StateError> {
        Ok(self.read(RUNNING, schema)?.unwrap_or_default())
    }

    pub fn save_running(&self, tree: &ConfigTree, schema: &dyn Schema) -> Result<(), StateError> {
        self.write(RUNNING, tree, schema)
    }

    pub fn load_revert(&self, schema: &dyn Schema) -> Result<Option<ConfigTree>, StateError> {
        self.read(REVERT, schema)
    }

    pub fn save_revert(&self, tree: &ConfigTree, schema: &dyn Schema) -> Result<(), StateError> {
        self.write(REVERT, tree, schema)
    }

    pub fn clear_revert(&self) -> Result<(), StateError> {
        let path = self.dir.join(REVERT);
        match std::fs::remove_file(&path) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => {
                Err(StateError::Io { path, source: e })
            }
            _ => Ok(()),
        }
    }
}
