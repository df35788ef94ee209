//! CSV import: RFC 4180 records (quoted fields may hold commas, quotes and newlines) and the
//! flat column layout that maps a row to one registration request with one component.
//!
//! Each row becomes the same JSON a registration request would be, so it meets exactly the
//! checks of the API, and a problem names the JSON pointer of the field. Empty cells are
//! absent fields. The layout is documented in the README ("Importing passports").

use std::collections::HashSet;
use std::io::BufRead;

use reetrace_core::api::extract::parse_json;
use reetrace_core::api::problem::Problem;
use reetrace_core::domain::Element;
use reetrace_passport::domain::registration::Registration;
use serde_json::{Map, Value};

use super::Fatal;

/// One CSV record as read.
pub struct CsvRecord {
    /// The fields, or why the record is not valid CSV.
    pub fields: Result<Vec<String>, Problem>,
    /// Physical lines the record (and blank lines before it) spanned.
    pub lines: u64,
    pub bytes: u64,
}

/// Reads the next non-blank record; `None` at the end of the input. A record longer than
/// `max` bytes is reported and skipped to the end of its physical line.
pub fn read_record(
    input: &mut impl BufRead,
    buf: &mut Vec<u8>,
    max: usize,
) -> Result<Option<CsvRecord>, Fatal> {
    let (mut lines, mut bytes) = (0u64, 0u64);
    loop {
        buf.clear();
        let mut quotes = 0usize;
        let mut started = false;
        loop {
            let start = buf.len();
            let room = (max + 1).saturating_sub(start) as u64;
            let n = std::io::Read::take(&mut *input, room).read_until(b'\n', buf)?;
            if n == 0 {
                break;
            }
            started = true;
            bytes += n as u64;
            quotes += buf[start..].iter().filter(|&&b| b == b'"').count();
            if buf.len() > max && buf.last() != Some(&b'\n') {
                bytes += input.skip_until(b'\n')? as u64;
                lines += 1;
                return Ok(Some(CsvRecord {
                    fields: Err(super::too_long()),
                    lines,
                    bytes,
                }));
            }
            lines += 1;
            // A newline inside quotes belongs to the field: the record goes on.
            if quotes.is_multiple_of(2) || buf.last() != Some(&b'\n') {
                break;
            }
        }
        if !started {
            return Ok(None);
        }
        while matches!(buf.last(), Some(b'\n' | b'\r')) {
            buf.pop();
        }
        if buf.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        return Ok(Some(CsvRecord {
            fields: split(buf),
            lines,
            bytes,
        }));
    }
}

fn malformed(detail: &str) -> Problem {
    Problem::bad_request(
        crate::codes::MALFORMED_CSV,
        format!("The CSV record is malformed: {detail}."),
    )
}

/// Splits one record into its fields.
fn split(record: &[u8]) -> Result<Vec<String>, Problem> {
    let text = std::str::from_utf8(record).map_err(|_| malformed("it is not valid UTF-8"))?;
    let mut fields = Vec::new();
    let mut chars = text.chars().peekable();
    loop {
        let mut field = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            loop {
                match chars.next() {
                    Some('"') if chars.peek() == Some(&'"') => {
                        chars.next();
                        field.push('"');
                    }
                    Some('"') => break,
                    Some(c) => field.push(c),
                    None => return Err(malformed("a quoted field is not closed")),
                }
            }
            match chars.next() {
                None => {
                    fields.push(field);
                    return Ok(fields);
                }
                Some(',') => fields.push(field),
                Some(_) => return Err(malformed("text follows a closing quote")),
            }
        } else {
            loop {
                match chars.next() {
                    None => {
                        fields.push(field);
                        return Ok(fields);
                    }
                    Some(',') => break,
                    Some('"') => {
                        return Err(malformed("a quote inside an unquoted field"));
                    }
                    Some(c) => field.push(c),
                }
            }
            fields.push(field);
        }
    }
}

