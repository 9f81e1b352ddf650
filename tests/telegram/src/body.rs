//! Reading a Bot API request's parameters the three ways Telegram accepts them: a JSON body, a
//! form (or query string) and multipart with uploaded files.

use serde_json::{Map, Value};

/// A file uploaded in a multipart request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upload {
    /// The form field it came in.
    pub field: String,
    /// The file name the client gave.
    pub file_name: String,
    /// The contents.
    pub bytes: Vec<u8>,
}

/// The parameters of one request: plain values (JSON as sent; form fields as strings, or as
/// the JSON they hold where they hold an object or array) and uploaded files.
#[derive(Debug, Clone, Default)]
pub struct Params {
    /// Named values.
    pub values: Map<String, Value>,
    /// Uploaded files.
    pub uploads: Vec<Upload>,
}

/// Parses a request body by its content type, merging in `query` parameters.
pub fn parse(content_type: &str, query: &str, body: &[u8]) -> Result<Params, String> {
    let mut params = Params::default();
    add_form(&mut params, query.as_bytes());
    let media = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    if body.is_empty() {
        return Ok(params);
    }
    match media.as_str() {
        "application/json" | "" => {
            let value: Value = serde_json::from_slice(body)
                .map_err(|e| format!("Bad Request: can't parse JSON: {e}"))?;
            match value {
                Value::Object(map) => params.values.extend(map),
                Value::Null => {}
                _ => return Err("Bad Request: JSON body is not an object".into()),
            }
        }
        "application/x-www-form-urlencoded" => add_form(&mut params, body),
        "multipart/form-data" => {
            let boundary = content_type
                .split(';')
                .filter_map(|p| p.trim().strip_prefix("boundary="))
                .next()
                .map(|b| b.trim_matches('"').to_owned())
                .ok_or("Bad Request: multipart without boundary")?;
            add_multipart(&mut params, &boundary, body)?;
        }
        other => return Err(format!("Bad Request: unsupported content type {other}")),
    }
    Ok(params)
}

fn add_form(params: &mut Params, body: &[u8]) {
    for (name, value) in form_urlencoded::parse(body) {
        params.values.insert(name.into_owned(), text_value(&value));
    }
}

/// A form field as a value: JSON objects and arrays (reply markup, allowed updates) are read
/// as JSON, anything else stays text.
fn text_value(text: &str) -> Value {
    let trimmed = text.trim_start();
    if (trimmed.starts_with('{') || trimmed.starts_with('['))
        && let Ok(value) = serde_json::from_str::<Value>(text)
    {
        return value;
    }
    Value::String(text.to_owned())
}

fn add_multipart(params: &mut Params, boundary: &str, body: &[u8]) -> Result<(), String> {
    let delimiter = format!("--{boundary}");
    let delimiter = delimiter.as_bytes();
    let mut rest = body;
    // Skip the preamble up to the first delimiter.
    let start = find(rest, delimiter).ok_or("Bad Request: multipart without parts")?;
    rest = rest.get(start + delimiter.len()..).unwrap_or_default();
    loop {
        if rest.starts_with(b"--") {
            return Ok(());
        }
        rest = rest.strip_prefix(b"\r\n").unwrap_or(rest);
        let end = find(rest, delimiter).ok_or("Bad Request: unterminated multipart part")?;
        let part = rest.get(..end).unwrap_or_default();
        let part = part.strip_suffix(b"\r\n").unwrap_or(part);
        rest = rest.get(end + delimiter.len()..).unwrap_or_default();
        let split = find(part, b"\r\n\r\n").ok_or("Bad Request: multipart part without headers")?;
        let headers = String::from_utf8_lossy(part.get(..split).unwrap_or_default());
        let content = part.get(split + 4..).unwrap_or_default();
        let disposition = headers
            .lines()
            .find(|l| l.to_ascii_lowercase().starts_with("content-disposition"))
            .unwrap_or_default();
        let name = disposition_param(disposition, "name").unwrap_or_default();
        match disposition_param(disposition, "filename") {
            Some(file_name) => params.uploads.push(Upload {
                field: name,
                file_name,
                bytes: content.to_vec(),
            }),
            None => {
                let text = String::from_utf8_lossy(content);
                params.values.insert(name, text_value(&text));
            }
        }
    }
}

fn disposition_param(header: &str, name: &str) -> Option<String> {
    header.split(';').skip(1).find_map(|p| {
        let (key, value) = p.trim().split_once('=')?;
        (key.trim() == name).then(|| value.trim().trim_matches('"').to_owned())
    })
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

impl Params {
    /// A parameter as text (a JSON number is given as its digits).
    pub fn str(&self, name: &str) -> Option<String> {
        match self.values.get(name)? {
            Value::String(s) => Some(s.clone()),
            Value::Null => None,
            other => Some(other.to_string()),
        }
    }

    /// A parameter as an integer, sent as a number or as digits.
    pub fn int(&self, name: &str) -> Option<i64> {
        match self.values.get(name)? {
            Value::Number(n) => n.as_i64(),
            Value::String(s) => s.trim().parse().ok(),
            _ => None,
        }
    }

    /// A parameter as a boolean, sent as JSON or as `true`/`false` text.
    pub fn bool(&self, name: &str) -> bool {
        match self.values.get(name) {
            Some(Value::Bool(b)) => *b,
            Some(Value::String(s)) => s == "true",
            _ => false,
        }
    }

    /// A parameter holding JSON (an object or array), whether sent as JSON or as text.
    pub fn json(&self, name: &str) -> Option<Value> {
        match self.values.get(name)? {
            Value::String(s) => serde_json::from_str(s).ok(),
            Value::Null => None,
            other => Some(other.clone()),
        }
    }

    /// The parameters as one JSON object, uploads shown by file name and size.
    pub fn to_json(&self) -> Value {
        let mut map = self.values.clone();
        for upload in &self.uploads {
            map.insert(
                upload.field.clone(),
                serde_json::json!({ "upload": upload.file_name, "size": upload.bytes.len() }),
            );
        }
        Value::Object(map)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // Tests fail by panicking.
    use super::*;

    #[test]
    fn json_form_and_multipart_bodies_give_the_same_parameters() {
        let json = parse("application/json", "", br#"{"chat_id":5,"text":"hi"}"#).unwrap();
        let form = parse(
            "application/x-www-form-urlencoded",
            "",
            b"chat_id=5&text=hi&reply_markup=%7B%22a%22%3A1%7D",
        )
        .unwrap();
        let body = b"--XX\r\nContent-Disposition: form-data; name=\"chat_id\"\r\n\r\n5\r\n--XX\r\nContent-Disposition: form-data; name=\"document\"; filename=\"keys.txt\"\r\nContent-Type: text/plain\r\n\r\nK-1\nK-2\r\n--XX--\r\n";
        let multipart = parse("multipart/form-data; boundary=XX", "", body).unwrap();
        for params in [&json, &form, &multipart] {
            assert_eq!(params.int("chat_id"), Some(5));
        }
        assert_eq!(form.str("text").as_deref(), Some("hi"));
        assert_eq!(form.json("reply_markup"), Some(serde_json::json!({"a": 1})));
        assert_eq!(multipart.uploads[0].file_name, "keys.txt");
        assert_eq!(multipart.uploads[0].bytes, b"K-1\nK-2");
    }
}
