//! Zarr node paths as a type: absolute, `/`-separated, without empty, `.` or `..` segments, `/`
//! for the root. A [`NodePath`] is what a [`crate::hierarchy::Node`] is named by and what the
//! planners join and split, so a path is normalised once, where it is made, and `name`/`parent`
//! are the same everywhere. It dereferences to `str` for the many places that only read it.

use std::fmt;

/// An absolute Zarr node path (`/`, `/measurements/reflectance/r10m/b02`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Default, serde::Serialize)]
#[serde(transparent)]
pub struct NodePath(String);

impl NodePath {
    /// The root group.
    pub fn root() -> Self {
        NodePath("/".into())
    }

    /// `a/b`, `/a/b/`, `/a//b` → `/a/b`; `` → `/`. `.` segments are dropped; `..` is refused
    /// (a node path never climbs out of its store).
    ///
    /// ```
    /// use eopf_geozarr::node_path::NodePath;
    /// assert_eq!(NodePath::new("measurements//reflectance/").unwrap().as_str(), "/measurements/reflectance");
    /// assert_eq!(NodePath::new("").unwrap(), NodePath::root());
    /// assert!(NodePath::new("/a/../b").is_err());
    /// ```
    pub fn new(path: &str) -> Result<Self, String> {
        let mut parts = Vec::new();
        for seg in path.split('/') {
            match seg {
                "" | "." => {}
                ".." => return Err(format!("{path}: a node path has no `..` segment")),
                s => parts.push(s),
            }
        }
        Ok(NodePath(format!("/{}", parts.join("/"))))
    }

    /// [`NodePath::new`] of a path known to be clean (made by joining names read from a store);
    /// a `..` segment is dropped rather than followed.
    pub fn from_clean(path: &str) -> Self {
        let t: Vec<&str> = path
            .split('/')
            .filter(|s| !matches!(*s, "" | "." | ".."))
            .collect();
        NodePath(format!("/{}", t.join("/")))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether this is the root group.
    pub fn is_root(&self) -> bool {
        self.0 == "/"
    }

    /// The last segment (`b02`; `/` for the root).
    pub fn name(&self) -> &str {
        self.0
            .rsplit('/')
            .next()
            .filter(|s| !s.is_empty())
            .unwrap_or("/")
    }

    /// The parent group (`/` for a child of the root and for the root itself).
    pub fn parent(&self) -> NodePath {
        match self.0.rsplit_once('/') {
            Some(("", _)) | None => NodePath::root(),
            Some((p, _)) => NodePath(p.to_string()),
        }
    }

    /// The child `name` (itself a relative path of one or more segments).
    pub fn join(&self, name: &str) -> NodePath {
        NodePath::from_clean(&format!("{}/{name}", self.0))
    }

    /// The path relative to the root, without the leading `/` (`` for the root): a store key
    /// prefix.
    pub fn relative(&self) -> &str {
        self.0.trim_start_matches('/')
    }
}

impl std::ops::Deref for NodePath {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl AsRef<str> for NodePath {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl std::borrow::Borrow<str> for NodePath {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for NodePath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl PartialEq<str> for NodePath {
    fn eq(&self, other: &str) -> bool {
        self.0 == other
    }
}

impl PartialEq<&str> for NodePath {
    fn eq(&self, other: &&str) -> bool {
        self.0 == *other
    }
}

impl PartialEq<String> for NodePath {
    fn eq(&self, other: &String) -> bool {
        &self.0 == other
    }
}

impl From<NodePath> for String {
    fn from(p: NodePath) -> String {
        p.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_parents_and_joins() {
        let p = NodePath::new("/measurements/reflectance/r10m/b02").unwrap();
        assert_eq!(p.name(), "b02");
        assert_eq!(p.parent().as_str(), "/measurements/reflectance/r10m");
        assert_eq!(
            p.parent().join("b03").as_str(),
            "/measurements/reflectance/r10m/b03"
        );
        assert_eq!(NodePath::root().name(), "/");
        assert_eq!(NodePath::root().parent(), NodePath::root());
        assert_eq!(NodePath::new("/x").unwrap().parent(), NodePath::root());
        assert_eq!(NodePath::root().join("a/b").relative(), "a/b");
        assert_eq!(NodePath::from_clean("/a/../b").as_str(), "/a/b");
        assert!(NodePath::root().is_root() && p == "/measurements/reflectance/r10m/b02");
    }
}
