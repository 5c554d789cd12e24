//! The product panel: the tree of groups and arrays (shape, data type, chunks, shards, codecs),
//! the attributes of the selected node, and for GeoZarr stores the validation report.

use crate::hierarchy::{Hierarchy, NodeKind};
use crate::validate::{Report, Severity};

/// One node of the tree, prepared once when the product is loaded.
#[derive(Debug, Clone)]
pub struct TreeNode {
    pub path: String,
    pub depth: usize,
    pub is_group: bool,
    /// `[10980, 10980] uint16 · chunks [1830, 1830] · shards … · blosc(zstd)`.
    pub summary: String,
    /// The attributes as pretty JSON.
    pub attributes: String,
}

/// The tree of a hierarchy, in path order.
pub fn tree(h: &Hierarchy) -> Vec<TreeNode> {
    h.nodes()
        .map(|n| {
            let depth = n.path.matches('/').count() - usize::from(n.path == "/");
            let (is_group, summary) = match &n.kind {
                NodeKind::Group => (true, String::new()),
                NodeKind::Array(m) => {
                    let mut s = format!("{:?} {} · chunks {:?}", m.shape, m.dtype, m.chunks);
                    if let Some(sh) = &m.shard_shape {
                        s.push_str(&format!(" · shards {sh:?}"));
                    }
                    if !m.codecs.is_empty() {
                        s.push_str(&format!(" · {}", m.codecs.join(", ")));
                    }
                    (false, s)
                }
            };
            TreeNode {
                path: n.path.to_string(),
                depth,
                is_group,
                summary,
                attributes: serde_json::to_string_pretty(&n.attributes).unwrap_or_default(),
            }
        })
        .collect()
}

/// Draw the panel; `selected` is the path whose attributes are shown.
pub fn show(
    ui: &mut egui::Ui,
    nodes: &[TreeNode],
    validation: Option<&Report>,
    selected: &mut Option<String>,
) {
    if let Some(v) = validation {
        let (e, w) = (v.errors().count(), v.warnings().count());
        let colour = if e > 0 {
            egui::Color32::LIGHT_RED
        } else if w > 0 {
            egui::Color32::YELLOW
        } else {
            egui::Color32::LIGHT_GREEN
        };
        egui::CollapsingHeader::new(
            egui::RichText::new(format!("Validation: {e} error(s), {w} warning(s)")).color(colour),
        )
        .id_salt("validation")
        .default_open(e > 0)
        .show(ui, |ui| {
            for f in &v.findings {
                let tag = match f.severity {
                    Severity::Error => "ERROR",
                    Severity::Warning => "warning",
                };
                ui.label(format!("{tag} {} [{}] {}", f.path, f.code, f.message));
            }
        });
        ui.separator();
    }
    let attrs_height = 220.0;
    egui::ScrollArea::vertical()
        .id_salt("tree")
        .max_height((ui.available_height() - attrs_height).max(120.0))
        .show(ui, |ui| {
            for n in nodes {
                let name = if n.path == "/" {
                    "/".to_string()
                } else {
                    n.path.rsplit('/').next().unwrap_or(&n.path).to_string()
                };
                let label = if n.is_group {
                    format!("{}{}/", "  ".repeat(n.depth), name.trim_end_matches('/'))
                } else {
                    format!("{}{name}  {}", "  ".repeat(n.depth), n.summary)
                };
                let on = selected.as_deref() == Some(n.path.as_str());
                if ui
                    .selectable_label(on, egui::RichText::new(label).monospace().size(11.0))
                    .clicked()
                {
                    *selected = Some(n.path.clone());
                }
            }
        });
    ui.separator();
    match selected
        .as_deref()
        .and_then(|p| nodes.iter().find(|n| n.path == p))
    {
        Some(n) => {
            ui.strong(format!("Attributes of {}", n.path));
            egui::ScrollArea::both().id_salt("attrs").show(ui, |ui| {
                ui.add(
                    egui::Label::new(egui::RichText::new(&n.attributes).monospace().size(11.0))
                        .wrap_mode(egui::TextWrapMode::Extend),
                );
            });
        }
        None => {
            ui.weak("Select a group or an array to see its attributes.");
        }
    }
}
