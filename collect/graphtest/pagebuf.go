package graphtest

import "sync"

// pageBufs recycles the buffers record pages are built in. A page of 1,000
// records is a few megabytes, built once as its values and once more with
// its envelope: allocating, zeroing and returning two such buffers to the
// operating system for every page was about a third of the simulator's CPU
// time in the audit log benchmark (docs/performance.md), time the machine's
// other process, the client under test, could not use.
var pageBufs sync.Pool

// pageBufMin is the smallest buffer worth recycling.
const pageBufMin = 64 << 10

// buffer returns an empty slice of capacity at least n, taken from the pool
// when one is there; it goes back to the pool when the request is answered
// (release), so the caller must not keep it beyond the handler's answer.
func (rc *reqCtx) buffer(n int) []byte {
	var b []byte
	if n >= pageBufMin {
		if p, ok := pageBufs.Get().(*[]byte); ok {
			b = (*p)[:0]
		}
	}
	if cap(b) < n {
		b = make([]byte, 0, n)
	}
	if cap(b) >= pageBufMin {
		rc.pooled = append(rc.pooled, b)
	}
	return b
}

// release returns the request's buffers to the pool once its answer is
// written.
func (rc *reqCtx) release() {
	for _, b := range rc.pooled {
		b = b[:0]
		pageBufs.Put(&b)
	}
	rc.pooled = nil
}
