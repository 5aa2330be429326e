//! Exporting a view: its numbers as a table (CSV or JSON) and its picture as a PNG. Files are
//! written with [`crate::model::io::atomic::write_atomic`], so none is ever half-written.

use serde::{Deserialize, Serialize};

/// One value of an exported table.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Cell {
    /// A measured number.
    Num(f64),
    /// A count or an index (a position, a step, a token id): written without a decimal point.
    Int(u64),
    /// A label.
    Text(String),
}

impl From<f32> for Cell {
    fn from(value: f32) -> Self {
        Cell::Num(value as f64)
    }
}
impl From<f64> for Cell {
    fn from(value: f64) -> Self {
        Cell::Num(value)
    }
}
impl From<usize> for Cell {
    fn from(value: usize) -> Self {
        Cell::Int(value as u64)
    }
}
impl From<u32> for Cell {
    fn from(value: u32) -> Self {
        Cell::Int(u64::from(value))
    }
}
impl From<String> for Cell {
    fn from(value: String) -> Self {
        Cell::Text(value)
    }
}
impl From<&str> for Cell {
    fn from(value: &str) -> Self {
        Cell::Text(value.to_string())
    }
}

/// The numbers behind a view: named columns and rows of cells.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Table {
    /// Column names.
    pub columns: Vec<String>,
    /// Rows, each as long as `columns`.
    pub rows: Vec<Vec<Cell>>,
}

impl Table {
    /// An empty table with these columns.
    pub fn new(columns: &[&str]) -> Self {
        Self {
            columns: columns.iter().map(|c| c.to_string()).collect(),
            rows: Vec::new(),
        }
    }

    /// Adds a row.
    pub fn push(&mut self, row: Vec<Cell>) {
        debug_assert_eq!(row.len(), self.columns.len());
        self.rows.push(row);
    }

    /// RFC 4180 CSV: a header line, then one line per row; text is quoted when it needs it.
    pub fn to_csv(&self) -> String {
        let mut out = String::new();
        let line = |cells: Vec<String>| cells.join(",") + "\n";
        out += &line(self.columns.iter().map(|c| csv_field(c)).collect());
        for row in &self.rows {
            out += &line(
                row.iter()
                    .map(|cell| match cell {
                        Cell::Num(x) => format_number(*x),
                        Cell::Int(n) => n.to_string(),
                        Cell::Text(text) => csv_field(text),
                    })
                    .collect(),
            );
        }
        out
    }

    /// JSON: `{"columns": [...], "rows": [{column: value, ...}, ...]}`.
    pub fn to_json(&self) -> String {
        let rows: Vec<serde_json::Map<String, serde_json::Value>> = self
            .rows
            .iter()
            .map(|row| {
                self.columns
                    .iter()
                    .cloned()
                    .zip(row.iter().map(|cell| {
                        match cell {
                            Cell::Num(x) => serde_json::Number::from_f64(*x)
                                .map(serde_json::Value::Number)
                                .unwrap_or(serde_json::Value::Null),
                            Cell::Int(n) => serde_json::Value::from(*n),
                            Cell::Text(text) => serde_json::Value::String(text.clone()),
                        }
                    }))
                    .collect()
            })
            .collect();
        let value = serde_json::json!({ "columns": self.columns, "rows": rows });
        serde_json::to_string_pretty(&value).expect("a JSON value always serialises")
    }
}

fn csv_field(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_string()
    }
}

fn format_number(x: f64) -> String {
    if x.is_finite() {
        format!("{x}")
    } else {
        String::new()
    }
}

/// What an export writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ExportFormat {
    /// The view's picture.
    Png,
    /// The view's numbers, comma-separated.
    Csv,
    /// The view's numbers as JSON.
    Json,
}

impl ExportFormat {
    /// The file extension, without the dot.
    pub fn extension(self) -> &'static str {
        match self {
            ExportFormat::Png => "png",
            ExportFormat::Csv => "csv",
            ExportFormat::Json => "json",
        }
    }
}

/// Encodes an RGBA image (`width · height · 4` bytes, rows top to bottom) as PNG.
pub fn encode_png(width: usize, height: usize, rgba: &[u8]) -> Result<Vec<u8>, String> {
    if rgba.len() != width * height * 4 {
        return Err(format!(
            "{} bytes for a {width}×{height} RGBA image",
            rgba.len()
        ));
    }
    let mut bytes = Vec::new();
    {
        let mut encoder = png::Encoder::new(&mut bytes, width as u32, height as u32);
        encoder.set_color(png::ColorType::Rgba);
        encoder.set_depth(png::BitDepth::Eight);
        let mut writer = encoder.write_header().map_err(|e| e.to_string())?;
        writer.write_image_data(rgba).map_err(|e| e.to_string())?;
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Table {
        let mut table = Table::new(&["token", "value"]);
        table.push(vec!["a,\"b\"".into(), 0.5f64.into()]);
        table.push(vec!["c".into(), Cell::Num(f64::NAN)]);
        table
    }

    #[test]
    fn csv_quotes_and_json_names_columns() {
        let table = sample();
        assert_eq!(table.to_csv(), "token,value\n\"a,\"\"b\"\"\",0.5\nc,\n");
        let json: serde_json::Value = serde_json::from_str(&table.to_json()).unwrap();
        assert_eq!(json["rows"][0]["value"], 0.5);
        assert_eq!(json["rows"][1]["value"], serde_json::Value::Null);
    }

    #[test]
    fn counts_and_indices_are_written_as_integers() {
        let mut table = Table::new(&["pos", "token", "value"]);
        table.push(vec![0usize.into(), 1200u32.into(), 2.0f32.into()]);
        let json = table.to_json();
        assert!(json.contains("\"pos\": 0,"), "{json}");
        assert!(json.contains("\"token\": 1200,"), "{json}");
        assert!(json.contains("\"value\": 2.0"), "{json}");
        assert_eq!(table.to_csv(), "pos,token,value\n0,1200,2\n");
    }

    #[test]
    fn png_round_trips_its_size() {
        let rgba = vec![255u8; 3 * 2 * 4];
        let bytes = encode_png(3, 2, &rgba).unwrap();
        let decoder = png::Decoder::new(std::io::Cursor::new(bytes));
        let reader = decoder.read_info().unwrap();
        assert_eq!((reader.info().width, reader.info().height), (3, 2));
        assert!(encode_png(3, 3, &rgba).is_err());
    }
}
