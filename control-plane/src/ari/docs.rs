//! `/ari/api-docs/*`: the ARI declarations, with `basePath` rewritten to the request's host
//! (every swagger-based client builds its URLs from it).

use std::{collections::HashMap, sync::OnceLock};

use serde_json::{Value, json};

macro_rules! docs {
    ($($name:literal),* $(,)?) => {
        [$(($name, include_str!(concat!("../../ari-api-docs/", $name)))),*]
    };
}

const FILES: [(&str, &str); 12] = docs!(
    "resources.json",
    "asterisk.json",
    "applications.json",
    "bridges.json",
    "channels.json",
    "deviceStates.json",
    "endpoints.json",
    "events.json",
    "mailboxes.json",
    "playbacks.json",
    "recordings.json",
    "sounds.json",
);

fn parsed() -> &'static HashMap<&'static str, Value> {
    static DOCS: OnceLock<HashMap<&'static str, Value>> = OnceLock::new();
    DOCS.get_or_init(|| {
        FILES
            .iter()
            .filter_map(|(n, text)| serde_json::from_str(text).ok().map(|v| (*n, v)))
            .collect()
    })
}

/// The declaration `file`, with `basePath` pointing at `host`.
pub(super) fn serve(file: &str, host: Option<&str>) -> Option<Value> {
    let mut v = parsed().get(file)?.clone();
    let obj = v.as_object_mut()?;
    match host {
        Some(h) => {
            obj.insert("basePath".into(), json!(format!("http://{h}/ari")));
        }
        None => {
            obj.remove("basePath");
        }
    }
    Some(v)
}

/// Event types `events.json` defines: nothing else may be emitted (ari-client crashes on an
/// unknown type).
#[cfg(test)]
pub(crate) fn event_types() -> Vec<String> {
    parsed()
        .get("events.json")
        .and_then(|e| e.get("models"))
        .and_then(Value::as_object)
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_declaration_parses_and_is_rebased() {
        assert_eq!(parsed().len(), 12);
        let r = serve("resources.json", Some("127.0.0.1:9999")).expect("resources");
        assert_eq!(r["basePath"], "http://127.0.0.1:9999/ari");
        let apis: Vec<String> = r["apis"]
            .as_array()
            .expect("apis")
            .iter()
            .map(|a| {
                a["path"]
                    .as_str()
                    .expect("path")
                    .replace("/api-docs/", "")
                    .replace("{format}", "json")
            })
            .collect();
        for a in apis {
            assert!(serve(&a, None).is_some(), "{a} is served");
        }
        assert!(
            serve("channels.json", None)
                .expect("x")
                .get("basePath")
                .is_none()
        );
        let types = event_types();
        for e in crate::telephony::EMITTED {
            assert!(types.iter().any(|t| t == e), "{e} is not in events.json");
        }
    }
}
