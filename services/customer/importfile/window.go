package importfile

import (
	"bytes"
	"io"
)

// window sits between the source and encoding/csv and keeps every byte from
// the start of the current row (the mark) on. encoding/csv cannot be told
// to resume anywhere: after a quote left open it has consumed the following
// lines, or the rest of the file, as one field. With the row's bytes kept
// here, the CSV reader can be rebuilt to start again on the line after the
// bad row's first line.
type window struct {
	src    io.Reader
	srcErr error // the source's error, handed out once buf is drained

	buf  []byte // bytes from offset base on
	base int64
	pos  int64 // offset of the next byte Read hands out

	mark     int64 // offset where the current row starts
	markLine int64 // the line the mark is on, from 1
	limit    int64 // Read fails with errRowTooLong this far past mark
}

// readChunk is how much is asked of the source at once.
const readChunk = 64 << 10

var utf8BOM = []byte("\xef\xbb\xbf")

func newWindow(src io.Reader, limit int64) *window {
	return &window{src: src, markLine: 1, limit: limit}
}

// skipBOM drops a UTF-8 byte order mark at the very start; spreadsheet
// programs write one, and encoding/csv would make it part of the first
// column's name.
func (w *window) skipBOM() error {
	for len(w.buf) < len(utf8BOM) && w.srcErr == nil {
		w.fill()
	}
	if bytes.HasPrefix(w.buf, utf8BOM) {
		w.pos = int64(len(utf8BOM))
		w.mark = w.pos
	}
	if len(w.buf) == 0 && w.srcErr != nil && w.srcErr != io.EOF {
		return w.srcErr
	}
	return nil
}

// fill reads from the source onto the end of buf, first dropping the
// bytes before the mark, which no rebuild can need any more.
func (w *window) fill() {
	if drop := w.mark - w.base; drop > 0 && (drop >= int64(len(w.buf))/2 || cap(w.buf)-len(w.buf) < readChunk) {
		n := copy(w.buf, w.buf[drop:])
		w.buf = w.buf[:n]
		w.base = w.mark
	}
	if cap(w.buf)-len(w.buf) < readChunk {
		grown := make([]byte, len(w.buf), 2*cap(w.buf)+readChunk)
		copy(grown, w.buf)
		w.buf = grown
	}
	// Like bufio, give up on a source that keeps returning neither data
	// nor an error, rather than spin.
	for range 100 {
		n, err := w.src.Read(w.buf[len(w.buf):cap(w.buf)])
		w.buf = w.buf[:len(w.buf)+n]
		if err != nil {
			w.srcErr = err
		}
		if n > 0 || err != nil {
			return
		}
	}
	w.srcErr = io.ErrNoProgress
}

func (w *window) Read(p []byte) (int, error) {
	if w.pos-w.mark > w.limit {
		return 0, errRowTooLong
	}
	if w.pos == w.base+int64(len(w.buf)) {
		if w.srcErr != nil {
			return 0, w.srcErr
		}
		w.fill()
		if w.pos == w.base+int64(len(w.buf)) {
			return 0, w.srcErr
		}
	}
	n := copy(p, w.buf[w.pos-w.base:])
	w.pos += int64(n)
	return n, nil
}

// advance moves the mark to off, the end of a row that was read.
func (w *window) advance(off int64) {
	w.markLine += int64(bytes.Count(w.buf[w.mark-w.base:off-w.base], newline))
	w.mark = off
}

var newline = []byte{'\n'}

// firstRowLine is the line of the first line at the mark that is not empty:
// encoding/csv skips empty lines, so that is where its next record starts.
func (w *window) firstRowLine() int64 {
	line, b := w.markLine, w.buf[w.mark-w.base:]
	for {
		switch {
		case bytes.HasPrefix(b, []byte("\n")):
			b = b[1:]
		case bytes.HasPrefix(b, []byte("\r\n")):
			b = b[2:]
		default:
			return line
		}
		line++
	}
}

// restartAt moves the mark and the read position to the start of line,
// which is after the mark's. It reads on from the source, discarding, when
// the line starts beyond what is kept; at the end of the source the window
// is left empty at its end, so the next Read reports the source's error.
func (w *window) restartAt(line int64) {
	for w.markLine < line {
		kept := w.buf[w.mark-w.base:]
		i := bytes.IndexByte(kept, '\n')
		if i >= 0 {
			w.mark += int64(i + 1)
			w.markLine++
			continue
		}
		// The line is longer than what is kept: drop it all and read on.
		w.mark = w.base + int64(len(w.buf))
		if w.srcErr != nil {
			break
		}
		w.fill()
	}
	w.pos = w.mark
}
