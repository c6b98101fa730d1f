package state

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/evidence-dfir/evidence/manifest"
)

var t0 = time.Date(2026, 11, 20, 6, 0, 0, 0, time.UTC)

func chain(n int) *State {
	s := New(Tenant{ID: "tid", Domain: "contoso.com"})
	for i := 0; i < n; i++ {
		start := t0.Add(time.Duration(i) * 24 * time.Hour)
		s.Append(Entry{Interval: manifest.NewWindow(start, start.Add(24*time.Hour)), Bundle: "b" + string(rune('a'+i)),
			SHA256: strings.Repeat("ab", 32), Complete: true, Sealed: manifest.FormatTime(start.Add(25 * time.Hour))})
	}
	return s
}

func TestChainDetectsTampering(t *testing.T) {
	if p := chain(5).VerifyChain(); len(p) != 0 {
		t.Fatalf("intact chain reported %v", p)
	}
	cases := map[string]func(s *State){
		"altered hash":     func(s *State) { s.Index[1].SHA256 = strings.Repeat("cd", 32) },
		"altered name":     func(s *State) { s.Index[2].Bundle = "other" },
		"removed entry":    func(s *State) { s.Index = append(s.Index[:2], s.Index[3:]...) },
		"reordered":        func(s *State) { s.Index[1], s.Index[2] = s.Index[2], s.Index[1] },
		"renumbered entry": func(s *State) { s.Index = append(s.Index[:2], s.Index[3:]...); s.Index[2].Seq = 3 },
	}
	for name, tamper := range cases {
		s := chain(5)
		tamper(s)
		if p := s.VerifyChain(); len(p) == 0 {
			t.Errorf("%s: chain still verifies", name)
		} else {
			t.Logf("%s: %v", name, p)
		}
	}
}

func TestDirLockIsExclusive(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	a, b := &Dir{Path: dir}, &Dir{Path: dir}
	unlock, err := a.Lock(ctx, Holder{PID: 4242, Host: "runner-1", Since: manifest.FormatTime(t0)})
	if err != nil {
		t.Fatal(err)
	}
	_, err = b.Lock(ctx, Holder{PID: 1})
	var le *LockedError
	if !errors.Is(err, ErrLocked) || !errors.As(err, &le) || le.Holder.PID != 4242 || le.Holder.Host != "runner-1" {
		t.Fatalf("second lock: %v", err)
	}
	if !strings.Contains(err.Error(), "pid 4242 on runner-1") || !strings.Contains(err.Error(), "changed nothing") {
		t.Errorf("message %q", err)
	}
	if err := unlock(); err != nil {
		t.Fatal(err)
	}
	unlock2, err := b.Lock(ctx, Holder{PID: 2})
	if err != nil {
		t.Fatalf("lock after release: %v", err)
	}
	unlock2()
}

func TestDirSaveLoad(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	st := &Dir{Path: dir}
	if s, err := Load(ctx, st); s != nil || err != nil {
		t.Fatalf("empty dir: %v %v", s, err)
	}
	s := chain(3)
	s.SetScope("audits", ScopeTenant, &Scope{Watermark: manifest.FormatTime(t0), Edge: Edge{Records: []EdgeID{{Time: "2026-11-20T05:00:00Z", ID: "x"}}}})
	if err := Save(ctx, st, s, t0); err != nil {
		t.Fatal(err)
	}
	got, err := Load(ctx, st)
	if err != nil {
		t.Fatal(err)
	}
	if got.Head() != s.Head() || got.Scope("audits", ScopeTenant).Watermark != manifest.FormatTime(t0) || len(got.VerifyChain()) != 0 {
		t.Fatalf("round trip lost data: %+v", got)
	}
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		if strings.HasSuffix(e.Name(), ".tmp") {
			t.Errorf("temporary file left: %s", e.Name())
		}
	}
	os.WriteFile(filepath.Join(dir, StateFile), []byte(`{"format":"other/9"}`), 0o644)
	if _, err := Load(ctx, st); err == nil {
		t.Fatal("foreign format accepted")
	}
}

func TestCloneIsDeep(t *testing.T) {
	s := chain(1)
	s.SetScope("audits", ScopeTenant, &Scope{Watermark: "a"})
	c := s.Clone()
	c.Scope("audits", ScopeTenant).Watermark = "b"
	c.Append(Entry{})
	if s.Scope("audits", ScopeTenant).Watermark != "a" || len(s.Index) != 1 {
		t.Fatal("clone shares memory with the original")
	}
}

func TestEdgePrune(t *testing.T) {
	e := Edge{Records: []EdgeID{{"2026-11-20T05:00:00Z", "b", "1"}, {"2026-11-20T03:00:00Z", "old", "1"}, {"2026-11-20T04:00:00Z", "a", "1"}, {"2026-11-20T05:00:00Z", "b", "1"}}}
	e.Prune(time.Date(2026, 11, 20, 4, 0, 0, 0, time.UTC))
	if len(e.Records) != 2 || e.Records[0].ID != "a" || e.Records[1].ID != "b" || e.Start != "2026-11-20T04:00:00Z" {
		t.Fatalf("pruned edge %+v", e)
	}
}
