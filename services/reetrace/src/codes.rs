//! The problem codes of the binary's own commands (the lines `reetrace import` refuses), beside
//! core's and the services' registries.

use reetrace_core::problem_codes;

const MALFORMED: &str = "The request is malformed";

problem_codes! {
    /// Every code the binary's commands answer besides core's and the services'.
    pub static CODES;
    /// A CSV row with another number of fields than the header has columns.
    CSV_COLUMNS = ("csv_columns", BAD_REQUEST, MALFORMED);
    /// A CSV record that does not parse.
    MALFORMED_CSV = ("malformed_csv", BAD_REQUEST, MALFORMED);
    /// An import line longer than the import reads.
    LINE_TOO_LONG = ("line_too_long", BAD_REQUEST, MALFORMED);
}

problem_codes! {
    /// The codes of `POST /api/v1/scan/decode`.
    pub static SCAN_CODES;
    /// The photo holds no QR code or Data Matrix that decodes.
    NO_CODE_FOUND = ("no_code_found", UNPROCESSABLE_ENTITY, "No code found in the image");
    /// The body is not a readable image of its declared type, or has more pixels than are read.
    UNREADABLE_IMAGE = ("unreadable_image", UNPROCESSABLE_ENTITY, "The image cannot be read");
}
