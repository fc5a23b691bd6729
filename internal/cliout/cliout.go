// Package cliout prints what the mlruns command lists: aligned tables that
// fit the terminal, CSV and JSON. It knows nothing about MLflow; commands
// build a Table (or a JSON value) and pick the format from their flags.
package cliout

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"unicode/utf8"

	"golang.org/x/term"
)

// Format is how a listing is printed.
type Format int

const (
	FormatTable Format = iota // aligned columns, the default
	FormatJSON                // MLflow REST response shapes
	FormatCSV                 // RFC 4180, header row first
)

// ParseFormat picks the format from the --json / --csv flags; both set is a
// usage mistake the caller reports.
func ParseFormat(jsonFlag, csvFlag bool) (Format, error) {
	switch {
	case jsonFlag && csvFlag:
		return 0, fmt.Errorf("--json and --csv cannot be used together")
	case jsonFlag:
		return FormatJSON, nil
	case csvFlag:
		return FormatCSV, nil
	}
	return FormatTable, nil
}

// Table is a header and rows of cells. Marked cells (Marks[row][col]) are
// shown bold on a terminal and with a trailing '*' elsewhere, so a
// difference stays visible in a pipe or a golden file.
//
// Keep[col] marks columns shortened only when shortening the others to
// their minimum is not enough (ids a person copies, times).
type Table struct {
	Header []string
	Rows   [][]string
	Marks  [][]bool
	Keep   []bool
}

// Append adds a row.
func (t *Table) Append(cells ...string) { t.Rows = append(t.Rows, cells) }

// Options controls table printing.
type Options struct {
	// Width is the line width to fit; 0 means no limit (pipes, files).
	Width int
	// Color turns on ANSI bold for marked cells (terminals only).
	Color bool
}

// TerminalOptions returns the options for w: the terminal's width and
// color when w is a terminal, no limit and no color otherwise. COLUMNS
// overrides the width, as for ls.
func TerminalOptions(w io.Writer) Options {
	var o Options
	if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		o.Color = os.Getenv("NO_COLOR") == ""
		if width, _, err := term.GetSize(int(f.Fd())); err == nil && width > 0 {
			o.Width = width
		}
	}
	if c, err := strconv.Atoi(os.Getenv("COLUMNS")); err == nil && c > 0 {
		o.Width = c
	}
	return o
}

// IsTerminal reports whether w is a terminal (for progress bars).
func IsTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

const (
	colSep   = "  "
	ellipsis = "…"
	minCol   = 6 // a column is never squeezed below this many runes
)

// WriteTable prints t aligned. When the natural width exceeds o.Width the
// widest columns are shortened (with "…") until it fits or every column is
// at minCol. Control characters in cells are escaped so a hostile tag
// value cannot move the cursor.
func WriteTable(w io.Writer, t *Table, o Options) error {
	ncol := len(t.Header)
	for _, r := range t.Rows {
		ncol = max(ncol, len(r))
	}
	cell := func(r []string, i int) string {
		if i < len(r) {
			return sanitize(r[i])
		}
		return ""
	}
	widths := make([]int, ncol)
	for i := range ncol {
		widths[i] = runeWidth(cell(t.Header, i))
		for row, r := range t.Rows {
			widths[i] = max(widths[i], runeWidth(cell(r, i))+markRoom(t, row, i, o))
		}
	}
	if o.Width > 0 {
		fit(widths, o.Width, t.Keep)
	}
	var buf bytes.Buffer
	line := func(r []string, row int) {
		start := buf.Len()
		for i := range ncol {
			if i > 0 {
				buf.WriteString(colSep)
			}
			marked := row >= 0 && t.markWidth(row, i) == 1
			s := cell(r, i)
			room := widths[i]
			if marked && !o.Color {
				room--
			}
			s = truncate(s, room)
			n := runeWidth(s)
			switch {
			case marked && o.Color:
				buf.WriteString("\x1b[1m" + s + "\x1b[0m")
			case marked:
				buf.WriteString(s + "*")
				n++
			default:
				buf.WriteString(s)
			}
			if i < ncol-1 {
				buf.WriteString(strings.Repeat(" ", max(0, widths[i]-n)))
			}
		}
		// no trailing blanks: golden files and terminals both prefer it
		b := bytes.TrimRight(buf.Bytes()[start:], " ")
		buf.Truncate(start + len(b))
		buf.WriteByte('\n')
	}
	if len(t.Header) > 0 {
		line(t.Header, -1)
	}
	for i, r := range t.Rows {
		line(r, i)
	}
	_, err := w.Write(buf.Bytes())
	return err
}

// markWidth is the room a plain-text mark ('*') takes in a cell.
func (t *Table) markWidth(row, col int) int {
	if row < len(t.Marks) && col < len(t.Marks[row]) && t.Marks[row][col] {
		return 1
	}
	return 0
}

// markRoom is the width a mark adds to a cell: '*' without color.
func markRoom(t *Table, row, col int, o Options) int {
	if o.Color {
		return 0
	}
	return t.markWidth(row, col)
}

// fit shrinks the widest columns until the line fits in width: first
// those not kept, then, if that is not enough, the kept ones too.
func fit(widths []int, width int, keep []bool) {
	total := func() int {
		n := len(colSep) * max(0, len(widths)-1)
		for _, w := range widths {
			n += w
		}
		return n
	}
	for _, keptToo := range []bool{false, true} {
		for total() > width {
			widest := -1
			for i, w := range widths {
				if !keptToo && i < len(keep) && keep[i] {
					continue
				}
				if widest < 0 || w > widths[widest] {
					widest = i
				}
			}
			if widest < 0 || widths[widest] <= minCol {
				break
			}
			widths[widest]--
		}
	}
}

func truncate(s string, n int) string {
	if runeWidth(s) <= n {
		return s
	}
	if n <= 1 {
		return ellipsis
	}
	r := []rune(s)
	return string(r[:n-1]) + ellipsis
}

func runeWidth(s string) int { return utf8.RuneCountInString(s) }

// sanitize makes a cell one line of printable text.
func sanitize(s string) string {
	if !strings.ContainsFunc(s, isControl) {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		if isControl(r) {
			q := strconv.QuoteRune(r)
			b.WriteString(q[1 : len(q)-1])
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

func isControl(r rune) bool {
	return r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) || r == 0x2028 || r == 0x2029
}

// WriteCSV prints t as CSV (header first). Cells are written as they are;
// marks are not shown.
func WriteCSV(w io.Writer, t *Table) error {
	cw := csv.NewWriter(w)
	if len(t.Header) > 0 {
		if err := cw.Write(t.Header); err != nil {
			return err
		}
	}
	if err := cw.WriteAll(t.Rows); err != nil {
		return err
	}
	cw.Flush()
	return cw.Error()
}

// WriteJSON prints v indented by two spaces with a final newline, without
// escaping <, > and & (values are data, not HTML).
func WriteJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// Write prints t in format f; JSON prints jsonValue instead of the table.
func Write(w io.Writer, f Format, t *Table, jsonValue any, o Options) error {
	switch f {
	case FormatJSON:
		return WriteJSON(w, jsonValue)
	case FormatCSV:
		return WriteCSV(w, t)
	}
	return WriteTable(w, t, o)
}
