package main

import "github.com/evidence-dfir/evidence/collect/progress"

// tracker is a collection's progress display (collect/progress), as
// --progress asks.
type tracker struct{ *progress.Tracker }

func (t tracker) stop() { t.Stop() }

func (a *app) newProgress() tracker { return tracker{progress.New(a.stderr, a.progress)} }
