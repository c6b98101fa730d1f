package ual

import (
	"sync"
	"time"
)

// taskQueue hands tasks to workers earliest in the bundle's order first:
// the order the assembler writes them in (the initial windows as planned, a
// split window's halves in its place). Queries submitted and pages read in
// that order finish roughly in it, so the assembler can write each window
// while later ones are still being read, instead of waiting for the first
// window behind a batch of others (a first-in, first-out queue hands out
// the halves of whichever window reached the record limit first).
type taskQueue struct {
	st     *state
	mu     sync.Mutex
	cond   *sync.Cond
	items  []queued
	closed bool
}

type queued struct {
	t     *task
	root  int       // the initial window it descends from
	start time.Time // its place among that window's descendants
}

func newTaskQueue(st *state) *taskQueue {
	q := &taskQueue{st: st}
	q.cond = sync.NewCond(&q.mu)
	return q
}

// push queues t. It takes the state's lock to find t's initial window.
func (q *taskQueue) push(t *task) {
	q.st.mu.Lock()
	r := t
	for r.Parent >= 0 {
		r = q.st.f.Tasks[r.Parent]
	}
	it := queued{t: t, root: r.N, start: t.Start}
	q.st.mu.Unlock()
	q.mu.Lock()
	q.items = append(q.items, it)
	q.mu.Unlock()
	q.cond.Signal()
}

// pop returns the queued task first in the bundle's order, waiting for one;
// false once the queue is closed.
func (q *taskQueue) pop() (*task, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for len(q.items) == 0 && !q.closed {
		q.cond.Wait()
	}
	if len(q.items) == 0 {
		return nil, false
	}
	best := 0
	for i, it := range q.items[1:] {
		b := q.items[best]
		if it.root < b.root || it.root == b.root && it.start.Before(b.start) {
			best = i + 1
		}
	}
	t := q.items[best].t
	q.items = append(q.items[:best], q.items[best+1:]...)
	return t, true
}

// close wakes every worker waiting in pop; pop then drains what is left.
func (q *taskQueue) close() {
	q.mu.Lock()
	q.closed = true
	q.mu.Unlock()
	q.cond.Broadcast()
}