/// Where a column's cell goes.
#[derive(Debug, Clone, Copy)]
enum Column {
    /// A text field at a path of the request (`component` is the one component).
    Text(&'static [&'static str]),
    /// A number (written as JSON numbers are); a cell that is not one stays text, so the
    /// problem names the field.
    Number(&'static [&'static str]),
    /// The mass in grams of an element in the component.
    Element(Element),
    /// How the component's element masses were obtained.
    ElementMethod,
    /// Hazards, separated by `;`.
    Hazards,
}

/// The columns besides the element columns (`Nd_g`, `Dy_g`, ...), by header name.
const COLUMNS: &[(&str, Column)] = &[
    ("granularity", Column::Text(&["granularity"])),
    ("gtin", Column::Text(&["product", "gtin"])),
    ("serial", Column::Text(&["product", "serial"])),
    ("lot", Column::Text(&["product", "lot"])),
    ("units", Column::Number(&["product", "units"])),
    ("name", Column::Text(&["product", "name"])),
    ("model", Column::Text(&["product", "model"])),
    ("category", Column::Text(&["product", "category"])),
    ("net_mass_g", Column::Number(&["product", "net_mass_g"])),
    (
        "manufactured_on",
        Column::Text(&["product", "manufactured_on"]),
    ),
    (
        "expected_lifetime_years",
        Column::Number(&["product", "expected_lifetime_years"]),
    ),
    (
        "model_passport",
        Column::Text(&["product", "model_passport"]),
    ),
    (
        "market_date",
        Column::Text(&["product", "placed_on_market", "date"]),
    ),
    (
        "market_country",
        Column::Text(&["product", "placed_on_market", "country"]),
    ),
    (
        "market_nuts",
        Column::Text(&["product", "placed_on_market", "nuts"]),
    ),
    (
        "facility_name",
        Column::Text(&["product", "facility", "name"]),
    ),
    (
        "facility_country",
        Column::Text(&["product", "facility", "country"]),
    ),
    (
        "facility_identifier",
        Column::Text(&["product", "facility", "identifier"]),
    ),
    ("component_name", Column::Text(&["component", "name"])),
    (
        "component_material",
        Column::Text(&["component", "material"]),
    ),
    ("component_mass_g", Column::Number(&["component", "mass_g"])),
    (
        "component_location",
        Column::Text(&["component", "location"]),
    ),
    ("component_removal", Column::Text(&["component", "removal"])),
    ("element_method", Column::ElementMethod),
    (
        "recycled_pre_consumer",
        Column::Number(&["component", "recycled_content", "pre_consumer"]),
    ),
    (
        "recycled_post_consumer",
        Column::Number(&["component", "recycled_content", "post_consumer"]),
    ),
    ("dismantling", Column::Text(&["end_of_life", "dismantling"])),
    ("use_type", Column::Text(&["end_of_life", "use_type"])),
    ("hazards", Column::Hazards),
];

/// Columns every file needs: without them no row could be a valid registration.
const REQUIRED: &[&str] = &[
    "granularity",
    "name",
    "category",
    "net_mass_g",
    "market_date",
    "market_country",
];

/// The columns of a file, in order.
#[derive(Debug)]
pub struct Layout {
    columns: Vec<Column>,
}

impl Layout {
    /// The layout a header row names; unknown or repeated columns are a usage error.
    pub fn from_header(names: &[String]) -> Result<Layout, String> {
        let mut columns = Vec::with_capacity(names.len());
        let mut seen = HashSet::new();
        for raw in names {
            let name = raw.trim();
            if !seen.insert(name.to_ascii_lowercase()) {
                return Err(format!("the CSV header names the column {name:?} twice"));
            }
            let column = COLUMNS
                .iter()
                .find(|(known, _)| known.eq_ignore_ascii_case(name))
                .map(|(_, c)| *c)
                .or_else(|| element_column(name).map(Column::Element));
            match column {
                Some(c) => columns.push(c),
                None => {
                    let known: Vec<&str> = COLUMNS.iter().map(|(n, _)| *n).collect();
                    return Err(format!(
                        "unknown CSV column {name:?}: the columns are {} and one <element>_g per element (Nd_g, Dy_g, ...)",
                        known.join(", ")
                    ));
                }
            }
        }
        let missing: Vec<&str> = REQUIRED
            .iter()
            .filter(|r| !seen.contains(**r))
            .copied()
            .collect();
        if !missing.is_empty() {
            return Err(format!(
                "the CSV header lacks the column(s) {}",
                missing.join(", ")
            ));
        }
        Ok(Layout { columns })
    }

