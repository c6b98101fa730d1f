package record

import (
	"errors"
	"io"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"
	"unsafe"

	"github.com/tidwall/gjson"
)

// Media types of the files this package writes, as the manifest records them.
const (
	MediaJSONL = "application/x-ndjson"
	MediaCSV   = "text/csv; charset=utf-8; header=present"
)

// Sink receives one source's records, each the raw JSON bytes Graph sent
// (compacted), in the order Graph returned them.
type Sink interface {
	Write(record []byte) error
}

// NotedSink is a Sink that also takes notes for a record's CSV row (e.g.
// which side of the audit trail matched); the JSON Lines record stays as
// Graph sent it.
type NotedSink interface {
	Sink
	WriteNoted(record []byte, notes map[string]string) error
}

// BatchSink is a Sink that also takes many records at once. WriteBatch
// writes the same bytes, in the same order, as a Write of each record in
// turn would; when it returns, every record has been handed to the
// underlying writers (as with Write).
type BatchSink interface {
	Sink
	WriteBatch(records [][]byte) error
}

// CSV writes a table: UTF-8 with a byte order mark (so Excel in any locale
// reads it as UTF-8), CRLF line ends (RFC 4180), the header row written at
// once, so a table without rows still names its columns, and every cell
// neutralised (Neutralize). Its bytes are those of encoding/csv's Writer
// with UseCRLF (FuzzCSVAsEncodingCSV), which the project used until
// 2026-12-05: that writer looks for the next quote of a quoted cell with
// strings.IndexAny, which builds its character set again at every quote, and
// the audit log's AuditData cell, a JSON object, has a quote every few
// bytes (a quarter of the CPU a record's columns cost, BenchmarkColumns).
type CSV struct {
	w   io.Writer
	buf []byte
}

// NewCSV writes the byte order mark and the header row to w.
func NewCSV(w io.Writer, header []string) (*CSV, error) {
	if _, err := io.WriteString(w, "\ufeff"); err != nil {
		return nil, err
	}
	c := &CSV{w: w}
	if err := c.Row(header); err != nil {
		return nil, err
	}
	return c, nil
}

// Row neutralises the cells in place and writes them as one row, in one
// write to the underlying writer.
func (c *CSV) Row(cells []string) error {
	b := c.buf[:0]
	for i := range cells {
		cells[i] = Neutralize(cells[i])
		if i > 0 {
			b = append(b, ',')
		}
		b = appendField(b, cells[i])
	}
	b = append(b, '\r', '\n')
	c.buf = b
	_, err := c.w.Write(b)
	return err
}

// appendField appends one cell as encoding/csv writes it with Comma ','
// and UseCRLF: quoted when it holds a comma, a quote, CR or LF, starts with
// white space, or is \. (the PostgreSQL end-of-data mark); in quotes, a
// quote is doubled, LF becomes CRLF and a CR is dropped.
func appendField(b []byte, f string) []byte {
	if !needsQuotes(f) {
		return append(b, f...)
	}
	b = append(b, '"')
	if strings.IndexByte(f, '\r') < 0 && strings.IndexByte(f, '\n') < 0 {
		for {
			i := strings.IndexByte(f, '"')
			if i < 0 {
				break
			}
			b = append(append(b, f[:i+1]...), '"')
			f = f[i+1:]
		}
		return append(append(b, f...), '"')
	}
	for i := 0; i < len(f); i++ {
		switch c := f[i]; c {
		case '"':
			b = append(b, '"', '"')
		case '\r':
		case '\n':
			b = append(b, '\r', '\n')
		default:
			b = append(b, c)
		}
	}
	return append(b, '"')
}

// needsQuotes is encoding/csv's fieldNeedsQuotes for Comma ','.
func needsQuotes(f string) bool {
	if f == "" {
		return false
	}
	if f == `\.` {
		return true
	}
	for i := 0; i < len(f); i++ {
		switch f[i] {
		case '\n', '\r', '"', ',':
			return true
		}
	}
	r, _ := utf8.DecodeRuneInString(f)
	return unicode.IsSpace(r)
}

