package httpapi

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"net/http"
)

// The buffers of an upgraded connection (coder/websocket keeps those that
// Hijack returns for the socket's life). Frames of any size pass through
// them: coder/websocket reads a frame's header a byte at a time and its
// payload with io.ReadFull, and a write larger than the buffer goes round
// it. A message of up to wsWriteBuffer-4 bytes (a ticket's events are
// 100-300) goes out in one write, with its frame's header; a larger one in
// two.
const (
	wsReadBuffer  = 256 // a client's frames are a header and a small message: an auth message, a pong
	wsWriteBuffer = 512
)

// wsResponseWriter is the http.ResponseWriter given to websocket.Accept:
// its Hijack hands over the connection with small buffers instead of
// net/http's 4 KiB ones.
type wsResponseWriter struct{ http.ResponseWriter }

// Hijack hijacks the connection and returns it with a reader of
// wsReadBuffer bytes (more only if the client sent more than that before
// the upgrade was answered: it starts with what net/http read ahead) and a
// writer of wsWriteBuffer.
func (w wsResponseWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	conn, brw, err := http.NewResponseController(w.ResponseWriter).Hijack()
	if err != nil {
		return nil, nil, err
	}
	ahead, _ := brw.Reader.Peek(brw.Reader.Buffered())
	br := bufio.NewReaderSize(io.MultiReader(bytes.NewReader(ahead), conn), max(wsReadBuffer, len(ahead)))
	br.Peek(len(ahead)) // reads ahead, and no further: it fits
	return conn, bufio.NewReadWriter(br, bufio.NewWriterSize(conn, wsWriteBuffer)), nil
}