    /// The registration a row describes, checked as the API checks a request.
    pub fn registration(&self, fields: &[String]) -> Result<Registration, Problem> {
        let request = self.request(fields)?;
        let bytes = serde_json::to_vec(&request).map_err(|_| Problem::internal())?;
        parse_json(&bytes)
    }

    /// The registration request (JSON) a row describes.
    fn request(&self, fields: &[String]) -> Result<Value, Problem> {
        if fields.len() != self.columns.len() {
            return Err(Problem::bad_request(
                crate::codes::CSV_COLUMNS,
                format!(
                    "The row has {} fields; the header names {} columns.",
                    fields.len(),
                    self.columns.len()
                ),
            ));
        }
        let mut request = Map::new();
        let mut component = Map::new();
        let mut elements = Vec::new();
        let mut method = None;
        for (column, cell) in self.columns.iter().zip(fields) {
            if cell.is_empty() {
                continue;
            }
            match *column {
                Column::Text(path) => put(&mut request, &mut component, path, text(cell)),
                Column::Number(path) => put(&mut request, &mut component, path, number(cell)),
                Column::Element(element) => {
                    let mut entry = Map::new();
                    entry.insert("element".into(), element.symbol().into());
                    entry.insert("mass_g".into(), number(cell));
                    elements.push(entry);
                }
                Column::ElementMethod => method = Some(text(cell)),
                Column::Hazards => put(
                    &mut request,
                    &mut component,
                    &["end_of_life", "hazards"],
                    Value::Array(
                        cell.split(';')
                            .map(str::trim)
                            .filter(|h| !h.is_empty())
                            .map(text)
                            .collect(),
                    ),
                ),
            }
        }
        if !elements.is_empty() {
            if let Some(method) = method {
                for entry in &mut elements {
                    entry.insert("method".into(), method.clone());
                }
            }
            component.insert(
                "elements".into(),
                Value::Array(elements.into_iter().map(Value::Object).collect()),
            );
        }
        let components = if component.is_empty() {
            Vec::new()
        } else {
            component
                .entry("elements")
                .or_insert_with(|| Value::Array(Vec::new()));
            vec![Value::Object(component)]
        };
        let mut content = Map::new();
        content.insert("components".into(), Value::Array(components));
        request.insert("ree_content".into(), Value::Object(content));
        Ok(Value::Object(request))
    }
}

/// `Nd_g` (any case) names neodymium's mass.
fn element_column(name: &str) -> Option<Element> {
    let symbol = name
        .strip_suffix("_g")
        .or_else(|| name.strip_suffix("_G"))?;
    Element::ALL
        .into_iter()
        .find(|e| e.symbol().eq_ignore_ascii_case(symbol))
}

fn text(cell: &str) -> Value {
    Value::String(cell.to_owned())
}

fn number(cell: &str) -> Value {
    match cell.trim().parse::<serde_json::Number>() {
        Ok(n) => Value::Number(n),
        Err(_) => text(cell),
    }
}