// Neutralize defuses spreadsheet formula injection: a cell that starts with
// = + - @, a tab or a carriage return is prefixed with a single quote, so
// Excel and LibreOffice show it as text instead of evaluating it.
func Neutralize(cell string) string {
	if cell == "" {
		return cell
	}
	switch cell[0] {
	case '=', '+', '-', '@', '\t', '\r':
		return "'" + cell
	}
	return cell
}

// Writer writes each record to a JSON Lines file, byte for byte, and a row
// of its columns to a CSV file. It is safe for concurrent use.
type Writer struct {
	mu    sync.Mutex
	jsonl io.Writer
	csv   *CSV
	cols  []Column
	row   []string
	idx   Index
	line  []byte // a record and its newline
}

// NewWriter starts the CSV (byte order mark and header row) and returns a
// Writer of records to jsonl and csvw.
func NewWriter(jsonl, csvw io.Writer, cols []Column) (*Writer, error) {
	header := make([]string, len(cols))
	for i, c := range cols {
		header[i] = c.Name
	}
	c, err := NewCSV(csvw, header)
	if err != nil {
		return nil, err
	}
	return &Writer{jsonl: jsonl, csv: c, cols: cols, row: make([]string, len(cols))}, nil
}

// Write implements Sink.
func (w *Writer) Write(rec []byte) error { return w.WriteNoted(rec, nil) }

// WriteNoted implements NotedSink: notes fill the CSV's note columns; the
// JSON Lines record is written as given.
func (w *Writer) WriteNoted(rec []byte, notes map[string]string) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(rec) == 0 || rec[len(rec)-1] == '\n' {
		return errors.New("record must be non-empty and carry no newline")
	}
	// the record and its newline in one write: a full disk never leaves
	// a record without its end
	w.line = append(append(w.line[:0], rec...), '\n')
	if _, err := w.jsonl.Write(w.line); err != nil {
		return err
	}
	w.cells(rec, &w.idx, notes, w.row)
	return w.csv.Row(w.row)
}

// View parses b without copying it, as gjson.ParseBytes does (which
// copies b into a string first: a record's bytes again for every parse).
// The result and the strings taken from it share b's memory: they are for
// use while b is neither changed nor reused, as the writers here use them
// (each row is written before its record's buffer can be reused).
func View(b []byte) gjson.Result {
	if len(b) == 0 {
		return gjson.Result{}
	}
	return gjson.Parse(unsafe.String(unsafe.SliceData(b), len(b)))
}

// cells fills row with rec's CSV cells, indexing rec in idx.
func (w *Writer) cells(rec []byte, idx *Index, notes map[string]string, row []string) {
	parsed := View(rec)
	idx.Reset(parsed)
	for i, c := range w.cols {
		row[i] = c.Cell(parsed, idx, notes)
	}
}

// batchRows is how many CSV rows of a batch are computed ahead of the
// writing.
const batchRows = 64

// WriteBatch implements BatchSink. The CSV cells of the records (parsing,
// indexing, the columns) are computed on a goroutine of their own while
// the records before them are written and hashed, so the two halves of
// the work run on two cores.
func (w *Writer) WriteBatch(recs [][]byte) error {
	if len(recs) < 2 {
		for _, rec := range recs {
			if err := w.Write(rec); err != nil {
				return err
			}
		}
		return nil
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	rows := make(chan []string, batchRows)
	stop := make(chan struct{})
	go func() {
		defer close(rows)
		var idx Index
		for _, rec := range recs {
			row := make([]string, len(w.cols))
			w.cells(rec, &idx, nil, row)
			select {
			case rows <- row:
			case <-stop:
				return
			}
		}
	}()
	defer func() {
		close(stop)
		for range rows { // the goroutine ends at once
		}
	}()
	for _, rec := range recs {
		if len(rec) == 0 || rec[len(rec)-1] == '\n' {
			return errors.New("record must be non-empty and carry no newline")
		}
		w.line = append(append(w.line[:0], rec...), '\n') // one write, as in WriteNoted
		if _, err := w.jsonl.Write(w.line); err != nil {
			return err
		}
		if err := w.csv.Row(<-rows); err != nil {
			return err
		}
	}
	return nil
}