/// Puts `value` at `path`: in the component when the path starts with `component`.
fn put(
    request: &mut Map<String, Value>,
    component: &mut Map<String, Value>,
    path: &[&str],
    value: Value,
) {
    let (target, path) = match path.split_first() {
        Some((&"component", rest)) => (component, rest),
        _ => (request, path),
    };
    let Some((last, parents)) = path.split_last() else {
        return;
    };
    let mut map = target;
    for key in parents {
        let entry = map.entry(*key).or_insert_with(|| Value::Object(Map::new()));
        if !entry.is_object() {
            *entry = Value::Object(Map::new());
        }
        let Value::Object(inner) = entry else {
            return;
        };
        map = inner;
    }
    map.insert((*last).to_owned(), value);
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn records(text: &str, max: usize) -> Vec<(Result<Vec<String>, u16>, u64)> {
        let mut input = text.as_bytes();
        let mut buf = Vec::new();
        let mut out = Vec::new();
        while let Some(r) = read_record(&mut input, &mut buf, max).unwrap() {
            out.push((r.fields.map_err(|p| p.status), r.lines));
        }
        out
    }

    fn strings(fields: &[&str]) -> Vec<String> {
        fields.iter().map(|f| (*f).to_owned()).collect()
    }

    #[test]
    fn records_follow_rfc_4180() {
        let got = records(
            "a,b,c\r\n\n\"x, y\",\"say \"\"hi\"\"\",\"two\nlines\"\nlast,,\n\"open\n",
            1000,
        );
        assert_eq!(got[0], (Ok(strings(&["a", "b", "c"])), 1));
        // The blank line before the record counts in its lines.
        assert_eq!(
            got[1],
            (Ok(strings(&["x, y", "say \"hi\"", "two\nlines"])), 3)
        );
        assert_eq!(got[2], (Ok(strings(&["last", "", ""])), 1));
        assert_eq!(got[3], (Err(400), 1));
        assert_eq!(got.len(), 4);
    }

    #[test]
    fn a_record_over_the_limit_is_skipped_to_its_line_end() {
        let got = records("short\nthis line is far too long\nok\n", 10);
        assert_eq!(got[0].0, Ok(strings(&["short"])));
        assert_eq!(got[1].0, Err(400));
        assert_eq!(got[2].0, Ok(strings(&["ok"])));
    }

    #[test]
    fn a_row_becomes_a_registration_request() {
        let header = strings(&[
            "granularity",
            "gtin",
            "serial",
            "name",
            "category",
            "net_mass_g",
            "market_date",
            "market_country",
            "component_name",
            "component_material",
            "component_mass_g",
            "element_method",
            "Nd_g",
            "dy_G",
            "recycled_post_consumer",
            "hazards",
        ]);
        let layout = Layout::from_header(&header).unwrap();
        let row = strings(&[
            "item",
            "04012345000016",
            "S-1",
            "Motor",
            "ev_traction_motor",
            "48000",
            "2026-04-15",
            "FR",
            "magnets",
            "NdFeB-sintered",
            "1500",
            "measured",
            "337.5",
            "",
            "0.05",
            "magnetic; ",
        ]);
        let request = layout.request(&row).unwrap();
        assert_eq!(
            request,
            serde_json::json!({
                "granularity": "item",
                "product": {"gtin": "04012345000016", "serial": "S-1", "name": "Motor",
                    "category": "ev_traction_motor", "net_mass_g": 48000,
                    "placed_on_market": {"date": "2026-04-15", "country": "FR"}},
                "ree_content": {"components": [{"name": "magnets", "material": "NdFeB-sintered",
                    "mass_g": 1500, "recycled_content": {"post_consumer": 0.05},
                    "elements": [{"element": "Nd", "mass_g": 337.5, "method": "measured"}]}]},
                "end_of_life": {"hazards": ["magnetic"]}
            })
        );
        assert!(layout.registration(&row).is_ok());
        // A cell that is no number stays text: the problem names the field.
        let mut bad = row.clone();
        bad[5] = "heavy".into();
        let problem = layout.registration(&bad).unwrap_err();
        assert_eq!(problem.status, 422);
        assert_eq!(problem.errors[0].pointer, "/product/net_mass_g");
        let short = layout.request(&row[..3]).unwrap_err();
        assert_eq!(short.code, "csv_columns");
    }

    #[test]
    fn headers_name_known_columns_once() {
        let base = [
            "granularity",
            "name",
            "category",
            "net_mass_g",
            "market_date",
            "market_country",
        ];
        assert!(Layout::from_header(&strings(&base)).is_ok());
        let mut unknown = strings(&base);
        unknown.push("colour".into());
        assert!(
            Layout::from_header(&unknown)
                .unwrap_err()
                .contains("colour")
        );
        let mut twice = strings(&base);
        twice.push("Name".into());
        assert!(Layout::from_header(&twice).unwrap_err().contains("twice"));
        assert!(
            Layout::from_header(&strings(&base[1..]))
                .unwrap_err()
                .contains("granularity")
        );
        assert!(element_column("Xx_g").is_none());
        assert_eq!(element_column("TB_g"), Some(Element::Tb));
    }
}
